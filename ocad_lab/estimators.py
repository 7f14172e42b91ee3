"""scikit-learn-style detectors: :class:`OCNN`, :class:`DeepSVDD` and :class:`AutoencoderDetector`.

Signs follow scikit-learn's OneClassSVM (the kit's convention for every detector; the README section "Score
conventions" says the same):

* ``score_samples(X)``: higher = more normal;
* ``decision_function(X) = score_samples(X) - offset_``: negative = anomalous;
* ``predict(X)``: +1 normal, -1 anomaly (``decision_function >= 0`` is normal);
* metrics take anomaly scores, ``-decision_function(X)``, with anomaly label 1.

OC-NN: ``score_samples`` = y_hat = <w, g(V x)>, ``offset_`` = r, so ``decision_function`` = S = y_hat - r.
Deep SVDD: ``score_samples`` = -||phi(x) - c||^2; ``offset_`` = -R^2 (soft-boundary, Prop. 4), or for one-class a
threshold halfway between the (1 - nu)-quantile of the training distances and the next one, negated (for
``predict`` only). Scores do not depend on the batch size (scoring batches are padded to one shape).
Autoencoder: ``score_samples`` = -(mean squared reconstruction error); ``offset_`` flags a fraction of at most
``nu`` of the training points.

Inputs (checked by :func:`ocad_lab.validation.check_X`): vectors (N, d), or images (N, C, H, W) / (N, H, W)
(a channel axis is added); NumPy channels-last images (N, H, W, C) are transposed with a warning.
Every setting is checked before any work (declared ``_parameter_constraints``); training stops with
:class:`~ocad_lab.training.TrainingDiverged` when the loss or the outputs stop being finite or grow by orders of
magnitude. ``fit`` never reseeds the caller's global RNGs (``random_state`` drives private generators).
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import tempfile
import warnings
import zipfile
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin, TransformerMixin, _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from . import nets as _nets
from .objectives import (
    ACTIVATIONS as OCNN_ACTIVATIONS,
    check_nu,
    ocnn_head_loss,
    ocnn_quantile_r,
    score_threshold,
    soft_boundary_radius,
    soft_boundary_radius_sq,
    svdd_distances,
    svdd_one_class_loss,
    svdd_soft_boundary_loss,
    svdd_threshold_sq,
)
from .training import TrainingDiverged, batch_bounds, output_spread, predict_batched, train_epochs, warn_if_collapsed
from .validation import ParamValidationMixin, check_device, check_finite_setting, check_X

__all__ = ["OCNN", "DeepSVDD", "AutoencoderDetector", "SVDDNet", "OBJECTIVES", "CheckpointError", "TrainingDiverged",
           "load"]

OBJECTIVES = ("one-class", "soft-boundary")
# Scoring batch: every batch is padded to exactly this many rows (training.predict_batched), so scores do not
# depend on how many samples are scored together.
_SCORE_BATCH = 256
_CHECKPOINT_FORMAT = "ocad_lab-checkpoint"
_CHECKPOINT_KEYS = {"class", "params", "input_shape", "offset", "history", "metadata", "state"}


class CheckpointError(ValueError):
    """A file that is not a readable, trusted ocad_lab checkpoint (or a checkpoint that cannot be written)."""


def check_input(X, fitted_shape=None, min_samples=2) -> np.ndarray:
    """Former input check, kept for code written against it: use :func:`ocad_lab.validation.check_X` instead.

    Returns ``X`` as float32 (N, d) or (N, C, H, W); raises ValueError/TypeError as ``check_X`` does.
    """
    arr = check_X(None, X, reset=True, min_samples=min_samples)
    if fitted_shape is not None and tuple(arr.shape[1:]) != tuple(fitted_shape):
        raise ValueError(f"X has samples of shape {tuple(arr.shape[1:])} but the model was fitted on samples of "
                         f"shape {tuple(fitted_shape)}. Score data with the same shape as the training data.")
    return arr


# ----------------------------------------------------------------------------------------------------------------
# settings shared by the estimators (declared constraints, checked by sklearn's machinery before any work)
# ----------------------------------------------------------------------------------------------------------------
_POS = Interval(Real, 0, None, closed="neither")  # > 0 and finite (Interval refuses inf and NaN)
_NONNEG = Interval(Real, 0, None, closed="left")  # >= 0 and finite
_FINITE = Interval(Real, None, None, closed="neither")
_NU = Interval(Real, 0, 1, closed="right")
_COUNT0 = Interval(Integral, 0, None, closed="left")
_COUNT1 = Interval(Integral, 1, None, closed="left")
_SEED = [Interval(Integral, 0, 2**63 - 1, closed="both"), None]
_DEVICE = [str, torch.device, None]


def _check_milestones(ms, name="lr_milestones"):
    """Milestones as a sorted tuple of positive ints."""
    try:
        out = tuple(int(m) for m in ms)
        ok = all(float(m) == int(m) for m in ms)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of epoch numbers, got {ms!r}.") from None
    if not ok or any(m < 1 for m in out):
        raise ValueError(f"{name} must be positive whole epoch numbers, e.g. (50,), got {ms!r}.")
    return tuple(sorted(out))


def _seed_of(random_state) -> int:
    """The integer seed of ``random_state`` (None: a fresh one from the OS, without touching any global RNG)."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    return int(random_state)


