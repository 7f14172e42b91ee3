"""Stacks of independent one-class models: K nets of one architecture trained together, one set of kernels per step.

Why: a LeNet at batch 200 uses a sliver of a GPU; the time goes to kernel launches and Python. A stack runs the K
models of, e.g., ten seeds of one normal class as ONE wider net, so each optimiser step launches the kernels once:

* a convolution becomes a grouped convolution (``groups=K``); model k's batch sits in channels ``k*C:(k+1)*C``;
* a BatchNorm over C channels becomes one over K*C channels: the statistics stay per model (per channel);
* a dense layer becomes a batched matrix product (``einsum``) over the model axis;
* pooling and activations act elementwise or per channel and are shared as they are.

The loss is the SUM of the K models' losses (not the mean), so each model's gradient is exactly its own; Adam is
elementwise, so the stacked parameters step as K separate optimisers would. Each model keeps its own data order
(its own ``torch.Generator``, seeded as a single fit seeds it), its own centre c, radius R and nu-quantile.

The contract (``tests/test_stacks.py``): each model of a stack is an ordinary fitted :class:`AutoencoderDetector` or
:class:`DeepSVDD` (``save``/``load`` work per model) that scores like the same model fitted alone with the same seed,
up to float32 rounding: a grouped convolution and a batched product add the same terms in another order, and the
last-bit differences grow slowly through training (measured: see the test's tolerance).

Use :func:`fit_stack`; on CUDA, ``ocad-lab reproduce`` stacks the seeds of each normal class (``--stack``). On the
CPU a stack is slower than one-at-a-time (measured on 2 cores, ``benchmarks/bench_stacks.py``).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import nets as _nets
from .objectives import score_threshold, soft_boundary_radius, soft_boundary_radius_sq, svdd_threshold_sq
from .training import batch_bounds, output_spread, predict_batched, warn_if_collapsed
from .validation import check_X

__all__ = ["stack_modules", "unstack_into", "fit_stack", "StackedConvEncoder", "StackedConvDecoder"]


# ----------------------------------------------------------------------------------------------------------------
# stacked layers. Layouts: images (B, K*C, H, W) (model k in channels k*C:(k+1)*C); vectors (B, K, F).
# ----------------------------------------------------------------------------------------------------------------
class _SConv(nn.Module):
    """K Conv2d / ConvTranspose2d of one shape as one grouped convolution (groups=K)."""

    def __init__(self, mods):
        super().__init__()
        m0 = mods[0]
        self.k = len(mods)
        self.transposed = isinstance(m0, nn.ConvTranspose2d)
        kw = dict(kernel_size=m0.kernel_size, stride=m0.stride, padding=m0.padding, dilation=m0.dilation,
                  groups=self.k * m0.groups, bias=m0.bias is not None)
        if self.transposed:
            self.conv = nn.ConvTranspose2d(self.k * m0.in_channels, self.k * m0.out_channels,
                                           output_padding=m0.output_padding, **kw)
        else:
            self.conv = nn.Conv2d(self.k * m0.in_channels, self.k * m0.out_channels, **kw)
        with torch.no_grad():
            # Conv2d weight (out, in/g, kh, kw), ConvTranspose2d (in, out/g, kh, kw): either way dim 0 is per group.
            self.conv.weight.copy_(torch.cat([m.weight for m in mods], 0))
            if m0.bias is not None:
                self.conv.bias.copy_(torch.cat([m.bias for m in mods], 0))

    def forward(self, x):
        return self.conv(x)

    @torch.no_grad()
    def write_back(self, mods):
        for m, w in zip(mods, self.conv.weight.chunk(self.k, 0)):
            m.weight.copy_(w)
        if self.conv.bias is not None:
            for m, b in zip(mods, self.conv.bias.chunk(self.k, 0)):
                m.bias.copy_(b)


class _SLinear(nn.Module):
    """K Linear layers of one shape as a batched product over the model axis: (B, K, in) -> (B, K, out)."""

    def __init__(self, mods):
        super().__init__()
        self.k = len(mods)
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in mods]).clone())  # (K, out, in)
        self.bias = None
        if mods[0].bias is not None:
            self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in mods]).clone())  # (K, out)

    def forward(self, x):
        y = torch.einsum("bki,koi->bko", x, self.weight)
        return y if self.bias is None else y + self.bias

    @torch.no_grad()
    def write_back(self, mods):
        for k, m in enumerate(mods):
            m.weight.copy_(self.weight[k])
            if self.bias is not None:
                m.bias.copy_(self.bias[k])


class _SBatchNorm(nn.Module):
    """K BatchNorms over C channels as one over K*C channels: per-model statistics for free."""

    def __init__(self, mods):
        super().__init__()
        m0 = mods[0]
        self.k, self.c = len(mods), m0.num_features
        self.dense = isinstance(m0, nn.BatchNorm1d)
        self.bn = type(m0)(self.k * self.c, eps=m0.eps, momentum=m0.momentum, affine=m0.affine,
                           track_running_stats=m0.track_running_stats)
        with torch.no_grad():
            if m0.affine:
                self.bn.weight.copy_(torch.cat([m.weight for m in mods]))
                self.bn.bias.copy_(torch.cat([m.bias for m in mods]))
            if m0.track_running_stats:
                self.bn.running_mean.copy_(torch.cat([m.running_mean for m in mods]))
                self.bn.running_var.copy_(torch.cat([m.running_var for m in mods]))
                self.bn.num_batches_tracked.copy_(m0.num_batches_tracked)

    def forward(self, x):
        if self.dense:  # (B, K, C) -> (B, K*C) -> back
            return self.bn(x.reshape(len(x), -1)).view_as(x)
        return self.bn(x)

    @torch.no_grad()
    def write_back(self, mods):
        for k, m in enumerate(mods):
            sl = slice(k * self.c, (k + 1) * self.c)
            if m.affine:
                m.weight.copy_(self.bn.weight[sl])
                m.bias.copy_(self.bn.bias[sl])
            if m.track_running_stats:
                m.running_mean.copy_(self.bn.running_mean[sl])
                m.running_var.copy_(self.bn.running_var[sl])
                m.num_batches_tracked.copy_(self.bn.num_batches_tracked)


_ELEMENTWISE = (nn.LeakyReLU, nn.ReLU, nn.ELU, nn.Sigmoid, nn.Tanh, nn.MaxPool2d, nn.Identity)


class _SSequential(nn.Sequential):
    """A Sequential of stacked layers (written back layer by layer)."""

    def write_back(self, mods):
        for i, layer in enumerate(self):
            if hasattr(layer, "write_back"):
                layer.write_back([m[i] for m in mods])


class StackedConvEncoder(nn.Module):
    """K :class:`~ocad_lab.nets.ConvEncoder` of one architecture: (B, K, C, H, W) -> (B, K, rep_dim)."""

    def __init__(self, mods):
        super().__init__()
        self.k = len(mods)
        self.in_shape = mods[0].in_shape
        self.features = stack_modules([m.features for m in mods])
        self.fc = _SLinear([m.fc for m in mods])

    def forward(self, x):
        b = len(x)
        h = self.features(x.reshape(b, self.k * self.in_shape[0], *self.in_shape[1:]))
        return self.fc(h.reshape(b, self.k, -1))  # model k's channels are contiguous: same order as flatten(1)

    def write_back(self, mods):
        self.features.write_back([m.features for m in mods])
        self.fc.write_back([m.fc for m in mods])


class StackedConvDecoder(nn.Module):
    """K :class:`~ocad_lab.nets.ConvDecoder`: (B, K, rep_dim) -> (B, K, C, H, W)."""

    def __init__(self, mods):
        super().__init__()
        self.k = len(mods)
        self.start_shape = mods[0].start_shape
        self.fc = _SLinear([m.fc for m in mods])
        self.act0 = copy.deepcopy(mods[0].act0)
        self.blocks = nn.ModuleList(stack_modules([m.blocks[i] for m in mods]) for i in range(len(mods[0].blocks)))

    def forward(self, z):
        b = len(z)
        c, h, w = self.start_shape
        x = self.act0(self.fc(z).reshape(b, self.k * c, h, w))
        for block in self.blocks:
            x = block(x)
        return x.reshape(b, self.k, -1, *x.shape[2:])

    def write_back(self, mods):
        self.fc.write_back([m.fc for m in mods])
        for i, block in enumerate(self.blocks):
            block.write_back([m.blocks[i] for m in mods])


class _SMLP(nn.Module):
    """K MLPEncoder / MLPDecoder: (B, K, d) -> (B, K, out)."""

    def __init__(self, mods):
        super().__init__()
        self.net = stack_modules([m.net for m in mods])

    def forward(self, x):
        return self.net(x)

    def write_back(self, mods):
        self.net.write_back([m.net for m in mods])


class _SAutoencoder(nn.Module):
    """K autoencoders: ``encoder`` and ``decoder`` stacked."""

    def __init__(self, mods):
        super().__init__()
        self.encoder = stack_modules([m.encoder for m in mods])
        self.decoder = stack_modules([m.decoder for m in mods])

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def write_back(self, mods):
        self.encoder.write_back([m.encoder for m in mods])
        self.decoder.write_back([m.decoder for m in mods])


def _signature(m: nn.Module):
    """What must agree between the modules of a stack: types, parameter and buffer shapes."""
    return [(n, type(x).__name__) for n, x in m.named_modules()], [(n, tuple(p.shape)) for n, p in m.named_parameters()]


def stack_modules(mods):
    """Stack K modules of the same architecture (built-in ocad_lab nets and their layers) into one module.

    Parameters
    ----------
    mods : list of torch.nn.Module
        K modules of identical structure (e.g. K ``nets.build_encoder(...)`` with different initialisations).

    Returns
    -------
    torch.nn.Module
        A module whose parameters hold the K models' parameters side by side; images come in as (B, K, C, H, W)
        and vectors as (B, K, d). ``unstack_into(stacked, mods)`` copies the trained weights and BatchNorm
        statistics back into the K single modules.
    """
    mods = list(mods)
    if not mods:
        raise ValueError("stack_modules needs at least one module.")
    sig = _signature(mods[0])
    if any(_signature(m) != sig for m in mods[1:]):
        raise ValueError("All modules of a stack must have the same architecture (layer types and shapes).")
    m0 = mods[0]
    if isinstance(m0, _nets.Autoencoder):
        return _SAutoencoder(mods)
    if isinstance(m0, _nets.ConvEncoder):
        return StackedConvEncoder(mods)
    if isinstance(m0, _nets.ConvDecoder):
        return StackedConvDecoder(mods)
    if isinstance(m0, (_nets.MLPEncoder, _nets.MLPDecoder)):
        return _SMLP(mods)
    if isinstance(m0, nn.Sequential):
        return _SSequential(*[stack_modules([m[i] for m in mods]) for i in range(len(m0))])
    if isinstance(m0, (nn.Conv2d, nn.ConvTranspose2d)):
        return _SConv(mods)
    if isinstance(m0, nn.Linear):
        return _SLinear(mods)
    if isinstance(m0, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return _SBatchNorm(mods)
    if isinstance(m0, _ELEMENTWISE):
        return copy.deepcopy(m0)
    raise TypeError(f"stack_modules cannot stack a {type(m0).__name__}; it supports the built-in ocad_lab nets.")


def unstack_into(stacked: nn.Module, mods) -> None:
    """Copy the weights and BatchNorm statistics of a stack back into its K single modules (in place)."""
    stacked.write_back(list(mods))


# ----------------------------------------------------------------------------------------------------------------
# the stacked training loop (mirrors training.train_epochs model by model)
# ----------------------------------------------------------------------------------------------------------------
class _Data:
    """The K training sets: one shared tensor (seeds of one class) or K tensors of one shape."""

    def __init__(self, tensors):
        self.shared = len(tensors) == 1
        self.X = tensors[0] if self.shared else torch.stack(tensors, 1)  # (n, ...) or (n, K, ...)
        self.n = len(self.X)

    def batch(self, idx):
        """Rows ``idx`` (K, B) of each model's set as one (B, K, ...) tensor."""
        if self.shared:
            return self.X[idx.T]
        return self.X[idx.T, torch.arange(idx.shape[0], device=idx.device)[None, :]]


