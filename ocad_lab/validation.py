"""The kit's one input check, built on scikit-learn's own validation.

Every estimator of the kit (shallow baselines and neural detectors alike) checks its ``X`` with
:func:`check_X` in ``fit`` (``reset=True``) and in every scoring method (``reset=False``).  It wraps
:func:`sklearn.utils.check_array` / :func:`sklearn.utils.validation.validate_data` (``allow_nd=True`` for
images), so the kit refuses what scikit-learn refuses, with scikit-learn's wording, and adds what the
kit needs on top:

* sparse input is refused (the kit's models need dense arrays: call ``X.toarray()``);
* complex data, ``dtype=object`` that is not numeric (TypeError), zero features, fewer than ``min_samples``
  rows, 1-D input ("Reshape your data ...") and NaN / infinite values are refused;
* ``n_features_in_`` (the number of values per sample) is set in ``fit`` and checked when scoring, and so is
  the sample shape ``input_shape_`` of image models; a single image passed without its batch axis gets the hint
  to use ``X[None]``;
* images: (N, H, W) gets a channel axis, (N, C, H, W) is the kit's layout; a NumPy array of channels-last
  images (N, H, W, C) with C in {1, 3, 4} (as PIL and NumPy give them) is transposed to (N, C, H, W) with a
  :class:`ChannelsLastWarning` saying so, and refused when the layout cannot be told apart (e.g. (N, 3, 32, 3));
  a torch tensor is always taken as (N, C, H, W), torch's own convention;
* uint8 input or integer-valued images above 1 get a :class:`PixelScaleWarning`: the kit's models expect
  images scaled to [0, 1] (``ocad_lab.data.preprocess``), and a model fitted on one scale flags everything
  on the other.

Errors are raised from this module (scikit-learn's message, plus what to do), never from deep inside NumPy,
torch or scikit-learn.

:class:`ParamValidationMixin` gives the estimators scikit-learn's declared ``_parameter_constraints``
checking (via ``sklearn.base._fit_context``) with the error raised from the kit and a hint for numbers
passed as strings.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import validate_data

__all__ = [
    "IMAGE_CHANNELS",
    "check_device",
    "ChannelsLastWarning",
    "PixelScaleWarning",
    "ParamValidationMixin",
    "check_X",
    "check_int",
    "check_positive",
    "check_finite_setting",
]

#: Channel counts that identify an axis as the channel axis (grey, RGB, RGBA).
IMAGE_CHANNELS = (1, 3, 4)


class ChannelsLastWarning(UserWarning):
    """Channels-last images (N, H, W, C) were transposed to the kit's layout (N, C, H, W)."""


class PixelScaleWarning(UserWarning):
    """The input looks like raw 0..255 pixel values; the kit's models expect images scaled to [0, 1]."""


def _hint(est) -> str:
    return type(est).__name__ if est is not None else "the model"


def _reraise(err: Exception, extra: str = ""):
    """Raise ``err``'s type with its message (plus ``extra``) from here, hiding library frames."""
    msg = str(err).strip()
    if extra:
        msg = f"{msg} {extra}"
    raise type(err)(msg) from None


def _to_numpy(X):
    """(X as an array-like NumPy can read, True when X was a torch tensor)."""
    mod = type(X).__module__
    if mod.startswith("torch") and hasattr(X, "detach"):
        return X.detach().cpu().numpy(), True
    return X, False