@contextlib.contextmanager
def _private_rng(seed: int):
    """Seed torch's CPU generator for module initialisation inside a fork, so the caller's RNG state is restored.

    Modules are built on the CPU (then moved to the device), so only the CPU generator is used; NumPy's and
    Python's global generators are never touched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def _storable(v):
    """Parameter value in a form torch.load(weights_only=True) can read (arrays become tensors)."""
    if isinstance(v, np.ndarray):
        return torch.from_numpy(np.array(v))
    if isinstance(v, (list, tuple)):
        return type(v)(_storable(x) for x in v)
    if isinstance(v, dict):
        return {k: _storable(x) for k, x in v.items()}
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def _unstore(v):
    """Inverse of :func:`_storable` (tensors become NumPy arrays)."""
    if isinstance(v, torch.Tensor):
        return v.numpy()
    if isinstance(v, (list, tuple)):
        return type(v)(_unstore(x) for x in v)
    if isinstance(v, dict):
        return {k: _unstore(x) for k, x in v.items()}
    return v


class SVDDNet(nn.Module):
    """The Deep SVDD network phi plus its centre c.

    c is a registered *buffer* (never trained, Prop. 1: a free centre lets the optimiser collapse the
    sphere) unless ``center_trainable=True``, which makes it an ``nn.Parameter`` for the collapse demo.
    ``forward`` returns phi(x); ``distances`` returns ||phi(x) - c||^2.
    """

    def __init__(self, phi: nn.Module, c: torch.Tensor, center_trainable: bool = False):
        super().__init__()
        self.phi = phi
        if center_trainable:
            self.c = nn.Parameter(c.clone())
        else:
            self.register_buffer("c", c.clone())

    def forward(self, x):
        """The representation phi(x)."""
        return self.phi(x)

    def distances(self, x):
        """Squared distances to the centre, Eq. (5)."""
        return svdd_distances(self.phi(x), self.c)


# ----------------------------------------------------------------------------------------------------------------
# shared base
# ----------------------------------------------------------------------------------------------------------------
class _NeuralDetector(ParamValidationMixin, OutlierMixin, TransformerMixin, BaseEstimator):
    """Shared plumbing: settings and input checks, private seeding, device, sign conventions, save/load.

    Subclasses implement ``_fit(X, generator)`` (X already checked), ``_extra_checks()`` (settings the declared
    constraints cannot express), ``score_samples``, ``transform``, ``_state`` and ``_restore``.
    """

    _fitted_attr = "offset_"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform() returns the nets' float32 representations (the nets compute in float32).
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.allow_nan = False
        return tags

    # -- helpers ---------------------------------------------------------------------------------------------
    def _device(self):
        """The torch device chosen by ``device`` (argument > OCAD_DEVICE > cuda > mps > cpu), checked."""
        return check_device(self.device)

    def _tensor(self, arr: np.ndarray) -> torch.Tensor:
        """Move an array to the fitted/selected device."""
        arr = np.ascontiguousarray(arr)
        if not arr.flags.writeable:  # e.g. a read-only memmap: torch wants writable memory
            arr = arr.copy()
        return torch.from_numpy(arr).to(self.device_)

    def _check_fitted(self):
        """Raise NotFittedError before ``fit``."""
        check_is_fitted(self, self._fitted_attr)

    def _prepare(self, X) -> torch.Tensor:
        """Checked input for scoring, as a tensor on the device."""
        self._check_fitted()
        return self._tensor(check_X(self, X, reset=False, min_samples=1))

    def _extra_checks(self):
        """Settings beyond the declared constraints; returns nu as a float."""
        return check_nu(self.nu)

    def _begin_fit(self, X):
        """Compatibility helper for subclasses that write their own ``fit`` (prefer implementing ``_fit``).

        Checks ``X`` (setting ``n_features_in_`` and ``input_shape_``), picks the device, and sets
        ``self._generator`` (a private generator seeded by ``random_state``); returns X as a device tensor. Unlike
        the base ``fit``, module initialisation in such a ``fit`` is not wrapped in a private RNG fork.
        """
        arr = check_X(self, X, reset=True, min_samples=2)
        self.device_ = self._device()
        self._generator = torch.Generator().manual_seed(_seed_of(self.random_state))
        return self._tensor(arr)

    def _check_finite_result(self, values, what="training scores"):
        """TrainingDiverged when the fitted model's training scores are not finite (last line of defence)."""
        v = values.detach() if isinstance(values, torch.Tensor) else torch.as_tensor(values)
        if not bool(torch.isfinite(v).all()):
            raise TrainingDiverged(
                f"{type(self).__name__} diverged: its {what} after training are NaN or infinite. Lower the learning "
                f"rate lr (now {self.lr:g}) or weight decay, and scale the inputs to [0, 1] "
                "(ocad_lab.data.preprocess).")

    # -- fit -------------------------------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train on ``X`` (normal, or mostly normal, data); ``y`` is ignored.

        Every setting is checked first; the network is initialised and the batches are drawn from private
        generators seeded by ``random_state``, so the caller's NumPy, Python and torch RNGs are left as they were.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError (a ValueError and TypeError)
            A setting outside its range or of the wrong type.
        ValueError, TypeError
            Bad ``X`` (see :func:`ocad_lab.validation.check_X`).
        ocad_lab.training.TrainingDiverged
            The loss or the outputs became non-finite, or the loss grew by orders of magnitude.
        """
        nu = self._extra_checks()
        self.device_ = self._device()
        arr = check_X(self, X, reset=True, min_samples=2)
        seed = _seed_of(self.random_state)
        with _private_rng(seed):
            self._fit(self._tensor(arr), torch.Generator().manual_seed(seed), nu)
        return self

    # -- sklearn API -----------------------------------------------------------------------------------------
    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative means anomalous."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for normal (decision_function >= 0), -1 for anomalous."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def fit_predict(self, X, y=None):
        """Fit on ``X`` and return its +1/-1 labels."""
        return self.fit(X).predict(X)

    # -- persistence -----------------------------------------------------------------------------------------
    def _state(self) -> dict:
        """Fitted state (tensors / primitives) other than params; subclasses extend."""
        raise NotImplementedError

    def _restore(self, state: dict):
        """Rebuild modules from ``state``; subclasses implement."""
        raise NotImplementedError

    def save(self, path, metadata=None):
        """Save weights and every setting needed to score again, atomically.

        The checkpoint is written to a temporary file in the same folder, then moved over ``path`` with
        ``os.replace``: a save that fails (or is interrupted) leaves a previous file at ``path`` as it was.

        Parameters
        ----------
        path : str or path-like
        metadata : dict, optional
            Extra numbers, strings, lists, dicts and arrays to keep with the model, e.g. preprocessing constants
            ``{"lo": lo, "hi": hi}``; restored as ``metadata_``.

        Raises
        ------
        CheckpointError
            ``metadata`` holds something other than those plain values (it could not be loaded safely).
        """
        self._check_fitted()
        params = self.get_params(deep=False)
        for k, v in params.items():
            if isinstance(v, (nn.Module, BaseEstimator)):
                params[k] = None  # the fitted module itself is stored in the state below
            elif isinstance(v, torch.device):
                params[k] = str(v)
        meta = metadata if metadata is not None else getattr(self, "metadata_", None)
        _check_storable(meta, "metadata")
        payload = {
            "format": _CHECKPOINT_FORMAT,
            "version": 1,
            "class": type(self).__name__,
            "params": _storable(params),
            "input_shape": list(self.input_shape_),
            "offset": float(self.offset_),
            "history": _storable(self.history_),
            "metadata": _storable(meta),
            "state": self._state(),
        }
        _atomic_torch_save(payload, path)

    @classmethod
    def load(cls, path, device=None):
        """Load a model written by :meth:`save` (read with ``torch.load(weights_only=True)``: nothing is executed).

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        CheckpointError
            The file is empty, truncated, not an ocad_lab checkpoint, or holds objects other than tensors and
            plain values (it is not trusted and nothing in it was run).
        """
        payload = _read_checkpoint(path)
        klass = _CLASSES.get(payload.get("class"))
        if klass is None:
            raise CheckpointError(f"{path} is not an ocad_lab checkpoint: it names the model class "
                                  f"{payload.get('class')!r}; expected one of {sorted(_CLASSES)}.")
        if cls is not _NeuralDetector and klass is not cls:
            raise CheckpointError(f"{path} holds a {payload.get('class')!r} model, not a {cls.__name__}; "
                                  f"load it with ocad_lab.estimators.load(path) or {payload.get('class')}.load(path).")
        try:
            est = klass(**_unstore(payload["params"]))
        except TypeError as err:
            raise CheckpointError(f"{path} is not an ocad_lab checkpoint this version can read (its settings do "
                                  f"not match {klass.__name__}: {err}). Re-create it with est.save(path).") from None
        if device is not None:
            est.device = device
        try:
            est.device_ = est._device()
        except RuntimeError:
            if device is not None:
                raise
            # Saved with a device this machine lacks (e.g. fitted on a GPU, loaded on a laptop): choose automatically.
            warnings.warn(f"{path} was saved with device={est.device!r}, which is not available here; "
                          "loading on the automatically chosen device instead (pass device= to choose).", UserWarning,
                          stacklevel=2)
            est.device = None
            est.device_ = est._device()
        try:
            est.input_shape_ = tuple(int(v) for v in payload["input_shape"])
            est.n_features_in_ = int(np.prod(est.input_shape_))
            est.offset_ = float(payload["offset"])
            est.history_ = _unstore(payload["history"])
            est.metadata_ = _unstore(payload["metadata"])
            est._restore(payload["state"])
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
            raise CheckpointError(f"{path} is not a valid ocad_lab checkpoint: its model state does not fit a "
                                  f"{klass.__name__} ({type(err).__name__}). Re-create it with est.save(path)."
                                  ) from None
        return est


_NOT_TRUSTED = ("Nothing in it was executed. Load only checkpoints written by est.save(path) of ocad_lab; "
                "re-create this one by fitting the model again and saving it.")


def _read_checkpoint(path, keys=None) -> dict:
    """The payload dict of a kit checkpoint (holding ``keys``, default the estimators' own), or a CheckpointError
    (never torch's own advice)."""
    keys = _CHECKPOINT_KEYS if keys is None else set(keys)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"No checkpoint at {path}: check the path (est.save(path) writes one).")
    if p.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file: pass the file that est.save wrote.")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes), so it is not an ocad_lab checkpoint; an interrupted "
                              f"copy or save may have left it. {_NOT_TRUSTED}")
    try:
        with warnings.catch_warnings():  # torch's own notes on foreign pickles (protocols etc.) are not for users
            warnings.simplefilter("ignore")
            payload = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path} is not a trusted ocad_lab checkpoint: it holds objects other than tensors "
                              f"and plain values (it may be malicious), so it was refused. {_NOT_TRUSTED}") from None
    except (EOFError, zipfile.BadZipFile, RuntimeError, OSError, ValueError, AttributeError, TypeError,
            ImportError, IndexError, KeyError, MemoryError):
        raise CheckpointError(f"{path} is not an ocad_lab checkpoint: it could not be read as one (truncated, "
                              f"damaged, or another kind of file). {_NOT_TRUSTED}") from None
    if not isinstance(payload, dict) or not keys <= set(payload):
        kind = type(payload).__name__ if not isinstance(payload, dict) else "dict without the kit's keys"
        raise CheckpointError(f"{path} is not an ocad_lab checkpoint: it holds a {kind}, not a model saved by "
                              f"est.save(path). {_NOT_TRUSTED}")
    if payload.get("format", _CHECKPOINT_FORMAT) != _CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an ocad_lab checkpoint (format {payload.get('format')!r}). "
                              f"{_NOT_TRUSTED}")
    return payload