def _train_stack(data, k, batch_step, optimizer, num_epochs, batch_size, generators, scheduler=None, epoch_end=None,
                 module=None, verbose=1, desc="stack"):
    """``train_epochs`` for K models at once; ``batch_step(xb, idx)`` returns per-model losses (K,), scores (B, K)
    and outputs (B, K, D). Returns K histories (the ``seconds`` of a row are the stack's epoch time)."""
    n, dev = data.n, data.X.device
    acc = torch.float32 if dev.type == "mps" else torch.float64
    histories = [[] for _ in range(k)]
    bar = tqdm(range(1, num_epochs + 1), desc=desc, disable=not verbose, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        module.train()
        # Each model's own permutation, from its own generator: the order a single fit of that seed draws.
        perm = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(dev)  # (K, n)
        loss_sum = torch.zeros(k, device=dev, dtype=acc)
        scores = out_sum = out_sq = None
        for start, stop in batch_bounds(n, batch_size):
            idx = perm[:, start:stop]
            loss, score, out = batch_step(data.batch(idx), idx)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()  # summed, not averaged: each model's gradient is its own
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach().to(acc) * idx.shape[1]
                if score is not None:
                    if scores is None:
                        scores = torch.zeros(k, n, device=dev, dtype=acc)
                    scores.scatter_(1, idx, score.detach().T.to(acc))
                if out is not None:
                    o = out.detach().reshape(idx.shape[1], k, -1).to(acc)
                    s, q = o.sum(0), (o * o).sum(0)
                    out_sum = s if out_sum is None else out_sum + s
                    out_sq = q if out_sq is None else out_sq + q
        if scheduler is not None:
            scheduler.step()
        extra = epoch_end(epoch, {"scores": scores}) if epoch_end is not None else [{}] * k
        spread = mean_score = None
        if out_sum is not None:
            mean = out_sum / n
            spread = torch.clamp(out_sq / n - mean * mean, min=0.0).sqrt().mean(1).tolist()
        if scores is not None:
            mean_score = scores.mean(1).tolist()
        losses = loss_sum.tolist()  # one copy to the host per epoch, not one per model
        seconds = time.perf_counter() - t0
        for j in range(k):
            row = {"epoch": epoch, "loss": losses[j] / n, "mean_score": None, "spread": None, "r": None}
            if mean_score is not None:
                row["mean_score"] = mean_score[j]
            if spread is not None:
                row["spread"] = spread[j]
            row.update(extra[j])
            row["seconds"] = seconds
            histories[j].append(row)
    bar.close()
    return histories


def _ae_stack_train(aes, data, generators, *, num_epochs, lr, lr_milestones, weight_decay, batch_size, verbose, desc):
    """Train K autoencoders as a stack on the mean squared reconstruction error; write back; return K histories."""
    stacked = stack_modules(aes)
    opt = torch.optim.Adam(stacked.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(lr_milestones), gamma=0.1)

    def step(xb, idx):
        z = stacked.encoder(xb)
        err = ((stacked.decoder(z) - xb) ** 2).flatten(2).mean(2)  # (B, K)
        return err.mean(0), err, z

    hist = _train_stack(data, len(aes), step, opt, num_epochs, batch_size, generators, scheduler=sched,
                        module=stacked, verbose=verbose, desc=desc)
    unstack_into(stacked, aes)
    return hist


# ----------------------------------------------------------------------------------------------------------------
# fit_stack
# ----------------------------------------------------------------------------------------------------------------
_FREE_PARAMS = ("random_state", "pretrain", "verbose")


def _check_same(estimators):
    """All estimators of one class, with the same parameters except the seed (and DeepSVDD's pretrained AE)."""
    from .estimators import AutoencoderDetector, DeepSVDD

    est0 = estimators[0]
    if not isinstance(est0, (AutoencoderDetector, DeepSVDD)):
        raise TypeError(f"fit_stack stacks AutoencoderDetector or DeepSVDD models, not {type(est0).__name__}.")
    p0 = {k: v for k, v in est0.get_params(deep=False).items() if k not in _FREE_PARAMS}
    for est in estimators[1:]:
        if type(est) is not type(est0):
            raise ValueError("All models of a stack must be of one class.")
        p = {k: v for k, v in est.get_params(deep=False).items() if k not in _FREE_PARAMS}
        diff = [k for k in p0 if not _equal(p0[k], p[k])]
        if diff:
            raise ValueError(f"All models of a stack must share their parameters except random_state/pretrain; "
                             f"these differ: {', '.join(diff)}.")
    if isinstance(est0, DeepSVDD):
        if not isinstance(est0.net, str):
            raise ValueError("fit_stack needs a built-in net name (net='auto', 'mnist', ...), not a module.")
        if est0.center_trainable:
            raise ValueError("fit_stack does not stack center_trainable=True (the collapse demo); fit it alone.")
        kinds = {type(e.pretrain).__name__ if isinstance(e.pretrain, AutoencoderDetector) else bool(e.pretrain)
                 for e in estimators}
        if len(kinds) > 1:
            raise ValueError("Give every model of a stack the same kind of pretrain= (all fitted autoencoders, "
                             "all True or all False).")


def _equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b


def fit_stack(estimators, X):
    """Fit K unfitted models of one kind together, as one stacked net; return them fitted.

    Parameters
    ----------
    estimators : list of AutoencoderDetector or list of DeepSVDD
        Same parameters except ``random_state`` (and, for Deep SVDD, ``pretrain``: each model may start from its
        own fitted autoencoder). Built-in nets only; not ``center_trainable``.
    X : array-like, or a list of K array-likes of one shape
        One training set for all (e.g. seeds of one normal class), or one per model (same number of samples).

    Returns
    -------
    list
        The same estimator objects, fitted: each is an ordinary fitted model (``score_samples``, ``save``...)
        whose ``history_`` rows carry the stack's epoch time in ``seconds``.

    Notes
    -----
    Each model sees the data in the order its own seed draws and starts from the initialisation its own seed
    gives, so it matches the model fitted alone up to float32 rounding (see the module docstring).
    """
    from .estimators import AutoencoderDetector

    estimators = list(estimators)
    if not estimators:
        raise ValueError("fit_stack needs at least one estimator.")
    _check_same(estimators)
    Xs = list(X) if isinstance(X, (list, tuple)) else None
    if Xs is not None and len(Xs) != len(estimators):
        raise ValueError(f"Give one training set for all models or one per model: got {len(Xs)} sets for "
                         f"{len(estimators)} models.")
    if isinstance(estimators[0], AutoencoderDetector):
        return _fit_ae_stack(estimators, X, Xs)
    return _fit_svdd_stack(estimators, X, Xs)


def _begin(estimators, X, Xs, build):
    """Per model, in order, the front of ``_NeuralDetector.fit``: settings, device, ``check_X``, then
    ``build(est, Xt)`` inside the model's private RNG fork (so its initial weights are those of a single fit with
    its seed, and the caller's RNGs are left alone). Return (views, data, generators, nu)."""
    from .estimators import _private_rng, _seed_of

    tensors, gens, nu = [], [], None
    for j, est in enumerate(estimators):
        est._validate_params()
        nu = est._extra_checks()
        est.device_ = est._device()
        arr = check_X(est, Xs[j] if Xs is not None else X, reset=True, min_samples=2)
        if Xs is not None or j == 0:
            tensors.append(est._tensor(arr))  # a shared training set is kept on the device once, not K times
        seed = _seed_of(est.random_state)
        gens.append(torch.Generator().manual_seed(seed))  # the data order of a single fit with this seed
        with _private_rng(seed):
            build(est, tensors[-1])
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"The training sets of a stack must have one shape (same number of samples); got {shapes}.")
    devices = {str(e.device_) for e in estimators}
    if len(devices) > 1:
        raise ValueError(f"All models of a stack must be on one device, got {sorted(devices)}.")
    views = tensors if Xs is not None else tensors * len(estimators)
    return views, _Data(tensors), gens, nu


