"""ocad_lab.checks: a wrong answer gets a message that says what is wrong and where to look; a right one passes."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from ocad_lab import checks
from ocad_lab.checks import ExerciseError, check

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _wrong(ex_id, answer, *needles, **objects):
    with pytest.raises(ExerciseError) as err:
        check(ex_id, answer, **objects)
    msg = str(err.value)
    assert msg.startswith(f"Exercise {ex_id}:") and "Where to look:" in msg
    for needle in needles:
        assert needle in msg, msg
    return msg


def test_every_notebook_exercise_has_a_check_and_every_check_an_exercise():
    in_notebooks = set()
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell.get("id", "").endswith("-check"):
                m = re.search(r'check\("(\d\d\.\d+)"', "".join(cell["source"]))
                assert m, cell["id"]
                assert cell["id"] == "ex-" + m.group(1).replace(".", "-") + "-check"
                in_notebooks.add(m.group(1))
    numbers = {p.name[:2] for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    assert in_notebooks == {k for k in checks.EXERCISES if k[:2] in numbers}
    assert {k[:2] for k in in_notebooks} >= {"00", "01", "02", "03", "04", "05", "06"}


@pytest.mark.parametrize("ex_id", sorted(checks.EXERCISES))
def test_no_answer_yet_says_what_to_do(ex_id):
    with pytest.raises(ExerciseError, match="no answer yet.*NotImplementedError"):
        check(ex_id, None)


def test_unknown_exercise():
    with pytest.raises(KeyError, match="known: 00.1"):
        check("99.9", 1)


def _toy():
    from ocad_lab.baselines import OCSVM

    rng = np.random.default_rng(0)
    X_normal = rng.normal(size=(100, 2))
    X = np.vstack([X_normal, rng.normal(loc=6.0, size=(5, 2))])
    y = np.r_[np.zeros(100), np.ones(5)].astype(int)
    return OCSVM(nu=0.1, gamma=0.1).fit(X_normal), X_normal, X, y


def test_00_1_sign_swap_and_right_answer(capsys):
    from ocad_lab.metrics import auroc

    model, _, X, y = _toy()
    labels = auroc(y, (model.predict(X) == -1).astype(float))
    scores = auroc(y, -model.decision_function(X))
    _wrong("00.1", (labels, 1 - scores), "sign is flipped", "ANOMALY scores", model=model, X=X, y=y)
    _wrong("00.1", (1 - labels, scores), "predict(X) == -1", model=model, X=X, y=y)
    _wrong("00.1", (scores, labels), "swapped", model=model, X=X, y=y)
    assert check("00.1", (labels, scores), model=model, X=X, y=y)
    assert "correct" in capsys.readouterr().out


def test_00_2_quick_mode_is_not_full_mode():
    _wrong("00.2", "OCAD_QUICK=1", "quick mode ON")
    _wrong("00.2", "QUICK=0", "does not read 'QUICK'")
    assert check("00.2", "OCAD_QUICK=0")


def test_00_3_unfitted_detector():
    from ocad_lab.baselines import IsolationForest

    _, X_normal, X, _ = _toy()
    objs = dict(X=X, centre=np.zeros((1, 2)), far=np.full((1, 2), 6.0))
    _wrong("00.3", IsolationForest(), "not fitted", **objs)
    _wrong("00.3", np.zeros(3), "expected a fitted detector", **objs)
    assert check("00.3", IsolationForest(random_state=0).fit(X_normal), **objs)


def test_01_1_caught_instead_of_missed():
    from ocad_lab.baselines import OCSVM
    from ocad_lab.data import make_toy

    X, y = make_toy("moons", n_samples=200, contamination=0.05, random_state=0)
    right = {}
    for nu in (0.01, 0.1):
        m = OCSVM(nu=nu).fit(X)
        right[nu] = int(((y == 1) & ~(m.decision_function(X) < -m.tol)).sum())
    caught = {nu: int(y.sum()) - v for nu, v in right.items()}
    _wrong("01.1", caught, "counted the anomalies caught", X=X, y=y)
    assert check("01.1", right, X=X, y=y)


def test_01_2_swapped_kernels():
    _wrong("01.2", {"polynomial": 1.0, "laplacian": 0.7}, "swapped", "k(x, x) = 1")
    assert check("01.2", {"polynomial": 0.8, "laplacian": 0.999})


def test_02_1_interpolating_and_wrong_end_methods():
    y = np.arange(1, 10)
    _wrong("02.1", {"default": 3.0, "method": "inverted_cdf"}, "interpolates")
    _wrong("02.1", {"default": np.quantile(y, 0.33), "method": "linear"}, "interpolates between order statistics")
    _wrong("02.1", {"default": np.quantile(y, 0.33), "method": "higher"}, "wrong end")
    assert check("02.1", {"default": np.quantile(y, 0.33), "method": "inverted_cdf"})


def test_02_2_settled_or_wrong_sign():
    scores = np.random.default_rng(0).normal(size=205)
    _wrong("02.2", (1.0, 1.0), "shrinking step", scores=scores, nu=0.1)
    _wrong("02.2", (5.0, 6.0), "sign", scores=scores, nu=0.1)
    assert check("02.2", (-3.0, 1.0), scores=scores, nu=0.1)


def test_02_3_unrounded_swapped_and_wrong_end():
    from ocad_lab.objectives import soft_boundary_radius_sq

    d = np.random.default_rng(1).gamma(2.0, 20.0, size=295)
    r2 = soft_boundary_radius_sq(d, 0.1)
    _wrong("02.3", (np.mean(d > r2), np.mean(d >= r2)), "round them first", d=d, nu=0.1)
    t = np.round(d / 20) * 20
    rt = soft_boundary_radius_sq(t, 0.1)
    _wrong("02.3", (np.mean(t >= rt), np.mean(t > rt)), "swapped", d=d, nu=0.1)
    low = np.quantile(t, 0.5, method="inverted_cdf")
    _wrong("02.3", (np.mean(t > low), np.mean(t >= low)), "wrong end of the flat interval", d=d, nu=0.1)
    assert check("02.3", (np.mean(t > rt), np.mean(t >= rt)), d=d, nu=0.1)


@pytest.mark.parametrize("ex_id, options, right", [("03.3", ("outside", "on or outside"), "on or outside"),
                                                    ("05.3", ("a", "b", "c"), "b"), ("06.2", ("a", "b", "c"), "c"),
                                                    ("08.3", ("a", "b", "c"), "b")])
def test_choices_compare_digests(ex_id, options, right):
    for option in options:
        if option != right:
            _wrong(ex_id, option, "not the right option")
    _wrong(ex_id, "maybe", "not one of the options")
    assert check(ex_id, right.upper())                   # case and spaces do not matter


def test_04_2_swapped_auprc():
    y = np.r_[np.zeros(95, int), np.ones(5, int)]
    _wrong("04.2", (0.95, 0.05), "swapped", y=y)
    _wrong("04.2", (0.5, 0.5), "random numbers", y=y)
    assert check("04.2", (0.06, 0.96), y=y)


def test_04_3_sigmoid_identity_is_not_relu():
    from ocad_lab.estimators import OCNN

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8))
    m = OCNN(hidden_dim=4, activation="relu", nu=0.1, num_epochs=2, verbose=0, random_state=0).fit(X)
    w, V = m.head_.w.detach().numpy(), m.head_.V.weight.detach().numpy()
    Xa = X[:5]
    _wrong("04.3", np.full(5, w.sum()), "SIGMOID identity", model=m, X=Xa)
    _wrong("04.3", np.zeros(5), "LINEAR head", model=m, X=Xa)
    _wrong("04.3", np.maximum(Xa @ V.T, 0) @ w, "does not match", model=m, X=Xa)
    assert check("04.3", np.abs(Xa @ V.T) @ w, model=m, X=Xa)


def test_06_1_lowest_is_not_largest_drop():
    easy = [{"method": "a", "normal_class": 0, "auroc": 0.99}, {"method": "b", "normal_class": 0, "auroc": 0.70}]
    hard = [{"method": "a", "normal_class": 5, "auroc": 0.80}, {"method": "b", "normal_class": 5, "auroc": 0.65}]
    _wrong("06.1", {"easy_rows": easy, "hard_rows": hard, "method": "b"}, "LOSES most")
    _wrong("06.1", {"easy_rows": hard, "hard_rows": hard, "method": "a"}, "other classes")
    assert check("06.1", {"easy_rows": easy, "hard_rows": hard, "method": "a"})


# ---- 07: the OC-NN protocol's rows (cheap methods on the embedded mnist5k mixture)

def _rows_07(monkeypatch=None, anomalies=None, methods=("iforest", "ocsvm-rbf")):
    import dataclasses

    from ocad_lab import ocnn_protocol as op

    saved = op.SETUPS["mnist5k"]
    if anomalies:
        op.SETUPS["mnist5k"] = dataclasses.replace(saved, anomalies=anomalies)
    try:
        return op.ocnn_protocol(["mnist5k"], methods=list(methods), draws=1, config=op.protocol_config(quick=True))
    finally:
        op.SETUPS["mnist5k"] = saved


def test_07_1_original_task_sign_and_setup_left_changed(monkeypatch):
    import dataclasses

    from ocad_lab import ocnn_protocol as op

    part1, hard = _rows_07(), _rows_07(anomalies=(9,))
    before = {r["method"]: r["auroc"] for r in part1}
    drop = {r["method"]: before[r["method"]] - r["auroc"] for r in hard}
    _wrong("07.1", {"rows": part1, "drop": {m: 0.0 for m in before}}, "original task", rows=part1)
    _wrong("07.1", {"rows": hard, "drop": {m: -v for m, v in drop.items()}}, "wrong sign", rows=part1)
    _wrong("07.1", {"rows": hard, "drop": {"iforest": drop["iforest"]}}, "one entry per method", rows=part1)
    assert check("07.1", {"rows": hard, "drop": drop}, rows=part1)
    monkeypatch.setitem(op.SETUPS, "mnist5k", dataclasses.replace(op.SETUPS["mnist5k"], anomalies=(9,)))
    _wrong("07.1", {"rows": hard, "drop": drop}, "put the saved setup back", rows=part1)


def test_07_2_anomaly_share_and_swapped_counts():
    from ocad_lab import ocnn_protocol as op

    n_norm, n_anom = op.PAPER_COUNTS["mnist"]
    share = n_norm / (n_norm + n_anom)
    best = op.max_auprc_given_auroc(0.5, n_norm, n_anom)
    _wrong("07.2", (1 - share, best), "ANOMALY share")
    _wrong("07.2", (share, op.max_auprc_given_auroc(0.5, n_anom, n_norm)), "ANOMALIES positive")
    _wrong("07.2", (best, share), "swapped")
    assert check("07.2", (share, best))


def test_07_3_same_autoencoder_and_other_mixture():
    def row(method, auroc, seed=0):
        return {"dataset": "mnist5k", "method": method, "seed": seed, "auroc": auroc, "auprc": auroc / 4}

    part1 = [row("ocnn-linear", 0.55), row("iforest", 0.79), row("ocnn-linear", 0.6, seed=1)]
    mixed = [row("ocnn-linear", 0.52), row("iforest", 0.79)]
    change = {"ocnn-linear": 0.52 - 0.55, "iforest": 0.0}
    _wrong("07.3", {"rows": [row("ocnn-linear", 0.55), row("iforest", 0.79)], "change": change},
           "trained on the normals again", rows=part1)
    _wrong("07.3", {"rows": [row("ocnn-linear", 0.52), row("iforest", 0.7)], "change": change},
           "not the same mixture", rows=part1)
    _wrong("07.3", {"rows": mixed, "change": {"ocnn-linear": 0.03, "iforest": 0.0}}, "wrong sign", rows=part1)
    _wrong("07.3", {"rows": mixed + [row("iforest", 0.8, seed=1)], "change": change}, "draw 0 (seed 0)", rows=part1)
    assert check("07.3", {"rows": mixed, "change": change}, rows=part1)


# ---- 08: adversarial stop signs (synthetic colour signs, a tiny classifier and attack: no GTSRB data needed)

class _MeanDistance:
    """A stand-in for the fitted Deep SVDD: anomaly score = distance from the training mean."""

    def fit(self, X):
        self.mean_ = X.mean(axis=0)
        return self

    def decision_function(self, X):
        return -np.sqrt(((X - self.mean_) ** 2).reshape(len(X), -1).sum(axis=1))


@pytest.fixture(scope="module")
def stop_signs_08():
    pytest.importorskip("foolbox")
    import torch

    from ocad_lab.adversarial import SignClassifier, attack_stop_signs
    from ocad_lab.data import GTSRB_STOP_SIGN
    from ocad_lab.stop_signs import stop_sign_problem

    palette = np.random.default_rng(123).uniform(0.1, 0.9, size=(43, 3))

    def signs(n, seed):
        y = np.repeat(np.arange(43), n)
        X = palette[y][:, :, None, None] + np.random.default_rng(seed).normal(0, 0.03, size=(len(y), 3, 16, 16))
        return np.clip(X, 0, 1).astype(np.float32), y

    torch.set_num_threads(1)
    X, y = signs(8, 0)
    Xt, yt = signs(4, 1)
    stop_train, stop_test = X[y == GTSRB_STOP_SIGN], Xt[yt == GTSRB_STOP_SIGN]
    clfs = [SignClassifier(width=4, num_epochs=25, lr=1e-2, batch_size=64, verbose=0, random_state=s).fit(X, y)
            for s in (0, 3)]
    kw = dict(n=3, init_steps=50, seed=0, cache=None, verbose=0)
    adv = attack_stop_signs(clfs[0], stop_test, steps=20, **kw)
    strong = attack_stop_signs(clfs[0], stop_test, steps=60, **kw)
    adv2 = attack_stop_signs(clfs[1], stop_test, steps=20, **kw)
    model = _MeanDistance().fit(stop_sign_problem(stop_train, stop_test, adv).X_train)
    return dict(model=model, adv=adv, strong=strong, adv2=adv2, clfs=clfs, stop_train=stop_train, stop_test=stop_test)


def _auroc_08(d, adv):
    from ocad_lab.metrics import auroc
    from ocad_lab.stop_signs import stop_sign_problem

    p = stop_sign_problem(d["stop_train"], d["stop_test"], adv)
    return auroc(p.y_test, -d["model"].decision_function(p.X_test))


def test_08_1_weaker_attack_old_adversarials_and_sign(stop_signs_08):
    d = stop_signs_08
    objs = {k: d[k] for k in ("model", "adv", "stop_train", "stop_test")}
    ref = _auroc_08(d, d["strong"])
    _wrong("08.1", {"adv": d["adv"], "auroc": _auroc_08(d, d["adv"])}, "needs more", **objs)
    _wrong("08.1", {"adv": np.zeros(3), "auroc": ref}, "AdversarialSet", **objs)
    if abs(ref - 0.5) > 1e-6:
        _wrong("08.1", {"adv": d["strong"], "auroc": 1 - ref}, "1 minus", **objs)
    if abs(ref - _auroc_08(d, d["adv"])) > 1e-6:
        _wrong("08.1", {"adv": d["strong"], "auroc": _auroc_08(d, d["adv"])}, "section 2's adversarials", **objs)
    assert check("08.1", {"adv": d["strong"], "auroc": ref}, **objs)


def test_08_2_same_classifier_and_adversarials_against_the_first(stop_signs_08):
    d = stop_signs_08
    clf, clf2 = d["clfs"]
    objs = {k: d[k] for k in ("model", "adv", "stop_train", "stop_test")}
    ref = _auroc_08(d, d["adv2"])
    _wrong("08.2", {"classifier": clf, "adv": d["adv"], "auroc": 0.5}, "section 1's classifier", clf=clf, **objs)
    _wrong("08.2", {"classifier": clf2, "adv": d["adv"], "auroc": 0.5}, "against section 1's classifier",
           clf=clf, **objs)
    _wrong("08.2", {"classifier": clf2, "adv": d["adv2"], "auroc": ref + 0.2}, "not refitted", clf=clf, **objs)
    assert check("08.2", {"classifier": clf2, "adv": d["adv2"], "auroc": ref}, clf=clf, **objs)