def _check_storable(v, where, depth=0):
    """CheckpointError unless ``v`` holds only what torch.load(weights_only=True) reads back (plain values)."""
    if v is None or isinstance(v, (bool, int, float, str, np.integer, np.floating, torch.Tensor)):
        return
    if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
        return
    if isinstance(v, (list, tuple)) and depth < 20:
        for x in v:
            _check_storable(x, where, depth + 1)
        return
    if isinstance(v, dict) and depth < 20:
        for k, x in v.items():
            if not isinstance(k, (str, int)):
                raise CheckpointError(f"{where} keys must be strings or ints, got {type(k).__name__}; "
                                      "nothing was saved.")
            _check_storable(x, where, depth + 1)
        return
    raise CheckpointError(
        f"{where} can hold only numbers, strings, None, numeric arrays/tensors, and lists/dicts of them; got a "
        f"{type(v).__name__}. Nothing was saved (a previous file at this path is unchanged); convert it first "
        "(e.g. float(x), arr.tolist()).")


def _atomic_torch_save(payload, path):
    """torch.save to a temporary file in the target folder, then os.replace it over ``path``."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder: pass a file name, e.g. {path / 'model.pt'}.")
    if not folder.is_dir():
        raise FileNotFoundError(f"Cannot save {path}: the folder {folder} does not exist; create it first, e.g. "
                                f"Path({str(folder)!r}).mkdir(parents=True).")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, (pickle.PicklingError, AttributeError, TypeError)):
            raise CheckpointError(f"Could not write the checkpoint {path} ({type(err).__name__}: {err}); a previous "
                                  "file at this path is unchanged.") from None
        raise


def _freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no gradients (a frozen feature extractor)."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _arch_spec(name, in_shape, rep_dim, bias, activation, leaky_slope) -> dict:
    """The arguments of ``nets.build_autoencoder`` as primitives (for save/load)."""
    return {"name": name, "in_shape": list(in_shape), "rep_dim": int(rep_dim), "bias": bool(bias),
            "activation": activation, "leaky_slope": float(leaky_slope)}


def _build_ae(spec) -> _nets.Autoencoder:
    """Autoencoder from an architecture spec."""
    return _nets.build_autoencoder(spec["name"], tuple(spec["in_shape"]), spec["rep_dim"], spec["bias"],
                                   spec["activation"], spec["leaky_slope"])


def _train_autoencoder(ae, X, *, num_epochs, lr, lr_milestones, weight_decay, batch_size, generator, verbose,
                       desc="autoencoder", lr_name="lr"):
    """Train ``ae`` with the mean squared reconstruction error; return the history."""
    opt = torch.optim.Adam(ae.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(lr_milestones), gamma=0.1)

    def step(xb, idx):
        z = ae.encoder(xb)
        err = ((ae.decoder(z) - xb) ** 2).flatten(1).mean(1)
        return err.mean(), err, z

    return train_epochs(X, step, opt, num_epochs, batch_size, generator, scheduler=sched, modules=(ae,),
                        verbose=verbose, desc=desc, lr_name=lr_name)


# ----------------------------------------------------------------------------------------------------------------
# Autoencoder (DCAE baseline, also the pretraining for Deep SVDD / OC-NN)
# ----------------------------------------------------------------------------------------------------------------
class _ReconstructionScores:
    """Scores of a fitted autoencoder ``ae_`` (with an ``encoder``): shared by every reconstruction-error detector."""

    def _score_tensor(self, Xt):
        """-(mean squared reconstruction error) per sample, as a CPU-able tensor."""
        self.ae_.eval()
        return predict_batched(lambda xb: -((self.ae_(xb) - xb) ** 2).flatten(1).mean(1), Xt, _SCORE_BATCH)

    def _score(self, Xt):
        """The same as float64 NumPy."""
        return self._score_tensor(Xt).cpu().numpy().astype(np.float64)

    def score_samples(self, X):
        """Minus the mean squared reconstruction error (higher = more normal)."""
        return self._score(self._prepare(X))

    def transform(self, X):
        """The autoencoder's codes (encoder outputs), (N, rep_dim) float32."""
        Xt = self._prepare(X)
        self.ae_.eval()
        return predict_batched(self.ae_.encoder, Xt, _SCORE_BATCH).cpu().numpy()