def _resolve_layout(arr: np.ndarray, est, reset: bool, from_torch: bool) -> np.ndarray:
    """4-D images as (N, C, H, W): detect channels-last NumPy images, refuse ambiguous ones."""
    s1, s3 = arr.shape[1], arr.shape[3]
    if not reset:
        fitted = tuple(getattr(est, "input_shape_", ()) or ())
        if tuple(arr.shape[1:]) == fitted or from_torch or len(fitted) != 3:
            return arr
        if tuple(arr.shape[1:]) == (fitted[1], fitted[2], fitted[0]):
            warnings.warn(
                f"X has shape {arr.shape}: channels-last images (N, H, W, C); {_hint(est)} was fitted on "
                f"(N, C, H, W) = (N, {fitted[0]}, {fitted[1]}, {fitted[2]}) images, so X was transposed to "
                "(N, C, H, W). Pass X.transpose(0, 3, 1, 2) to silence this warning.",
                ChannelsLastWarning, stacklevel=4)
            return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))
        return arr  # the shape check below reports the mismatch
    if from_torch:
        return arr  # torch's convention is (N, C, H, W)
    first, last = s1 in IMAGE_CHANNELS, s3 in IMAGE_CHANNELS
    if last and not first:
        warnings.warn(
            f"X has shape {arr.shape}: read as channels-last images (N, H, W, C) with C = {s3} channel(s) "
            f"(the layout PIL and NumPy use) and transposed to (N, C, H, W) = {(arr.shape[0], s3) + arr.shape[1:3]}. "
            "Pass X.transpose(0, 3, 1, 2) (or a torch tensor, always read as (N, C, H, W)) to silence this warning.",
            ChannelsLastWarning, stacklevel=4)
        return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))
    if last and first:
        raise ValueError(
            f"X has shape {arr.shape}: it could be (N, C, H, W) images with {s1} channel(s) or channels-last "
            f"(N, H, W, C) images with {s3}, so the layout cannot be told. Pass the images as a torch tensor in "
            "(N, C, H, W) layout (torch.from_numpy(X), after X.transpose(0, 3, 1, 2) if X is channels-last), "
            "or flatten them to vectors with X.reshape(len(X), -1).")
    return arr


def _warn_scale(arr: np.ndarray, orig_dtype, is_image: bool, est):
    """PixelScaleWarning for uint8 input or integer-valued images above 1."""
    raw = orig_dtype is not None and np.dtype(orig_dtype) == np.uint8
    if not raw and is_image and arr.size and float(arr.max()) > 1.0:
        raw = bool(np.all(arr == np.round(arr)))  # integer-valued pixels above 1: 0..255 data
    if raw:
        warnings.warn(
            f"X looks like raw pixel values (dtype {np.dtype(orig_dtype) if orig_dtype is not None else arr.dtype}, "
            f"range {float(arr.min()):g}..{float(arr.max()):g}); the kit's models expect images scaled to [0, 1] "
            "(ocad_lab.data.preprocess: global contrast normalisation, then min-max scaling with the training "
            "constants). Fit and score on the same scale: a model fitted on 0..255 data flags every [0, 1] image "
            f"as anomalous, and vice versa. {_hint(est)} uses the values as given.",
            PixelScaleWarning, stacklevel=4)


