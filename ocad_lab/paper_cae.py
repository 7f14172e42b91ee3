"""The OC-NN paper's convolutional autoencoder (section 4.5.1, Table 2) and a detector around it.

What the paper states (Chalapathy, Menon & Chawla, 2018, section 4.5.1):

* four (conv + batch-normalisation + ELU) layers in the encoder and four in the decoder;
* (filters, kernel size, stride) = (16, 3, 1) for the first and second layers, (32, 3, 1) for the third and fourth,
  "of both encoder and decoder";
* mean-squared-error loss, Adam;
* Table 2: the code fed to OC-NN has 128 units for MNIST and USPS, 32 for CIFAR-10.

Where the paper is silent, and what we chose (each a plain, common choice; none tuned toward a result):

* how stride-1 convolutions reach a 128- or 32-unit code: 2x2 max-pooling after encoder layers 2 and 4, then a
  dense layer to ``rep_dim`` (the decoder mirrors it: dense, then nearest up-sampling before decoder layers 1 and 3);
* the decoder's output: one more 3x3 convolution to the image's channels, linear (inputs are in [0, 1]);
* "same" padding, biases on (the paper's Keras layers have them: no Deep SVDD Prop. 2 concern here);
* initial weights: PyTorch's defaults, not the paper's "uniform in [-1, 1]" (with ELU that scale explodes the
  activations before batch normalisation; we say so rather than copy it); no dropout (the paper samples a rate
  in [0.05, 0.1] but does not say where it sits);
* learning rate 1e-3, 30 epochs, batch 128 by default (the paper's grid is not reported).

:class:`PaperCAE` follows the kit's sign conventions: ``score_samples`` = -(mean squared reconstruction error),
``decision_function = score_samples - offset_``, ``predict`` +1/-1. It has ``ae_`` (an ``nn.Module`` with
``.encoder`` and ``.decoder``) and ``transform``, so it plugs into :class:`ocad_lab.baselines.CAEOCSVM`
(``autoencoder=PaperCAE(...).fit(X)``) and :class:`ocad_lab.estimators.OCNN` (``encoder=cae.ae_.encoder``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .config import get_device, set_seed
from .estimators import _check_int, _check_pos, check_input
from .objectives import check_nu
from .training import predict_batched, train_epochs

__all__ = ["PAPER_REP_DIM", "PaperConvEncoder", "PaperConvDecoder", "PaperConvAutoencoder", "PaperCAE"]

#: Table 2: the encoded features fed to OC-NN (its "# Input") per data set.
PAPER_REP_DIM = {"mnist": 128, "usps": 128, "cifar10": 32}
_CHANNELS = (16, 16, 32, 32)  # section 4.5.1: (16, 3, 1) for layers 1-2, (32, 3, 1) for layers 3-4
_KERNEL = 3


def _block(c_in, c_out):
    """conv (3x3, stride 1, same padding) -> batch normalisation -> ELU (section 4.5.1)."""
    return [nn.Conv2d(c_in, c_out, _KERNEL, stride=1, padding=_KERNEL // 2), nn.BatchNorm2d(c_out), nn.ELU()]


class PaperConvEncoder(nn.Module):
    """Four (conv + BN + ELU) layers of 16, 16, 32, 32 filters (3x3, stride 1), pooling after 2 and 4, dense code.

    Parameters
    ----------
    in_shape : tuple (C, H, W)
    rep_dim : int
        Size of the code (Table 2: 128 for MNIST and USPS, 32 for CIFAR-10).
    """

    def __init__(self, in_shape, rep_dim=128):
        super().__init__()
        c, h, w = (int(v) for v in in_shape)
        if min(h, w) < 4:
            raise ValueError(f"PaperConvEncoder needs images of at least 4x4 pixels (two 2x2 poolings), "
                             f"got {in_shape}.")
        self.in_shape, self.rep_dim = (c, h, w), int(rep_dim)
        self.sizes = [(h, w), (h // 2, w // 2)]  # sizes before each pooling (the decoder up-samples back to them)
        self.features = nn.Sequential(*_block(c, _CHANNELS[0]), *_block(_CHANNELS[0], _CHANNELS[1]), nn.MaxPool2d(2),
                                      *_block(_CHANNELS[1], _CHANNELS[2]), *_block(_CHANNELS[2], _CHANNELS[3]),
                                      nn.MaxPool2d(2))
        self.out_shape = (_CHANNELS[3], h // 4, w // 4)
        self.fc = nn.Linear(int(np.prod(self.out_shape)), self.rep_dim)

    def forward(self, x):
        """(N, C, H, W) images -> (N, rep_dim) codes."""
        return self.fc(self.features(x).flatten(1))


class PaperConvDecoder(nn.Module):
    """Mirror of :class:`PaperConvEncoder`: dense, then four (conv + BN + ELU) layers of 32, 32, 16, 16 filters with
    nearest up-sampling before layers 1 and 3, then a linear 3x3 convolution to the image channels."""

    def __init__(self, encoder: PaperConvEncoder):
        super().__init__()
        self.start_shape, self.sizes = encoder.out_shape, encoder.sizes
        self.fc = nn.Linear(encoder.rep_dim, int(np.prod(self.start_shape)))
        c = encoder.in_shape[0]
        self.block1 = nn.Sequential(*_block(_CHANNELS[3], _CHANNELS[3]), *_block(_CHANNELS[3], _CHANNELS[2]))
        self.block2 = nn.Sequential(*_block(_CHANNELS[2], _CHANNELS[1]), *_block(_CHANNELS[1], _CHANNELS[0]))
        self.out = nn.Conv2d(_CHANNELS[0], c, _KERNEL, padding=_KERNEL // 2)

    def forward(self, z):
        """(N, rep_dim) codes -> (N, C, H, W) reconstructions."""
        x = F.elu(self.fc(z)).view(-1, *self.start_shape)
        x = self.block1(F.interpolate(x, size=self.sizes[1], mode="nearest"))
        x = self.block2(F.interpolate(x, size=self.sizes[0], mode="nearest"))
        return self.out(x)


class PaperConvAutoencoder(nn.Module):
    """Encoder + decoder of section 4.5.1; ``forward`` returns the reconstruction."""

    def __init__(self, in_shape, rep_dim=128):
        super().__init__()
        self.encoder = PaperConvEncoder(in_shape, rep_dim)
        self.decoder = PaperConvDecoder(self.encoder)

    def forward(self, x):
        """Reconstruct ``x``."""
        return self.decoder(self.encoder(x))


def train_reconstruction(ae, Xt, *, num_epochs, lr, batch_size, generator, verbose, desc):
    """Adam on the mean squared reconstruction error of ``ae`` over the device tensor ``Xt``; return the history."""
    opt = torch.optim.Adam(ae.parameters(), lr=lr)

    def step(xb, idx):
        err = ((ae(xb) - xb) ** 2).flatten(1).mean(1)
        return err.mean(), err, None

    return train_epochs(Xt, step, opt, num_epochs, batch_size, generator, modules=(ae,), verbose=verbose, desc=desc)


class PaperCAE(OutlierMixin, BaseEstimator):
    """The OC-NN paper's convolutional autoencoder as a detector (reconstruction error) and feature extractor.

    Parameters
    ----------
    rep_dim : int, default 128
        Code size (Table 2: 128 for MNIST/USPS, 32 for CIFAR-10; :data:`PAPER_REP_DIM`).
    nu : float in (0, 1], default 0.1
        Fraction of training points put below ``offset_`` (only ``predict`` uses it).
    num_epochs : int, default 30
    lr : float, default 1e-3
    batch_size : int >= 2, default 128
    random_state : int, default 0
    device : str or None, default None (CUDA, then MPS, then CPU; ``OCAD_DEVICE`` overrides)
    verbose : int, default 0

    Attributes
    ----------
    ae_ : PaperConvAutoencoder
    input_shape_ : tuple (C, H, W)
    n_features_in_ : int
    offset_ : float, the nu-quantile of the training scores
    history_ : list of dict, one per epoch (``loss`` = mean squared error)
    device_ : torch.device
    """

    def __init__(self, rep_dim=128, nu=0.1, num_epochs=30, lr=1e-3, batch_size=128, random_state=0, device=None,
                 verbose=0):
        self.rep_dim = rep_dim
        self.nu = nu
        self.num_epochs = num_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _images(self, X, fitted=False):
        """Checked float32 images (N, C, H, W)."""
        arr = check_input(X, fitted_shape=self.input_shape_ if fitted else None, min_samples=1 if fitted else 2)
        if arr.ndim != 4:
            raise ValueError(f"PaperCAE needs images (N, H, W) or (N, C, H, W), got vectors of shape {arr.shape}; "
                             "reshape them, e.g. X.reshape(-1, 1, 16, 16).")
        return arr

    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` (MSE, Adam); ``y`` is ignored."""
        nu = check_nu(self.nu)
        _check_int("rep_dim", self.rep_dim, 1)
        _check_int("num_epochs", self.num_epochs, 0)
        _check_int("batch_size", self.batch_size, 2)  # batch normalisation needs two samples per batch
        _check_pos("lr", self.lr)
        arr = self._images(X)
        set_seed(self.random_state)
        self.device_ = get_device(self.device)
        self.input_shape_ = tuple(int(s) for s in arr.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        gen = torch.Generator().manual_seed(int(self.random_state or 0))
        self.ae_ = PaperConvAutoencoder(self.input_shape_, self.rep_dim).to(self.device_)
        Xt = torch.from_numpy(arr).to(self.device_)
        self.history_ = train_reconstruction(self.ae_, Xt, num_epochs=self.num_epochs, lr=self.lr,
                                             batch_size=self.batch_size, generator=gen, verbose=self.verbose,
                                             desc="paper CAE")
        self.ae_.eval()
        self.offset_ = float(np.quantile(self._score(Xt), nu))
        return self

    def _score(self, Xt):
        self.ae_.eval()
        s = predict_batched(lambda xb: -((self.ae_(xb) - xb) ** 2).flatten(1).mean(1), Xt)
        return s.cpu().numpy().astype(np.float64)

    def _tensor(self, X):
        check_is_fitted(self, "offset_")
        return torch.from_numpy(self._images(X, fitted=True)).to(self.device_)

    def score_samples(self, X):
        """Minus the mean squared reconstruction error: higher means more normal."""
        return self._score(self._tensor(X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative means anomalous."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 normal, -1 anomalous."""
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def transform(self, X):
        """The codes (N, rep_dim) of the encoder, as float32."""
        Xt = self._tensor(X)
        self.ae_.eval()
        return predict_batched(self.ae_.encoder, Xt).cpu().numpy()