def _fit_ae_stack(estimators, X, Xs):
    """fit_stack for autoencoders: the front and back of AutoencoderDetector.fit per model, the middle stacked."""
    from .estimators import _arch_spec, _build_ae, _check_milestones

    est0 = estimators[0]

    def build(est, Xt):  # as AutoencoderDetector._fit, right after the model's own seed
        name = _nets.resolve_net_name(est.net, est.input_shape_)
        rep_dim = _nets.default_rep_dim(name) if est.rep_dim is None else int(est.rep_dim)
        est.arch_ = _arch_spec(name, est.input_shape_, rep_dim, est.bias, est.activation, est.leaky_slope)
        est.ae_ = _build_ae(est.arch_).to(est.device_)

    views, data, gens, nu = _begin(estimators, X, Xs, build)
    hists = _ae_stack_train([e.ae_ for e in estimators], data, gens,
                            num_epochs=est0.num_epochs, lr=est0.lr, lr_milestones=_check_milestones(est0.lr_milestones),
                            weight_decay=est0.weight_decay, batch_size=est0.batch_size, verbose=est0.verbose,
                            desc=f"DCAE stack of {len(estimators)}")
    for j, est in enumerate(estimators):  # the end of AutoencoderDetector._fit, per model
        Xt = views[j]
        est.history_ = hists[j]
        est.ae_.eval()
        train_scores = est._score_tensor(Xt)
        est._check_finite_result(train_scores)
        est.offset_ = score_threshold(train_scores, nu)
    return estimators


