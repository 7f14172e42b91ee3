"""Adversarial GTSRB stop signs (Deep SVDD paper, section 4.3): a traffic-sign classifier and Boundary Attack.

1. :class:`SignClassifier` -- a small CNN trained on the 43 GTSRB classes (images in [0, 1], the paper's geometry:
   10 % border removed, 32x32); scikit-learn style (``fit``, ``predict``, ``score`` = accuracy), ``save``/``load``.
2. :func:`attack_stop_signs` -- foolbox's Boundary Attack (Brendel, Rauber & Bethge, ICLR 2018; foolbox is the
   attack's authors' library) on randomly drawn test stop signs that the classifier gets right. Boundary Attack is
   decision-based: it starts from a misclassified blend of the image with uniform noise and walks along the
   decision boundary towards the original, so the result is misclassified and as close to the original as the
   step budget allows.

Adversarials are expensive, so they are cached on disk (``.npz``, written atomically) together with the attack's
settings, the seed, fingerprints of the classifier's weights and of the test images, and the perturbation sizes
(L2 and L-infinity, in [0, 1] pixel units). A cache whose settings or fingerprints differ is recomputed. The same seed
gives the same adversarials (the attack's random draws come from a seeded torch generator state; same torch thread
count on CPU).

foolbox is an optional dependency: ``pip install "ocad-lab[attacks]"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from numbers import Integral

from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from torch import nn
from tqdm.auto import tqdm

from .config import data_dir
from .data import GTSRB_STOP_SIGN
from .estimators import _COUNT0, _COUNT1, _DEVICE, _POS, _SEED, _private_rng, _seed_of
from .training import TrainingDiverged, batch_bounds
from .validation import ParamValidationMixin, check_device, check_int, check_X

__all__ = ["SignNet", "SignClassifier", "AdversarialSet", "attack_stop_signs", "attack_settings", "require_foolbox"]

N_CLASSES = 43
_CACHE_VERSION = 1


def require_foolbox():
    """Import foolbox, or raise an ImportError that says how to install it."""
    try:
        import foolbox
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The adversarial stop-sign experiment uses foolbox (the Boundary Attack authors' library). Install it with "
            "pip install \"ocad-lab[attacks]\" (or pip install foolbox)."
        ) from None
    return foolbox


# ----------------------------------------------------------------------------------------------------------------
# the classifier
# ----------------------------------------------------------------------------------------------------------------
class SignNet(nn.Module):
    """A small traffic-sign CNN: three (conv 3x3 -> BatchNorm -> ReLU -> 2x2 max-pool) modules, dropout, dense."""

    def __init__(self, in_shape=(3, 32, 32), width=32, n_classes=N_CLASSES, dropout=0.3):
        super().__init__()
        c, h, w = (int(v) for v in in_shape)
        layers, prev = [], c
        for ch in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(prev, ch, 3, padding=1), nn.BatchNorm2d(ch), nn.ReLU(), nn.MaxPool2d(2)]
            prev, h, w = ch, h // 2, w // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(prev * h * w, int(n_classes)))

    def forward(self, x):
        """Class logits of (N, C, H, W) images in [0, 1]."""
        return self.head(self.features(x))


class SignClassifier(ParamValidationMixin, ClassifierMixin, BaseEstimator):
    """The traffic-sign classifier that the attack fools: :class:`SignNet` trained with Adam and cross-entropy.

    Parameters
    ----------
    width : int, default 32
        Filters of the first conv module (then 2x and 4x).
    num_epochs : int, default 15
    lr : float, default 1e-3
    batch_size : int, default 128
    random_state : int, default 0
    device : str, optional
        Torch device (None = automatic).
    verbose : int, default 1

    Attributes
    ----------
    net_ : SignNet (eval mode)
    classes_ : ndarray, the 43 class ids
    history_ : list of dict (epoch, loss, train_accuracy, seconds)
    input_shape_ : tuple (C, H, W)
    n_features_in_ : int

    Every setting is checked before any work (declared ``_parameter_constraints``); ``X`` by
    :func:`ocad_lab.validation.check_X`; the weights and dropout masks come from a private generator seeded by
    ``random_state`` (the caller's global RNGs are left as they were).
    """

    _parameter_constraints = {
        "width": [_COUNT1],
        "num_epochs": [_COUNT0],
        "lr": [_POS],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "random_state": _SEED,
        "device": _DEVICE,
        "verbose": ["verbose"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __init__(self, width=32, num_epochs=15, lr=1e-3, batch_size=128, random_state=0, device=None, verbose=1):
        self.width = width
        self.num_epochs = num_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train on images ``X`` (N, 3, H, W) in [0, 1] with class ids ``y`` in 0..42.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError (a ValueError and TypeError)
            A setting outside its range or of the wrong type (checked before any work).
        ValueError, TypeError
            Bad ``X`` (see :func:`ocad_lab.validation.check_X`), vectors instead of images, bad ``y``.
        ocad_lab.training.TrainingDiverged
            The training loss became NaN or infinite.
        """
        self.device_ = check_device(self.device)
        X = check_X(self, X, reset=True, min_samples=2)
        if X.ndim != 4:
            raise ValueError(f"SignClassifier needs images (N, C, H, W), got shape {X.shape}.")
        y = np.asarray(y)
        if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= N_CLASSES:
            raise ValueError(f"y must hold one integer class id in 0..{N_CLASSES - 1} per image.")
        self.classes_ = np.arange(N_CLASSES)
        seed = _seed_of(self.random_state)
        gen = torch.Generator().manual_seed(seed)
        with _private_rng(seed):  # initial weights and dropout masks, without touching the caller's RNGs
            net = SignNet(self.input_shape_, self.width).to(self.device_)
            Xt = torch.from_numpy(X).to(self.device_)
            yt = torch.from_numpy(y.astype(np.int64)).to(self.device_)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            loss_fn = nn.CrossEntropyLoss()
            self.history_ = []
            for epoch in tqdm(range(1, int(self.num_epochs) + 1), desc="sign classifier", disable=not self.verbose,
                              leave=False):
                t0 = time.perf_counter()
                net.train()
                perm = torch.randperm(len(Xt), generator=gen).to(self.device_)
                loss_sum, correct = 0.0, 0
                for a, b in batch_bounds(len(Xt), int(self.batch_size)):
                    idx = perm[a:b]
                    logits = net(Xt[idx])
                    loss = loss_fn(logits, yt[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    loss_sum += float(loss.detach()) * len(idx)
                    correct += int((logits.argmax(1) == yt[idx]).sum())
                if not np.isfinite(loss_sum):
                    raise TrainingDiverged(f"SignClassifier diverged at epoch {epoch}: the training loss became NaN "
                                           f"or infinite. Lower the learning rate lr (now {self.lr:g}) and scale the "
                                           "images to [0, 1].", epoch=epoch, loss=loss_sum)
                self.history_.append({"epoch": epoch, "loss": loss_sum / len(Xt), "train_accuracy": correct / len(Xt),
                                      "seconds": time.perf_counter() - t0})
        self.net_ = net.eval()
        return self

    @torch.no_grad()
    def _logits(self, X):
        check_is_fitted(self, "net_")
        X = check_X(self, X, reset=False)
        Xt = torch.from_numpy(X if X.flags.writeable else X.copy()).to(self.device_)
        self.net_.eval()
        return torch.cat([self.net_(Xt[i:i + 1024]) for i in range(0, len(Xt), 1024)]).cpu()

    def predict(self, X):
        """Predicted class ids."""
        return self._logits(X).argmax(1).numpy()

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits)."""
        return torch.softmax(self._logits(X), 1).numpy()

    def fingerprint(self):
        """A short hash of the trained weights (adversarials are cached per classifier)."""
        check_is_fitted(self, "net_")
        h = hashlib.sha256()
        for k, v in sorted(self.net_.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def save(self, path):
        """Save weights and settings (atomic write)."""
        check_is_fitted(self, "net_")
        payload = {"params": self.get_params(), "input_shape": list(self.input_shape_), "history": self.history_,
                   "weights": self.net_.state_dict()}
        _atomic(path, lambda tmp: torch.save(payload, tmp))

    @classmethod
    def load(cls, path, device=None):
        """Load a classifier written by :meth:`save`.

        Raises
        ------
        FileNotFoundError, ocad_lab.estimators.CheckpointError
            No file there, or a file that is not such a checkpoint (truncated, foreign or untrusted: refused, nothing
            in it executed).
        """
        from .estimators import CheckpointError, _read_checkpoint

        payload = _read_checkpoint(path, keys=("params", "input_shape", "history", "weights"))
        try:
            est = cls(**payload["params"])
        except TypeError:
            raise CheckpointError(f"{path} is not a SignClassifier checkpoint: its settings do not fit "
                                  "SignClassifier (saved by another model?).") from None
        if device is not None:
            est.device = device
        est.device_ = check_device(est.device)
        est.input_shape_ = tuple(int(v) for v in payload["input_shape"])
        est.n_features_in_ = int(np.prod(est.input_shape_))
        est.classes_ = np.arange(N_CLASSES)
        est.history_ = payload["history"]
        est.net_ = SignNet(est.input_shape_, est.width)
        est.net_.load_state_dict(payload["weights"])
        est.net_.to(est.device_).eval()
        return est


# ----------------------------------------------------------------------------------------------------------------
# the attack
# ----------------------------------------------------------------------------------------------------------------
@dataclass
class AdversarialSet:
    """Boundary Attack results on test stop signs (successful attacks only; ``n_attacked`` counts all).

    Attributes
    ----------
    X_orig, X_adv : ndarray (n, 3, H, W), float32 in [0, 1]
        The originals and their adversarials.
    source_index : ndarray (n,)
        Row of each original in the stop-sign test array the attack drew from.
    true_label, adv_label : ndarray (n,)
        14 (stop), and what the classifier says about the adversarial.
    l2, linf : ndarray (n,)
        ||x_adv - x||_2 and ||x_adv - x||_inf in [0, 1] pixel units (float64, as measured after the attack).
    n_attacked : int
        Stop signs attacked; ``len(X_adv) / n_attacked`` is the success rate.
    settings : dict
        Attack settings, seed and fingerprints (the cache key).
    seconds : float
        Wall time of the attack (of the run that filled the cache).
    from_cache : bool
    """

    X_orig: np.ndarray
    X_adv: np.ndarray
    source_index: np.ndarray
    true_label: np.ndarray
    adv_label: np.ndarray
    l2: np.ndarray
    linf: np.ndarray
    n_attacked: int
    settings: dict
    seconds: float
    from_cache: bool = field(default=False)

    @property
    def success_rate(self):
        """Share of attacked stop signs that became adversarial."""
        return len(self.X_adv) / self.n_attacked if self.n_attacked else float("nan")

    def __len__(self):
        return len(self.X_adv)


def _array_hash(X):
    return hashlib.sha256(np.ascontiguousarray(X, dtype=np.float32).tobytes()).hexdigest()[:16]


def attack_settings(n=20, steps=5000, spherical_step=0.01, source_step=0.01, step_adaptation=1.5, init_steps=100,
                    seed=0):
    """The attack's settings as a dict (these, the seed and the fingerprints form the cache key)."""
    return {"attack": "foolbox.attacks.BoundaryAttack", "n": int(n), "steps": int(steps),
            "spherical_step": float(spherical_step), "source_step": float(source_step),
            "step_adaptation": float(step_adaptation),
            "init_attack": "LinearSearchBlendedUniformNoiseAttack", "init_steps": int(init_steps), "seed": int(seed)}


def _atomic(path, write):
    """Call ``write(tmp_path)`` then move the file into place (no half-written file survives an interruption)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read_cache(path, key):
    """The cached AdversarialSet at ``path`` if its key matches, else None (a corrupt file counts as absent)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            settings = json.loads(str(f["settings"]))
            if settings != key:
                return None
            return AdversarialSet(f["X_orig"], f["X_adv"], f["source_index"], f["true_label"], f["adv_label"],
                                  f["l2"], f["linf"], int(f["n_attacked"]), settings, float(f["seconds"]), True)
    except (OSError, ValueError, KeyError):
        return None


def _write_cache(path, adv):
    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, X_orig=adv.X_orig, X_adv=adv.X_adv, source_index=adv.source_index,
                     true_label=adv.true_label, adv_label=adv.adv_label, l2=adv.l2, linf=adv.linf,
                     n_attacked=adv.n_attacked, settings=json.dumps(adv.settings, sort_keys=True),
                     seconds=adv.seconds)

    _atomic(path, write)


def attack_stop_signs(classifier, X_stop_test, n=20, steps=5000, spherical_step=0.01, source_step=0.01,
                      step_adaptation=1.5, init_steps=100, seed=0, cache="auto", verbose=1):
    """Boundary Attack on ``n`` randomly drawn test stop signs that ``classifier`` classifies correctly.

    Parameters
    ----------
    classifier : SignClassifier
        Fitted.
    X_stop_test : ndarray (N, 3, H, W) in [0, 1]
        The test stop signs (raw geometry-preprocessed images, before GCN).
    n : int, default 20
        Stop signs to attack (the paper: 20).
    steps, spherical_step, source_step, step_adaptation : foolbox BoundaryAttack settings
        ``steps`` is the number of boundary-walk iterations (foolbox's default 25,000; fewer give larger
        perturbations).
    init_steps : int
        Steps of the blended-uniform-noise search for the starting point.
    seed : int
        Draws the stop signs and seeds the attack's random steps.
    cache : "auto", path or None
        "auto": ``ocad_lab.config.data_dir()/gtsrb-adversarial/stop-signs.npz``; None: no cache.
    verbose : int

    Returns
    -------
    AdversarialSet
    """
    fb = require_foolbox()
    check_is_fitted(classifier, "net_")
    n = check_int("n", n, 1)
    X = check_X(classifier, X_stop_test, reset=False, name="X_stop_test")
    settings = attack_settings(n, steps, spherical_step, source_step, step_adaptation, init_steps, seed)
    key = {**settings, "classifier": classifier.fingerprint(), "images": _array_hash(X), "version": _CACHE_VERSION}
    path = data_dir() / "gtsrb-adversarial" / "stop-signs.npz" if cache == "auto" else cache
    if path is not None:
        hit = _read_cache(path, key)
        if hit is not None:
            return hit

    correct = np.flatnonzero(classifier.predict(X) == GTSRB_STOP_SIGN)
    if len(correct) < n:
        raise ValueError(f"Only {len(correct)} test stop signs are classified correctly; cannot attack n={n}. "
                         "Train the classifier longer or ask for fewer.")
    rng = np.random.default_rng(int(seed))
    pick = np.sort(rng.choice(correct, size=n, replace=False))
    net = classifier.net_.eval()
    fmodel = fb.PyTorchModel(net, bounds=(0.0, 1.0), device=classifier.device_)
    attack = fb.attacks.BoundaryAttack(
        init_attack=fb.attacks.LinearSearchBlendedUniformNoiseAttack(steps=int(init_steps)), steps=int(steps),
        spherical_step=float(spherical_step), source_step=float(source_step), step_adaptation=float(step_adaptation))
    x = torch.from_numpy(X[pick]).to(classifier.device_)
    labels = torch.full((n,), GTSRB_STOP_SIGN, dtype=torch.long, device=classifier.device_)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):  # the attack draws from torch's global RNG: seed it, then restore it
        torch.manual_seed(int(seed))
        if verbose:
            print(f"Boundary Attack on {n} stop signs, {steps} steps ...", flush=True)
        _, adv, _ = attack(fmodel, x, fb.criteria.Misclassification(labels), epsilons=None)
    seconds = time.perf_counter() - t0
    X_adv = adv.detach().cpu().numpy().astype(np.float32)
    adv_label = classifier.predict(X_adv)
    ok = adv_label != GTSRB_STOP_SIGN  # judged by the kit's classifier itself, not by foolbox's flag
    diff = (X_adv - X[pick]).reshape(n, -1).astype(np.float64)
    result = AdversarialSet(X[pick][ok], X_adv[ok], pick[ok], np.full(ok.sum(), GTSRB_STOP_SIGN), adv_label[ok],
                            np.linalg.norm(diff, axis=1)[ok], np.abs(diff).max(axis=1)[ok], n, key, seconds, False)
    if path is not None:
        _write_cache(path, result)
    return result