class AutoencoderDetector(_ReconstructionScores, _NeuralDetector):
    """Reconstruction-error detector (the DCAE baseline of Deep SVDD §4.1).

    Parameters
    ----------
    net : {"auto", "mlp", "mnist", "cifar10", "conv"}
        Encoder architecture; the decoder mirrors it.  "auto" picks from the sample shape.
    rep_dim : int or None
        Code size; None = the paper's size (128 for CIFAR-10, else 32).
    nu : float in (0, 1]
        Fraction of training points put below the threshold ``offset_``.
    num_epochs, lr, lr_milestones, weight_decay, batch_size
        Adam with weight decay; the learning rate is multiplied by 0.1 at each milestone.
    leaky_slope, bias, activation
        As for :class:`DeepSVDD`.
    random_state, device, verbose
        Seed; torch device (None = automatic); 0 = silent, else a progress bar.

    Attributes
    ----------
    ae_ : nets.Autoencoder
    offset_ : float
    history_ : list of dict
    """

    def __init__(self, net="auto", rep_dim=None, nu=0.1, num_epochs=150, lr=1e-4, lr_milestones=(),
                 weight_decay=1e-6, batch_size=200, leaky_slope=0.1, bias=False, activation="leaky_relu",
                 random_state=0, device=None, verbose=1):
        self.net = net
        self.rep_dim = rep_dim
        self.nu = nu
        self.num_epochs = num_epochs
        self.lr = lr
        self.lr_milestones = lr_milestones
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.leaky_slope = leaky_slope
        self.bias = bias
        self.activation = activation
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    _parameter_constraints = {
        "net": [StrOptions(set(_nets.NET_NAMES))],
        "rep_dim": [_COUNT1, None],
        "nu": [_NU],
        "num_epochs": [_COUNT0],
        "lr": [_POS],
        "lr_milestones": ["array-like"],
        "weight_decay": [_NONNEG],
        "batch_size": [Interval(Integral, 2, None, closed="left")],  # BatchNorm needs >= 2 samples per batch
        "leaky_slope": [_FINITE],
        "bias": ["boolean"],
        "activation": [StrOptions(set(_nets.NET_ACTIVATIONS))],
        "random_state": _SEED,
        "device": _DEVICE,
        "verbose": ["verbose"],
    }

    def _extra_checks(self):
        _check_milestones(self.lr_milestones)
        return check_nu(self.nu)

    def _fit(self, Xt, generator, nu):
        """Train the autoencoder on the checked tensor ``Xt`` (normal data)."""
        name = _nets.resolve_net_name(self.net, self.input_shape_)
        rep_dim = _nets.default_rep_dim(name) if self.rep_dim is None else int(self.rep_dim)
        self.arch_ = _arch_spec(name, self.input_shape_, rep_dim, self.bias, self.activation, self.leaky_slope)
        self.ae_ = _build_ae(self.arch_).to(self.device_)
        self.history_ = _train_autoencoder(
            self.ae_, Xt, num_epochs=self.num_epochs, lr=self.lr, lr_milestones=_check_milestones(self.lr_milestones),
            weight_decay=self.weight_decay, batch_size=self.batch_size, generator=generator,
            verbose=self.verbose, desc="DCAE")
        self.ae_.eval()
        train_scores = self._score_tensor(Xt)
        self._check_finite_result(train_scores)
        # Flags the same training points as the nu-quantile (ocnn_quantile_r), halfway to the next score.
        self.offset_ = score_threshold(train_scores, nu)

    def _state(self):
        return {"arch": self.arch_, "weights": self.ae_.state_dict()}

    def _restore(self, state):
        self.arch_ = state["arch"]
        self.ae_ = _build_ae(self.arch_)
        self.ae_.load_state_dict(state["weights"])
        self.ae_.to(self.device_).eval()