def check_X(estimator, X, *, reset: bool, flatten: bool = False, dtype=np.float32, min_samples: int = 1,
            allow_nd: bool = True, name: str = "X") -> np.ndarray:
    """Validate ``X`` for ``fit`` (``reset=True``) or scoring (``reset=False``); return it as a NumPy array.

    Parameters
    ----------
    estimator : estimator instance or None
        In ``fit`` (``reset=True``) its ``n_features_in_`` (values per sample; and ``feature_names_in_`` for a
        DataFrame) are set, and for image models (``flatten=False``) its ``input_shape_`` (the sample shape);
        when scoring they are checked.  None: validate only.
    X : array-like, DataFrame, or torch tensor
        Vectors (N, d), images (N, H, W), (N, C, H, W), or channels-last NumPy images (N, H, W, C).
    reset : bool
        True in ``fit``, False in ``score_samples`` / ``predict`` / ``transform`` / ``decision_function``.
    flatten : bool, default False
        True for models of vectors (the shallow baselines): images are flattened to (N, H*W*C), as they are.
        False for image models: images come back as (N, C, H, W), vectors as (N, d).
    dtype : NumPy dtype, default float32
        The dtype of the returned array (float64 for the scikit-learn baselines).
    min_samples : int, default 1
        Fewest rows accepted (2 to fit a net with BatchNorm).
    allow_nd : bool, default True
        False: refuse images (only (N, d) vectors).
    name : str, default "X"
        Name used in messages.

    Returns
    -------
    numpy.ndarray of ``dtype``: (N, d), or (N, C, H, W) when ``flatten=False`` and X holds images.

    Raises
    ------
    TypeError
        Sparse input; non-numeric ``dtype=object`` data.
    ValueError
        Complex data, 1-D or > 4-D input, zero features, too few samples, NaN/inf, a feature count or sample
        shape other than the fitted one, ambiguous image layout.
    """
    if sp.issparse(X):
        raise TypeError(
            f"Sparse data was passed for {name}, but {_hint(estimator)} needs dense data (sparse input is "
            f"unsupported): convert it with {name}.toarray().")
    X, from_torch = _to_numpy(X)
    orig_dtype = getattr(X, "dtype", None)
    if orig_dtype is not None and not isinstance(orig_dtype, np.dtype):  # pandas dtypes and the like
        orig_dtype = None
    orig_shape = tuple(getattr(X, "shape", ()) or ())
    try:
        arr = check_array(X, accept_sparse=False, dtype=dtype, ensure_all_finite=False, allow_nd=allow_nd,
                          ensure_min_samples=min_samples, ensure_min_features=1, input_name=name, estimator=estimator)
    except TypeError as err:
        _reraise(err, f"{name} must be numeric (numbers, or an array/DataFrame of numbers).")
    except ValueError as err:
        msg = str(err)
        if "Complex data not supported" in msg:
            _reraise(err, f"The kit's models need real-valued {name}: take np.real({name}) or np.abs({name}) "
                          "yourself if that is what you mean.")
        if "could not convert" in msg or "inhomogeneous" in msg or "setting an array element" in msg:
            raise TypeError(f"{name} must be a rectangular array of numbers: {msg}") from None
        if "minimum of" in msg and "sample" in msg and len(orig_shape) >= 2:
            _reraise(err, f"{_hint(estimator)} needs at least {min_samples} sample(s) here.")
        _reraise(err)
    if arr.ndim > 4:
        raise ValueError(
            f"{name} must be vectors (N, d) or images (N, H, W) / (N, C, H, W); got an array with {arr.ndim} "
            f"dimensions and shape {arr.shape}.")
    if arr.ndim >= 3 and math.prod(arr.shape[1:]) == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required; "
                         f"{name} needs at least one value per sample.")
    is_image = arr.ndim >= 3
    if not np.isfinite(arr).all():
        bad = ~np.isfinite(arr.reshape(len(arr), -1))
        n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
        raise ValueError(
            f"{name} contains NaN or infinite values ({n_nan} NaN, {n_inf} inf) in {int(bad.any(axis=1).sum())} of "
            f"{len(arr)} sample(s); "
            f"remove or impute them first (e.g. {name}[np.isfinite({name}).reshape(len({name}), -1).all(axis=1)], "
            "or sklearn.impute.SimpleImputer).")
    if is_image and not flatten:
        if arr.ndim == 3:
            arr = arr[:, None]
        arr = _resolve_layout(arr, estimator, reset, from_torch)
    flat = arr.reshape(len(arr), -1) if arr.ndim > 2 else arr
    _warn_scale(arr, orig_dtype, is_image, estimator)
    if estimator is None:
        return flat if flatten else arr
    fitted_shape = tuple(getattr(estimator, "input_shape_", ()) or ()) if not flatten and not reset else ()
    try:
        validate_data(estimator, X if arr.ndim == 2 and len(orig_shape) < 3 else flat, reset=reset,
                      skip_check_array=True)
    except ValueError as err:
        extra = "Score data with the same shape and preprocessing as the training data."
        n_fit = getattr(estimator, "n_features_in_", None)
        if orig_shape and n_fit is not None and math.prod(orig_shape) == n_fit:
            extra = (f"{name} of shape {orig_shape} holds exactly one sample's worth of values: if it is one "
                     f"sample (e.g. one image), add a batch axis with {name}[None]. " + extra)
        _reraise(err, extra)
    if reset:
        if not flatten:
            estimator.input_shape_ = tuple(int(s) for s in arr.shape[1:])
    elif fitted_shape and tuple(arr.shape[1:]) != fitted_shape:
        one = orig_shape in (fitted_shape, fitted_shape[1:]) and len(orig_shape) >= 2
        single = f"{name} of shape {orig_shape} looks like ONE sample: add a batch axis with {name}[None]. "
        raise ValueError(
            f"{name} has samples of shape {tuple(arr.shape[1:])}, but {_hint(estimator)} was fitted on samples of "
            f"shape {fitted_shape}. " + (single if one else "")
            + "Score data with the same shape and preprocessing as the training data.")
    return flat if flatten else arr


