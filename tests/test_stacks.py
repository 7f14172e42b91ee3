"""Stacks of one-class models: each model of a stack is the model fitted alone with the same seed.

Tolerances. In float64 the stacked net computes each model's outputs and gradients as the single net does, to
rounding (1e-10): the algorithm is the same. In float32 (what the estimators train in) a grouped convolution and a
batched product add the same terms in another order, so the last bits differ, and training lets those differences
grow: after a few epochs of Adam we keep scores within 1e-3 of the score scale (measured: up to 3e-4 on these runs,
the soft-boundary radius, an order statistic, amplifying most) and the AUROC within 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ocad_lab import nets
from ocad_lab.estimators import AutoencoderDetector, DeepSVDD, load
from ocad_lab.metrics import auroc
from ocad_lab.stacks import fit_stack, stack_modules, unstack_into

SEEDS = [0, 1, 2]
SCORE_RTOL = 1e-3
AUROC_TOL = 1e-3


@pytest.fixture(autouse=True)
def _one_thread():
    """Same seed -> same numbers only at a fixed thread count (DESIGN.md)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    """Normal class 0 of the bundled 8x8 digits (train) and the whole test split."""
    from ocad_lab.experiments import get_config, one_split

    s = one_split("digits", 0, get_config(quick=True))
    return s.X_train, s.X_test, s.y_test


@pytest.fixture(scope="module")
def mnist():
    """400 images of MNIST-5k class 0 (LeNet-MNIST: 2 conv modules with BatchNorm, dense layer) and 600 test images."""
    from ocad_lab.experiments import get_config, one_split

    s = one_split("mnist5k", 0, get_config(quick=True))
    rng = np.random.default_rng(0)
    te = rng.choice(len(s.X_test), 600, replace=False)
    return s.X_train[:400], s.X_test[te], s.y_test[te]


def _close(single, stacked, X_test, y_test):
    a, b = single.score_samples(X_test), stacked.score_samples(X_test)
    scale = np.abs(a).max()
    assert np.abs(a - b).max() <= SCORE_RTOL * scale
    assert abs(auroc(y_test, -a) - auroc(y_test, -b)) <= AUROC_TOL
    assert stacked.offset_ == pytest.approx(single.offset_, rel=SCORE_RTOL, abs=SCORE_RTOL * scale)
    assert len(stacked.history_) == len(single.history_)
    for h1, h2 in zip(single.history_, stacked.history_):
        assert h2["loss"] == pytest.approx(h1["loss"], rel=SCORE_RTOL)


@pytest.mark.parametrize("net", ["mnist", "cifar10", "conv", "mlp"])
def test_stacked_net_computes_each_models_outputs_and_gradients_float64(net):
    """Forward (train-mode BatchNorm), backward and the BatchNorm running statistics, per model, to rounding."""
    shape = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32), "conv": (1, 8, 8), "mlp": (20,)}[net]
    singles = []
    for s in SEEDS:
        torch.manual_seed(s)
        singles.append(nets.build_autoencoder(net, shape).double().train())
    stacked = stack_modules([copy_module(m) for m in singles]).double().train()
    xs = [torch.randn(16, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(10 + s)) for s in SEEDS]
    xb = torch.stack(xs, 1)  # (B, K, ...)
    out = stacked(xb)
    loss = ((out - xb) ** 2).flatten(2).mean(2).mean(0)  # (K,)
    loss.sum().backward()
    grads_stacked = {n: p.grad.clone() for n, p in stacked.named_parameters()}
    for k, (m, x) in enumerate(zip(singles, xs)):
        o = m(x)
        assert torch.allclose(out[:, k], o, rtol=1e-10, atol=1e-12)
        ((o - x) ** 2).flatten(1).mean(1).mean().backward()
    # write the gradients of the stack back as "weights" to compare them with the singles' gradients
    probe = [copy_module(m) for m in singles]
    with torch.no_grad():
        for n, p in stacked.named_parameters():
            p.copy_(grads_stacked[n])
    unstack_into(stacked, probe)
    for m, g in zip(singles, probe):
        for (n, p), (_, q) in zip(m.named_parameters(), g.named_parameters()):
            assert torch.allclose(p.grad, q, rtol=1e-9, atol=1e-12), n
        for (n, b), (_, c) in zip(m.named_buffers(), g.named_buffers()):
            assert torch.allclose(b.double(), c.double(), rtol=1e-10, atol=1e-12), n  # BatchNorm running stats