# ----------------------------------------------------------------------------------------------------------------
# Deep SVDD
# ----------------------------------------------------------------------------------------------------------------
class DeepSVDD(_NeuralDetector):
    """Deep Support Vector Data Description (Ruff et al., ICML 2018).

    Parameters
    ----------
    net : {"auto", "mlp", "mnist", "cifar10", "conv"} or torch.nn.Module
        phi.  "auto": MLP for vectors, LeNet-MNIST for 1x28x28, LeNet-CIFAR for 3x32x32, a small
        LeNet-type net for other image sizes.  A module is deep-copied and used as is.
    objective : {"one-class", "soft-boundary"}
        Eq. (4) or Eq. (3).
    nu : float in (0, 1]
        Soft-boundary trade-off (Prop. 4: upper bound on the outlier fraction). One-class: only sets the
        ``predict`` threshold (a fraction of about nu of the training points is flagged).
    rep_dim : int or None
        Output size of phi; None = the paper's (128 for CIFAR-10, else 32).
    num_epochs, lr, lr_milestones, weight_decay, batch_size
        Adam; lr x 0.1 at each milestone (MultiStepLR); ``weight_decay`` is lambda of Eqs. (3)-(4).
    pretrain : bool or fitted AutoencoderDetector
        True: train the matching autoencoder first (DCAE) and copy its encoder into phi. A fitted
        :class:`AutoencoderDetector` (built-in net): copy *its* encoder into phi instead (its architecture
        replaces ``net``, ``rep_dim``, ``bias``, ``activation`` and ``leaky_slope``), so one autoencoder can serve
        the DCAE baseline, both Deep SVDD objectives and OC-NN, and ``save`` still works.
    ae_epochs, ae_lr, ae_lr_milestones
        Pretraining schedule.
    warm_up_epochs, radius_update_every
        Soft-boundary: R stays 0 for the warm-up (capped at a tenth of ``num_epochs`` so quick runs
        still update R), then is set every ``radius_update_every`` epochs to the (1 - nu)-quantile of
        the distances (block coordinate descent, §3.2); after training it is solved once more for the
        final weights.  Default 1 (every epoch); the paper's experiments (§4.1) use k = 5:
        ``radius_update_every=5``.
    eps : float
        Components of c with |c_i| < eps are pushed to +-eps (c near 0 eases collapse, Prop. 1).
    leaky_slope : float
        Leaky ReLU slope: the paper's text says 0.1 (default); the reference code used 0.01.
    bias, activation, center, center_trainable
        Collapse demo switches.  ``bias=True`` adds biases to every layer (and affine BatchNorm);
        ``activation="sigmoid"`` uses a bounded activation (Prop. 3); ``center`` None = mean of the
        initial forward pass, an array = that centre, "zero-weights" = the output of the net with all
        weights zero (c_0 of Prop. 1, not pushed away from 0); ``center_trainable=True`` optimises c
        with the network.
    random_state, device, verbose

    Attributes
    ----------
    net_ : SVDDNet (``net_(x)`` = phi(x); ``net_.c`` the centre)
    center_ : numpy.ndarray
    radius_ : float
        Soft-boundary: R of Prop. 4. One-class: the radius of the ``predict`` threshold, which holds a fraction
        of at least 1 - nu of the training points (Eq. (4) has no radius).
    offset_ : float
        Minus the squared ``predict`` threshold. Soft-boundary: -R^2, exactly minus the training distance on the
        sphere (Prop. 4 holds with exact comparisons). One-class: halfway between the (1 - nu)-quantile of the
        training distances and the next larger one (:func:`ocad_lab.objectives.svdd_threshold_sq`): the same
        training points are inside, but none sits exactly on the threshold. Scores do not depend on the batch
        size (every scoring batch is padded to the same shape), so ``predict`` is stable under batching.
    history_ : list of dict
    ae_, ae_history_ : the pretrained autoencoder and its history (``pretrain=True``)
    """

    def __init__(self, net="auto", objective="one-class", nu=0.1, rep_dim=None, num_epochs=150, lr=1e-4,
                 lr_milestones=(50,), weight_decay=1e-6, batch_size=200, pretrain=False, ae_epochs=150,
                 ae_lr=1e-4, ae_lr_milestones=(), warm_up_epochs=10, radius_update_every=1, eps=0.1,
                 leaky_slope=0.1, bias=False, activation="leaky_relu", center=None, center_trainable=False,
                 random_state=0, device=None, verbose=1):
        self.net = net
        self.objective = objective
        self.nu = nu
        self.rep_dim = rep_dim
        self.num_epochs = num_epochs
        self.lr = lr
        self.lr_milestones = lr_milestones
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.pretrain = pretrain
        self.ae_epochs = ae_epochs
        self.ae_lr = ae_lr
        self.ae_lr_milestones = ae_lr_milestones
        self.warm_up_epochs = warm_up_epochs
        self.radius_update_every = radius_update_every
        self.eps = eps
        self.leaky_slope = leaky_slope
        self.bias = bias
        self.activation = activation
        self.center = center
        self.center_trainable = center_trainable
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    _parameter_constraints = {
        "net": [StrOptions(set(_nets.NET_NAMES)), nn.Module],
        "objective": [StrOptions(set(OBJECTIVES))],
        "nu": [_NU],
        "rep_dim": [_COUNT1, None],
        "num_epochs": [_COUNT0],
        "lr": [_POS],
        "lr_milestones": ["array-like"],
        "weight_decay": [_NONNEG],
        "batch_size": [Interval(Integral, 2, None, closed="left")],  # BatchNorm needs >= 2 samples per batch
        "pretrain": ["boolean", HasMethods(["fit", "transform"])],
        "ae_epochs": [_COUNT0],
        "ae_lr": [_POS],
        "ae_lr_milestones": ["array-like"],
        "warm_up_epochs": [_COUNT0],
        "radius_update_every": [_COUNT1],
        "eps": [_POS],
        "leaky_slope": [_FINITE],
        "bias": ["boolean"],
        "activation": [StrOptions(set(_nets.NET_ACTIVATIONS))],
        "center": [None, "array-like", StrOptions({"zero-weights"})],
        "center_trainable": ["boolean"],
        "random_state": _SEED,
        "device": _DEVICE,
        "verbose": ["verbose"],
    }

    # -- construction ----------------------------------------------------------------------------------------
    def _extra_checks(self):
        """Settings beyond the declared constraints, before any work; returns nu."""
        nu = check_nu(self.nu)
        _check_milestones(self.lr_milestones)
        _check_milestones(self.ae_lr_milestones, "ae_lr_milestones")
        if self.center is not None and not isinstance(self.center, str):
            check_finite_setting(self, "center", self.center, shape_hint=" (one per output dimension, rep_dim)")
        if isinstance(self.pretrain, BaseEstimator) and not isinstance(self.pretrain, AutoencoderDetector):
            raise TypeError(f"pretrain must be True/False or a fitted AutoencoderDetector, got "
                            f"{type(self.pretrain).__name__}.")
        if isinstance(self.net, nn.Module) and self.pretrain is True:
            raise ValueError("pretrain=True needs a built-in net ('auto', 'mlp', 'mnist', 'cifar10', 'conv'), "
                             "because the matching decoder is built from its name.")
        return nu

    def _build_phi(self, in_shape):
        """phi for ``in_shape`` (a copy of a user module, or a built-in net); records ``arch_``."""
        if isinstance(self.net, nn.Module):
            self.arch_ = None
            return copy.deepcopy(self.net)
        name = _nets.resolve_net_name(self.net, in_shape)
        rep_dim = _nets.default_rep_dim(name) if self.rep_dim is None else int(self.rep_dim)
        self.arch_ = _arch_spec(name, in_shape, rep_dim, self.bias, self.activation, self.leaky_slope)
        return _nets.build_encoder(name, tuple(in_shape), rep_dim, self.bias, self.activation, self.leaky_slope)

    @torch.no_grad()
    def _initial_center(self, phi, Xt):
        """c: the mean of an initial forward pass (|c_i| < eps pushed to +-eps), a given array, or c_0."""
        if isinstance(self.center, str):  # "zero-weights": c_0 of Prop. 1, deliberately left as is
            return _nets.zero_weights_output(phi, Xt[:2])
        if self.center is not None:
            c = torch.as_tensor(np.asarray(self.center, dtype=np.float32)).to(self.device_).reshape(-1)
            return c
        # Train mode (batch statistics), as in the training passes c is compared with; on a copy so the
        # BatchNorm running statistics of phi (e.g. the pretrained ones) are left untouched.
        phi = copy.deepcopy(phi).train()
        total, count = None, 0
        for start, stop in batch_bounds(len(Xt), self.batch_size):  # a lone last sample joins the previous batch
            xb = Xt[start:stop]
            s = phi(xb).sum(0)
            total = s if total is None else total + s
            count += len(xb)
        c = total / count
        eps = float(self.eps)
        small = c.abs() < eps
        c[small & (c < 0)] = -eps
        c[small & (c >= 0)] = eps
        return c

    # -- fit -------------------------------------------------------------------------------------------------
    def _fit(self, Xt, generator, nu):
        """Train Deep SVDD on the checked tensor ``Xt`` (assumed mostly normal)."""
        given_ae = self.pretrain if isinstance(self.pretrain, AutoencoderDetector) else None
        if given_ae is not None:
            check_is_fitted(given_ae, "ae_")
            if tuple(given_ae.arch_["in_shape"]) != self.input_shape_:
                raise ValueError(f"The autoencoder given as pretrain= was fitted on samples of shape "
                                 f"{tuple(given_ae.arch_['in_shape'])}, but X has samples of shape {self.input_shape_}.")
            self.arch_ = dict(given_ae.arch_)
            phi = _build_ae(self.arch_).encoder.to(self.device_)
            phi.load_state_dict(given_ae.ae_.encoder.state_dict())  # transfer the pretrained encoder weights
        else:
            phi = self._build_phi(self.input_shape_).to(self.device_)
        self.ae_ = given_ae.ae_ if given_ae is not None else None
        self.ae_history_ = given_ae.history_ if given_ae is not None else None
        if self.pretrain and given_ae is None:
            ae = _build_ae(self.arch_).to(self.device_)
            self.ae_history_ = _train_autoencoder(
                ae, Xt, num_epochs=self.ae_epochs, lr=self.ae_lr, lr_milestones=_check_milestones(self.ae_lr_milestones),
                weight_decay=self.weight_decay, batch_size=self.batch_size, generator=generator,
                verbose=self.verbose, desc="DCAE pretraining", lr_name="ae_lr")
            self.ae_ = ae.eval()
            phi.load_state_dict(ae.encoder.state_dict())  # transfer the pretrained encoder weights

        c = self._initial_center(phi, Xt)
        with torch.no_grad():
            phi.eval()
            z0 = predict_batched(phi, Xt, _SCORE_BATCH)
        if z0.shape[1:] != c.shape:
            raise ValueError(f"center has shape {tuple(c.shape)} but the net outputs {tuple(z0.shape[1:])}.")
        initial_spread = output_spread(z0)
        self.net_ = SVDDNet(phi, c, bool(self.center_trainable)).to(self.device_)
        net = self.net_

        params = [{"params": list(phi.parameters()), "weight_decay": self.weight_decay}]
        if self.center_trainable:
            params.append({"params": [net.c], "weight_decay": 0.0})
        opt = torch.optim.Adam(params, lr=self.lr)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(_check_milestones(self.lr_milestones)),
                                                     gamma=0.1)
        soft = self.objective == "soft-boundary"
        R = torch.zeros((), device=self.device_)
        warm_up = min(int(self.warm_up_epochs), self.num_epochs // 10)

        def step(xb, idx):
            z = net.phi(xb)
            dist = svdd_distances(z, net.c)
            loss = svdd_soft_boundary_loss(dist, R, nu) if soft else svdd_one_class_loss(dist)  # Eq. (3) / (4)
            return loss, dist, z

        def epoch_end(epoch, stats):
            if soft and epoch > warm_up and (epoch - warm_up) % int(self.radius_update_every) == 0:
                R.fill_(float(soft_boundary_radius(stats["scores"], nu)))  # block coordinate step for R
            return {"r": float(R) if soft else None}

        self.history_ = train_epochs(Xt, step, opt, self.num_epochs, self.batch_size, generator,
                                     scheduler=sched, epoch_end=epoch_end, modules=(net,), verbose=self.verbose,
                                     desc="Deep SVDD")
        net.eval()
        if self.center_trainable:
            net.c.requires_grad_(False)
        dist = predict_batched(net.distances, Xt, _SCORE_BATCH)
        self._check_finite_result(dist, "training distances")
        # Final R for the final weights (soft-boundary, Prop. 4): R^2 is kept as one training distance itself, so
        # the boundary point compares equal; scores are batch-size invariant (predict_batched pads every batch to
        # the same shape), so that point keeps its label in any batch. One-class Deep SVDD (Eq. 4) has no radius;
        # predict() uses the same (1 - nu)-quantile of the training distances, so a fraction of at most nu of the
        # training points is flagged (like sklearn's contamination), with the threshold halfway to the next larger
        # distance: the same points are inside, none exactly on it (robust to thread count or device changes too).
        r2 = float(soft_boundary_radius_sq(dist, nu))
        threshold = r2 if soft else svdd_threshold_sq(dist, nu)
        self.radius_ = float(np.sqrt(threshold))
        self.offset_ = -threshold
        self.center_ = net.c.detach().cpu().numpy().copy()
        final_spread = output_spread(predict_batched(net.phi, Xt, _SCORE_BATCH))
        warn_if_collapsed(final_spread, initial_spread, "Deep SVDD representations")
        return self

    # -- scoring ---------------------------------------------------------------------------------------------
    def score_samples(self, X):
        """-||phi(x) - c||^2 (higher = more normal)."""
        Xt = self._prepare(X)
        self.net_.eval()
        return -predict_batched(self.net_.distances, Xt, _SCORE_BATCH).cpu().numpy().astype(np.float64)

    def transform(self, X):
        """The learned representation phi(x), shape (N, rep_dim)."""
        Xt = self._prepare(X)
        self.net_.eval()
        return predict_batched(self.net_.phi, Xt, _SCORE_BATCH).cpu().numpy()

    def _state(self):
        if self.arch_ is None:
            raise ValueError("save() supports the built-in nets only; this model uses a custom nn.Module. "
                             "Save est.net_.state_dict() yourself and rebuild the module.")
        return {"arch": self.arch_, "weights": self.net_.state_dict(), "radius": float(self.radius_)}

    def _restore(self, state):
        self.arch_ = state["arch"]
        phi = _build_ae(self.arch_).encoder
        c = state["weights"]["c"]
        self.net_ = SVDDNet(phi, c, False)
        self.net_.load_state_dict(state["weights"])
        self.net_.to(self.device_).eval()
        self.radius_ = state["radius"]
        self.center_ = c.numpy().copy()
        self.ae_ = None


# ----------------------------------------------------------------------------------------------------------------
# OC-NN
# ----------------------------------------------------------------------------------------------------------------
class OCNN(_NeuralDetector):
    """One-Class Neural Network (Chalapathy, Menon & Chawla, 2018), Algorithm 1.

    Alternates (per epoch) between one pass of minibatch Adam on Eq. (4) over (w, V) with r fixed,
    and r <- the nu-quantile of the scores y_hat_n (Theorem 3.1); ``r`` starts as the nu-quantile of
    the initial scores.  Decision S_n = y_hat_n - r.

    Parameters
    ----------
    hidden_dim : int
        Hidden units of the one-hidden-layer head.
    activation : {"linear", "sigmoid", "relu"}
        g.
    nu : float in (0, 1]
    num_epochs, lr, batch_size
        Adam on Eq. (4) (its 1/2||w||^2 + 1/2||V||^2 regulariser is part of the loss, not weight decay).
    encoder : None, torch.nn.Module or fitted AutoencoderDetector
        None: the head sees the raw (flattened) inputs.  A module or a fitted autoencoder's encoder is
        deep-copied and frozen (the paper's transfer set-up, §4.4).
    pretrain : bool
        With ``encoder=None``: train a (conv) autoencoder on X first and use its frozen encoder.
    ae_net, ae_epochs, ae_lr, rep_dim
        Architecture ("auto" etc., see :class:`AutoencoderDetector`) and schedule of that autoencoder.
    random_state, device, verbose

    Attributes
    ----------
    head_ : nets.OCNNHead
    encoder_ : frozen encoder or None
    offset_ : float (= r)
    history_ : list of dict (``mean_score`` = mean y_hat, ``r``, ``spread`` of g(Vx))
    """

    def __init__(self, hidden_dim=32, activation="linear", nu=0.1, num_epochs=100, lr=1e-3, batch_size=64,
                 encoder=None, pretrain=False, ae_net="auto", ae_epochs=50, ae_lr=1e-3, rep_dim=None,
                 random_state=0, device=None, verbose=1):
        self.hidden_dim = hidden_dim
        self.activation = activation
        self.nu = nu
        self.num_epochs = num_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.encoder = encoder
        self.pretrain = pretrain
        self.ae_net = ae_net
        self.ae_epochs = ae_epochs
        self.ae_lr = ae_lr
        self.rep_dim = rep_dim
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    _parameter_constraints = {
        "hidden_dim": [_COUNT1],
        "activation": [StrOptions(set(OCNN_ACTIVATIONS))],
        "nu": [_NU],
        "num_epochs": [_COUNT0],
        "lr": [_POS],
        "batch_size": [_COUNT1],
        "encoder": [None, nn.Module, HasMethods(["fit", "transform"])],
        "pretrain": ["boolean"],
        "ae_net": [StrOptions(set(_nets.NET_NAMES))],
        "ae_epochs": [_COUNT0],
        "ae_lr": [_POS],
        "rep_dim": [_COUNT1, None],
        "random_state": _SEED,
        "device": _DEVICE,
        "verbose": ["verbose"],
    }

    def _extra_checks(self):
        """Settings beyond the declared constraints; returns nu."""
        nu = check_nu(self.nu)
        if self.encoder is not None and not isinstance(self.encoder, (nn.Module, AutoencoderDetector)):
            raise TypeError("encoder must be None, a torch.nn.Module or a fitted AutoencoderDetector, "
                            f"got {type(self.encoder).__name__}.")
        if self.encoder is not None and self.pretrain:
            raise ValueError("Give either encoder=... or pretrain=True, not both.")
        return nu

    def _features(self, Xt):
        """Frozen-encoder features (flattened) of a device tensor."""
        if self.encoder_ is None:
            return Xt.reshape(len(Xt), -1)
        return predict_batched(lambda xb: self.encoder_(xb).reshape(len(xb), -1), Xt, _SCORE_BATCH)

    def _fit(self, Xt, generator, nu):
        """Run Algorithm 1 on the checked tensor ``Xt``."""
        self.encoder_spec_ = None
        self.ae_history_ = None
        if isinstance(self.encoder, AutoencoderDetector):
            try:
                self.encoder._check_fitted()
            except NotFittedError:
                raise ValueError("encoder=AutoencoderDetector(...) must be fitted first (call its fit).") from None
            if tuple(self.encoder.input_shape_) != self.input_shape_:
                raise ValueError(f"The autoencoder was fitted on samples of shape {self.encoder.input_shape_}, "
                                 f"X has {self.input_shape_}.")
            self.encoder_spec_ = dict(self.encoder.arch_)
            self.encoder_ = _freeze(copy.deepcopy(self.encoder.ae_.encoder)).to(self.device_)
        elif isinstance(self.encoder, nn.Module):
            self.encoder_ = _freeze(copy.deepcopy(self.encoder)).to(self.device_)
        elif self.pretrain:
            ae_det = AutoencoderDetector(net=self.ae_net, rep_dim=self.rep_dim, num_epochs=self.ae_epochs,
                                         lr=self.ae_lr, batch_size=self.batch_size, random_state=self.random_state,
                                         device=self.device_, verbose=self.verbose)
            try:
                ae_det.fit(Xt.cpu().numpy())  # its own private seeding; the head below starts from this fit's seed
            except TrainingDiverged as err:
                raise TrainingDiverged(str(err).replace("Lower the learning rate lr", "Lower the learning rate ae_lr"),
                                       epoch=err.epoch, loss=err.loss) from None
            self.ae_history_ = ae_det.history_
            self.encoder_spec_ = dict(ae_det.arch_)
            self.encoder_ = _freeze(ae_det.ae_.encoder)
        else:
            self.encoder_ = None
        F_ = self._features(Xt).contiguous()
        self.head_ = _nets.OCNNHead(F_.shape[1], self.hidden_dim, self.activation).to(self.device_)
        head = self.head_
        with torch.no_grad():
            initial_spread = output_spread(head.hidden(F_))
            r = torch.as_tensor(ocnn_quantile_r(head(F_), nu)).to(self.device_).clone()  # r^(0)
        opt = torch.optim.Adam(head.parameters(), lr=self.lr)

        def step(fb, idx):
            loss = ocnn_head_loss(head(fb), r, nu, head.regularizer())  # Eq. (4), r fixed
            return loss, None, None

        def epoch_end(epoch, stats):
            with torch.no_grad():
                hidden = head.hidden(F_)
                y_hat = hidden @ head.w
                r.fill_(float(ocnn_quantile_r(y_hat, nu)))  # Theorem 3.1: r = nu-quantile of y_hat
                return {"r": float(r), "mean_score": float(y_hat.mean()), "spread": output_spread(hidden)}

        self.history_ = train_epochs(F_, step, opt, self.num_epochs, self.batch_size, generator,
                                     epoch_end=epoch_end, modules=(head,), verbose=self.verbose, desc="OC-NN")
        head.eval()
        with torch.no_grad():
            y_hat = predict_batched(head, F_, _SCORE_BATCH)  # as score_samples computes them (r is one of them)
            self._check_finite_result(y_hat)
            r_final = float(ocnn_quantile_r(y_hat, nu))  # r for the final weights (Algorithm 1, line 7)
            final_spread = output_spread(head.hidden(F_))
        self.offset_ = r_final
        self.r_ = r_final
        warn_if_collapsed(final_spread, initial_spread, "OC-NN hidden features g(Vx)")
        return self

    def score_samples(self, X):
        """y_hat = <w, g(V x)> (higher = more normal)."""
        F_ = self._features(self._prepare(X))
        return predict_batched(self.head_, F_, _SCORE_BATCH).cpu().numpy().astype(np.float64)

    def transform(self, X):
        """The hidden representation g(V x) (of the frozen encoder's features when an encoder is used)."""
        F_ = self._features(self._prepare(X))
        return predict_batched(self.head_.hidden, F_, _SCORE_BATCH).cpu().numpy()

    def _state(self):
        if self.encoder_ is not None and self.encoder_spec_ is None:
            raise ValueError("save() cannot store a custom encoder module; it supports encoder=None, "
                             "pretrain=True or a fitted AutoencoderDetector.")
        state = {"head": self.head_.state_dict(), "in_dim": int(self.head_.V.in_features),
                 "encoder_spec": self.encoder_spec_, "r": float(self.r_)}
        if self.encoder_ is not None:
            state["encoder"] = self.encoder_.state_dict()
        return state

    def _restore(self, state):
        self.encoder_spec_ = state["encoder_spec"]
        self.encoder_ = None
        if self.encoder_spec_ is not None:
            enc = _build_ae(self.encoder_spec_).encoder
            enc.load_state_dict(state["encoder"])
            self.encoder_ = _freeze(enc).to(self.device_)
        self.head_ = _nets.OCNNHead(state["in_dim"], self.hidden_dim, self.activation)
        self.head_.load_state_dict(state["head"])
        self.head_.to(self.device_).eval()
        self.r_ = state["r"]


_CLASSES = {"OCNN": OCNN, "DeepSVDD": DeepSVDD, "AutoencoderDetector": AutoencoderDetector}


def load(path, device=None):
    """Load any detector saved with ``save(path)``."""
    return _NeuralDetector.load(path, device=device)