def _fit_svdd_stack(estimators, X, Xs):
    """fit_stack for Deep SVDD: each model's set-up and ending as DeepSVDD.fit, the training stacked."""
    from .estimators import _SCORE_BATCH, AutoencoderDetector, SVDDNet, _build_ae, _check_milestones

    est0 = estimators[0]
    phis, aes = [], []

    def build(est, Xt):  # mirrors the start of DeepSVDD.fit, right after the model's own seed
        given = est.pretrain if isinstance(est.pretrain, AutoencoderDetector) else None
        if given is not None:
            if not hasattr(given, "ae_") or tuple(given.arch_["in_shape"]) != est.input_shape_:
                raise ValueError("Each pretrain= autoencoder must be fitted on samples of the training set's shape.")
            est.arch_ = dict(given.arch_)
            phi = _build_ae(est.arch_).encoder.to(est.device_)
            phi.load_state_dict(given.ae_.encoder.state_dict())
        else:
            phi = est._build_phi(est.input_shape_).to(est.device_)
        est.ae_ = given.ae_ if given is not None else None
        est.ae_history_ = given.history_ if given is not None else None
        if est.pretrain and given is None:
            aes.append(_build_ae(est.arch_).to(est.device_))
        phis.append(phi)

    views, data, gens, nu = _begin(estimators, X, Xs, build)
    if aes:  # pretrain=True: the autoencoders as a stack too, continuing each model's generator (as a single fit)
        hists = _ae_stack_train(aes, data, gens, num_epochs=est0.ae_epochs, lr=est0.ae_lr,
                                lr_milestones=_check_milestones(est0.ae_lr_milestones), weight_decay=est0.weight_decay,
                                batch_size=est0.batch_size, verbose=est0.verbose,
                                desc=f"DCAE pretraining stack of {len(estimators)}")
        for est, ae, phi, h in zip(estimators, aes, phis, hists):
            est.ae_history_ = h
            est.ae_ = ae.eval()
            phi.load_state_dict(ae.encoder.state_dict())
    cs, spreads0 = [], []
    for est, phi, Xt in zip(estimators, phis, views):
        c = est._initial_center(phi, Xt)  # the single fit's own code: per-model centre (eps-pushed)
        with torch.no_grad():
            phi.eval()
            z0 = predict_batched(phi, Xt, _SCORE_BATCH)
        if z0.shape[1:] != c.shape:
            raise ValueError(f"center has shape {tuple(c.shape)} but the net outputs {tuple(z0.shape[1:])}.")
        spreads0.append(output_spread(z0))
        cs.append(c)
    k = len(estimators)
    stacked = stack_modules(phis)
    C = torch.stack(cs)  # (K, D): model k's centre
    opt = torch.optim.Adam([{"params": list(stacked.parameters()), "weight_decay": est0.weight_decay}], lr=est0.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(_check_milestones(est0.lr_milestones)),
                                                 gamma=0.1)
    soft = est0.objective == "soft-boundary"
    R = torch.zeros(k, device=C.device)  # per-model radius
    warm_up = min(int(est0.warm_up_epochs), est0.num_epochs // 10)

    def step(xb, idx):
        z = stacked(xb)  # (B, K, D)
        dist = ((z - C) ** 2).sum(2)  # (B, K): Eq. (5) per model
        if soft:  # Eq. (3) per model: R_k^2 + 1/(nu n) sum max(0, d - R_k^2)
            loss = R**2 + torch.relu(dist - R**2).mean(0) / nu
        else:  # Eq. (4) per model (weight decay in the optimiser)
            loss = dist.mean(0)
        return loss, dist, z

    def epoch_end(epoch, stats):
        if soft and epoch > warm_up and (epoch - warm_up) % int(est0.radius_update_every) == 0:
            for j in range(k):  # each model's own (1 - nu)-quantile (block coordinate step for R)
                R[j] = float(soft_boundary_radius(stats["scores"][j], nu))
        r = R.tolist()
        return [{"r": r[j] if soft else None} for j in range(k)]

    hists = _train_stack(data, k, step, opt, est0.num_epochs, est0.batch_size, gens, scheduler=sched,
                         epoch_end=epoch_end, module=stacked, verbose=est0.verbose, desc=f"Deep SVDD stack of {k}")
    unstack_into(stacked, phis)
    for j, (est, phi, Xt) in enumerate(zip(estimators, phis, views)):  # the end of DeepSVDD.fit, per model
        est.net_ = SVDDNet(phi, cs[j], False).to(est.device_)
        est.history_ = hists[j]
        net = est.net_
        net.eval()
        dist = predict_batched(net.distances, Xt, _SCORE_BATCH)
        est._check_finite_result(dist, "training distances")
        r2 = float(soft_boundary_radius_sq(dist, nu))
        threshold = r2 if soft else svdd_threshold_sq(dist, nu)  # as DeepSVDD._fit
        est.radius_ = float(np.sqrt(threshold))
        est.offset_ = -threshold
        est.center_ = net.c.detach().cpu().numpy().copy()
        warn_if_collapsed(output_spread(predict_batched(net.phi, Xt, _SCORE_BATCH)), spreads0[j],
                          "Deep SVDD representations")
    return estimators
