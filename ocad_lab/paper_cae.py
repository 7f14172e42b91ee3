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

from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval
from torch import nn

from . import estimators as _est
from .estimators import _COUNT0, _COUNT1, _DEVICE, _NU, _POS, _SEED, _NeuralDetector, _ReconstructionScores
from .training import train_epochs

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


class PaperCAE(_ReconstructionScores, _NeuralDetector):
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

    ``fit`` checks every setting first (declared ``_parameter_constraints``), never reseeds the caller's global
    RNGs, and stops with :class:`~ocad_lab.training.TrainingDiverged` when the loss or the scores stop being
    finite; ``save`` / ``load`` as the kit's other neural detectors.
    """

    _parameter_constraints = {
        "rep_dim": [_COUNT1],
        "nu": [_NU],
        "num_epochs": [_COUNT0],
        "lr": [_POS],
        "batch_size": [Interval(Integral, 2, None, closed="left")],  # batch normalisation needs 2 per batch
        "random_state": _SEED,
        "device": _DEVICE,
        "verbose": ["verbose"],
    }

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

    def _fit(self, Xt, generator, nu):
        """Train the autoencoder on the checked tensor ``Xt`` (MSE, Adam)."""
        if Xt.ndim != 4:
            raise ValueError(f"PaperCAE needs images (N, H, W) or (N, C, H, W), got vectors of shape "
                             f"{tuple(Xt.shape)}; reshape them, e.g. X.reshape(-1, 1, 16, 16).")
        self.ae_ = PaperConvAutoencoder(self.input_shape_, self.rep_dim).to(self.device_)
        self.history_ = train_reconstruction(self.ae_, Xt, num_epochs=self.num_epochs, lr=self.lr,
                                             batch_size=self.batch_size, generator=generator, verbose=self.verbose,
                                             desc="paper CAE")
        train_scores = self._score(Xt)
        self._check_finite_result(train_scores)
        self.offset_ = float(np.quantile(train_scores, nu))

    # -- persistence -----------------------------------------------------------------------------------------
    def _state(self):
        return {"in_shape": list(self.input_shape_), "rep_dim": int(self.ae_.encoder.rep_dim),
                "ae": self.ae_.state_dict()}

    def _restore(self, state):
        ae = PaperConvAutoencoder(tuple(state["in_shape"]), state["rep_dim"])
        ae.load_state_dict(state["ae"])
        self.ae_ = ae.to(self.device_).eval()


# ``ocad_lab.estimators.load`` and ``PaperCAE.load`` find the class by its saved name.
_est._CLASSES.setdefault("PaperCAE", PaperCAE)
