"""ocad_lab.validation.check_X: the kit's one input check (scikit-learn's validation plus images, layout, scale)."""

import traceback
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator

from ocad_lab.validation import ChannelsLastWarning, PixelScaleWarning, check_X


class _Est(BaseEstimator):
    """A bare estimator to receive n_features_in_ / input_shape_."""


def _raised_in_kit(excinfo):
    """The error is raised from ocad_lab's own code, not from inside NumPy, torch or scikit-learn."""
    last = traceback.extract_tb(excinfo.tb)[-1].filename.replace("\\", "/")
    return "/ocad_lab/" in last


def test_vectors_set_and_check_n_features():
    est = _Est()
    X = np.random.default_rng(0).random((10, 4))
    out = check_X(est, X, reset=True)
    assert out.dtype == np.float32 and out.shape == (10, 4)
    assert est.n_features_in_ == 4 and est.input_shape_ == (4,)
    assert check_X(est, X[:3], reset=False).shape == (3, 4)
    with pytest.raises(ValueError, match="X has 3 features, but _Est is expecting 4 features") as ei:
        check_X(est, X[:, :3], reset=False)
    assert _raised_in_kit(ei)


def test_dataframe_feature_names_are_recorded():
    est = _Est()
    df = pd.DataFrame(np.random.default_rng(0).random((6, 2)), columns=["a", "b"])
    check_X(est, df, reset=True, flatten=True, dtype=np.float64)
    assert list(est.feature_names_in_) == ["a", "b"] and est.n_features_in_ == 2


def test_images_get_a_channel_axis_and_their_shape_is_checked():
    est = _Est()
    X = np.random.default_rng(0).random((5, 8, 8)).astype(np.float32)
    out = check_X(est, X, reset=True)
    assert out.shape == (5, 1, 8, 8) and est.input_shape_ == (1, 8, 8) and est.n_features_in_ == 64
    with pytest.raises(ValueError, match="samples of shape"):
        check_X(est, np.zeros((2, 1, 4, 16), np.float32), reset=False)  # same 64 values, another shape
    # flatten=True (the baselines): images become vectors, no layout guessing
    assert check_X(None, X, reset=True, flatten=True).shape == (5, 64)


def test_channels_last_numpy_images_are_transposed_with_a_warning():
    est = _Est()
    X = np.random.default_rng(0).random((4, 8, 6, 3)).astype(np.float32)
    with pytest.warns(ChannelsLastWarning, match=r"transposed to \(N, C, H, W\)"):
        out = check_X(est, X, reset=True)
    assert out.shape == (4, 3, 8, 6) and est.input_shape_ == (3, 8, 6)
    np.testing.assert_array_equal(out, X.transpose(0, 3, 1, 2))
    # scoring: channels-first passes silently, channels-last is transposed again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_X(est, X.transpose(0, 3, 1, 2), reset=False)
    with pytest.warns(ChannelsLastWarning):
        np.testing.assert_array_equal(check_X(est, X, reset=False), X.transpose(0, 3, 1, 2))


def test_torch_tensors_are_channels_first():
    est = _Est()
    X = torch.rand(4, 8, 6, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = check_X(est, X, reset=True)
    assert out.shape == (4, 8, 6, 3)


def test_ambiguous_layout_is_refused():
    with pytest.raises(ValueError, match="layout cannot be told") as ei:
        check_X(_Est(), np.zeros((4, 3, 8, 3), np.float32), reset=True)
    assert "torch.from_numpy" in str(ei.value) and _raised_in_kit(ei)


def test_raw_pixel_scale_warns():
    X = (np.random.default_rng(0).random((4, 8, 8)) * 255).astype(np.uint8)
    with pytest.warns(PixelScaleWarning, match=r"\[0, 1\].*ocad_lab.data.preprocess"):
        check_X(_Est(), X, reset=True)
    with pytest.warns(PixelScaleWarning):
        check_X(_Est(), X.astype(np.float32), reset=True)  # integer-valued float images above 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_X(_Est(), X / 255.0, reset=True)  # [0, 1] images: silent
        check_X(_Est(), np.random.default_rng(0).normal(size=(5, 3)) * 100, reset=True)  # vectors of any scale


def test_single_image_gets_the_batch_axis_hint():
    est = _Est()
    check_X(est, np.zeros((3, 1, 28, 28), np.float32), reset=True)
    with pytest.raises(ValueError, match=r"X\[None\]"):
        check_X(est, np.zeros((28, 28), np.float32), reset=False)
    flat = _Est()
    check_X(flat, np.zeros((3, 28, 28)), reset=True, flatten=True)
    with pytest.raises(ValueError, match=r"X\[None\]"):
        check_X(flat, np.zeros((28, 28)), reset=False, flatten=True)


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (sp.csr_matrix(np.eye(3)), TypeError, r"sparse input is unsupported.*toarray\(\)"),
        (np.ones((3, 2)) + 1j, ValueError, "Complex data not supported"),
        (np.array([[1.0, {"a": 1}]], dtype=object), TypeError, "argument must be .* string.* number"),
        (np.zeros((4, 0)), ValueError, "0 feature"),
        (np.zeros((4, 0, 3, 3)), ValueError, "0 feature"),
        (np.zeros(5), ValueError, "Reshape your data"),
        (np.zeros((2, 1, 2, 2, 2)), ValueError, "dimensions"),
        (np.array([[0.0, np.nan], [1.0, 2.0]]), ValueError, r"NaN or infinite values .* impute"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), ValueError, r"1 inf"),
        ([[1.0, 2.0], [3.0]], TypeError, "rectangular"),
    ],
    ids=["sparse", "complex", "object", "zero-features", "zero-size-images", "1-D", "5-D", "nan", "inf", "ragged"],
)
def test_bad_input_is_refused_from_the_kit(X, exc, match):
    with pytest.raises(exc, match=match) as ei:
        check_X(_Est(), X, reset=True)
    assert _raised_in_kit(ei)


def test_min_samples():
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        check_X(_Est(), np.zeros((1, 3)), reset=True, min_samples=2)


def test_check_device(monkeypatch):
    from ocad_lab.validation import check_device

    assert check_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="Unknown device 'nonsense'.*use 'cpu'"):
        check_device("nonsense")
    with pytest.raises(ValueError, match="'meta'.*cannot train or score"):
        check_device("meta")
    monkeypatch.setenv("OCAD_DEVICE", "nonsense")
    with pytest.raises(ValueError, match="OCAD_DEVICE"):
        check_device(None)