def check_finite_setting(est, name: str, value, *, shape_hint: str = "") -> np.ndarray:
    """Return ``value`` as a float array, raising ValueError naming the setting when it is not finite."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} of {_hint(est)} must be numbers{shape_hint}, got {type(value).__name__}.") from None
    if arr.size == 0 or not np.isfinite(arr).all():
        n_bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{name} of {_hint(est)} must be finite numbers{shape_hint}; got {arr.size} value(s), "
                         f"{n_bad} of them NaN or infinite. Pass finite values (or {name}=None for the default).")
    return arr


def check_device(device=None):
    """The torch device for ``device`` (None: ``OCAD_DEVICE``, else CUDA, MPS, CPU), refused clearly if unusable.

    A thin name for :func:`ocad_lab.config.get_device`, the one place a device is validated; call it before any
    work starts (the estimators do in ``fit``; ``ocad-lab reproduce`` does once before the first run).

    Raises
    ------
    ocad_lab.config.SettingError (a ValueError)
        Not a device name torch knows ("nonsense"), or a device type that cannot train ("meta").
    ocad_lab.config.DeviceUnavailable (a SettingError and a RuntimeError)
        CUDA or MPS requested but not available here (the message says to use 'cpu' or unset OCAD_DEVICE).
    """
    from .config import get_device

    return get_device(device)


def check_int(name, value, minimum):
    """A function argument that must be a whole number >= ``minimum`` (estimators declare theirs instead).

    Raises TypeError for a non-integer (a string, a float, a bool) and ValueError below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number >= {minimum}, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    return int(value)


def check_positive(name, value):
    """A function argument that must be a positive finite number (estimators declare theirs instead)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r} ({type(value).__name__}); pass a number, "
                        "not a string.")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


class ParamValidationMixin:
    """scikit-learn's ``_parameter_constraints`` checking, raised from the kit with a hint for string numbers.

    Subclasses declare ``_parameter_constraints`` (sklearn's ``Interval``, ``StrOptions``, ...) and decorate
    ``fit`` with ``sklearn.base._fit_context``; every setting is then checked before any work.
    """

    def _validate_params(self):
        try:
            super()._validate_params()
        except InvalidParameterError as err:
            extra = ""
            for key, val in self.get_params(deep=False).items():
                if isinstance(val, str) and f"'{key}' parameter" in str(err):
                    try:
                        extra = f"Pass the number {float(val)!r}, not the string {val!r}."
                    except ValueError:
                        pass
            msg = str(err) + (f" {extra}" if extra else f" Set it with set_params({_param_name(err)}=...) or "
                                                       "in the constructor.")
            raise InvalidParameterError(msg) from None


def _param_name(err) -> str:
    s = str(err)
    if s.startswith("The '") and "'" in s[5:]:
        return s[5:s.index("'", 5)]
    return "..."