def copy_module(m):
    import copy

    return copy.deepcopy(m)


def test_stack_modules_refuses_different_architectures():
    a = nets.build_encoder("conv", (1, 8, 8))
    b = nets.build_encoder("conv", (1, 8, 8), rep_dim=16)
    with pytest.raises(ValueError, match="same architecture"):
        stack_modules([a, b])


@pytest.fixture(scope="module")
def ae_pairs(mnist):
    """DCAE of three seeds, fitted alone and as one stack."""
    X, _, _ = mnist
    torch.set_num_threads(1)
    kw = dict(num_epochs=3, lr=1e-3, lr_milestones=(2,), batch_size=100, verbose=0)
    singles = [AutoencoderDetector(random_state=s, **kw).fit(X) for s in SEEDS]
    stacked = fit_stack([AutoencoderDetector(random_state=s, **kw) for s in SEEDS], X)
    return singles, stacked


def test_autoencoder_stack_equals_single_fits(ae_pairs, mnist):
    _, X_test, y_test = mnist
    for a, b in zip(*ae_pairs):
        _close(a, b, X_test, y_test)


@pytest.mark.parametrize("objective", ["one-class", "soft-boundary"])
def test_deep_svdd_stack_equals_single_fits(objective, ae_pairs, mnist):
    """Pretrained from each seed's DCAE, LeNet-MNIST with BatchNorm; soft-boundary updates R after a warm-up."""
    X, X_test, y_test = mnist
    singles_ae, _ = ae_pairs
    kw = dict(objective=objective, nu=0.1, num_epochs=10, lr=1e-3, lr_milestones=(5,), batch_size=100,
              warm_up_epochs=2, verbose=0)
    singles = [DeepSVDD(pretrain=ae, random_state=s, **kw).fit(X) for ae, s in zip(singles_ae, SEEDS)]
    stacked = fit_stack([DeepSVDD(pretrain=ae, random_state=s, **kw) for ae, s in zip(singles_ae, SEEDS)], X)
    for a, b in zip(singles, stacked):
        _close(a, b, X_test, y_test)
        assert np.allclose(a.center_, b.center_, rtol=0, atol=0)  # the centre comes before any stacked step
        assert b.radius_ == pytest.approx(a.radius_, rel=SCORE_RTOL)
        if objective == "soft-boundary":
            assert b.history_[0]["r"] == 0.0 and b.history_[-1]["r"] > 0  # warm-up (capped at 1 epoch), then R
            assert [h["r"] for h in b.history_] == pytest.approx([h["r"] for h in a.history_], rel=SCORE_RTOL)
    # the models differ from each other (different seeds): a stack is not K copies of one model
    assert not np.allclose(stacked[0].center_, stacked[1].center_)


def test_pretrain_true_stacks_the_autoencoders_too(digits):
    X, X_test, y_test = digits
    kw = dict(pretrain=True, ae_epochs=3, num_epochs=3, lr=1e-3, ae_lr=1e-3, lr_milestones=(), batch_size=50,
              verbose=0)
    singles = [DeepSVDD(random_state=s, **kw).fit(X) for s in SEEDS]
    stacked = fit_stack([DeepSVDD(random_state=s, **kw) for s in SEEDS], X)
    for a, b in zip(singles, stacked):
        _close(a, b, X_test, y_test)
        assert len(b.ae_history_) == 3


def test_each_model_of_a_stack_saves_and_loads(ae_pairs, mnist, tmp_path):
    _, X_test, _ = mnist
    for j, est in enumerate(ae_pairs[1]):
        est.save(tmp_path / f"ae{j}.pt")
        back = load(tmp_path / f"ae{j}.pt")
        assert np.array_equal(back.score_samples(X_test), est.score_samples(X_test))
        assert back.offset_ == est.offset_


def test_stacks_of_one_set_per_model_and_clear_errors(digits):
    X, X_test, y_test = digits
    kw = dict(num_epochs=2, lr=1e-3, batch_size=50, verbose=0)
    X2 = X[::-1].copy()
    singles = [AutoencoderDetector(random_state=0, **kw).fit(X), AutoencoderDetector(random_state=1, **kw).fit(X2)]
    stacked = fit_stack([AutoencoderDetector(random_state=s, **kw) for s in (0, 1)], [X, X2])
    for a, b in zip(singles, stacked):
        _close(a, b, X_test, y_test)
    with pytest.raises(ValueError, match="except random_state"):
        fit_stack([AutoencoderDetector(lr=1e-3), AutoencoderDetector(lr=1e-2)], X)
    with pytest.raises(ValueError, match="one shape"):
        fit_stack([AutoencoderDetector(**kw), AutoencoderDetector(**kw)], [X, X[:-3]])
    with pytest.raises(ValueError, match="one training set for all models or one per model"):
        fit_stack([AutoencoderDetector(**kw), AutoencoderDetector(**kw)], [X])
    with pytest.raises(ValueError, match="center_trainable"):
        fit_stack([DeepSVDD(center_trainable=True), DeepSVDD(center_trainable=True)], X)


def test_reproduce_gives_the_same_rows_with_and_without_stacks(tmp_path, monkeypatch):
    """`ocad-lab reproduce --stack` (forced on the CPU) against --no-stack: same runs, same numbers within tolerance."""
    import csv

    from ocad_lab import stacks
    from ocad_lab.cli import main

    calls = []
    real = stacks.fit_stack
    monkeypatch.setattr(stacks, "fit_stack", lambda ests, X: calls.append(len(ests)) or real(ests, X))

    base = ["reproduce", "--dataset", "digits", "--methods", "dcae,deep-svdd,deep-svdd-soft,ocnn,if", "--classes",
            "0-1", "--seeds", "2", "--epochs", "3", "--quick", "--no-progress"]
    got = {}
    for flag in ("--stack", "--no-stack"):
        out = tmp_path / flag.strip("-")
        assert main([*base, flag, "--out", str(out)]) == 0
        with open(out / "results.csv", newline="") as fh:
            got[flag] = {(r["normal_class"], r["method"], r["seed"]): r for r in csv.DictReader(fh)}
    assert calls == [2, 2, 2] * 2  # per class: the DCAE stack and one per Deep SVDD objective, 2 seeds each
    assert set(got["--stack"]) == set(got["--no-stack"]) and len(got["--stack"]) == 2 * 5 * 2
    for key, a in got["--no-stack"].items():
        b = got["--stack"][key]
        for metric in ("auroc", "auprc", "p_at_10"):
            assert float(b[metric]) == pytest.approx(float(a[metric]), abs=AUROC_TOL), (key, metric)


def test_plan_stacks_groups_the_seeds_of_a_class():
    from ocad_lab.experiments import plan_runs, plan_stacks

    tasks = plan_runs("digits", [0, 1], ["dcae", "if"], 5, done={("digits", 1, "if", 4)})
    groups = plan_stacks(tasks, stack_size=3)
    assert groups == [(0, [0, 1, 2], ["dcae", "if"]), (0, [3, 4], ["dcae", "if"]), (1, [0, 1, 2], ["dcae", "if"]),
                      (1, [3], ["dcae", "if"]), (1, [4], ["dcae"])]
