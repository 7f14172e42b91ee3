"""Networks: bias-free LeNet-type encoders (Deep SVDD §4.2), matching conv autoencoders, MLPs and the OC-NN head.

Why ``bias=False`` everywhere by default: Deep SVDD Proposition 2 — a network with a bias term in any
hidden layer can learn the constant map x -> c (all weights zero, bias = c), which is an optimal but
useless solution ("hypersphere collapse").  For the same reason BatchNorm runs without affine
parameters (its shift beta is a bias), and the activations are unbounded (Proposition 3: a saturating
unit such as a sigmoid can emulate a bias).  ``bias=True`` / ``activation="sigmoid"`` exist only to
demonstrate the collapse.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "NET_ACTIVATIONS",
    "NET_NAMES",
    "make_activation",
    "MLPEncoder",
    "MLPDecoder",
    "ConvEncoder",
    "ConvDecoder",
    "Autoencoder",
    "OCNNHead",
    "lenet_mnist",
    "lenet_cifar10",
    "lenet_gtsrb",
    "small_conv",
    "build_encoder",
    "build_autoencoder",
    "resolve_net_name",
    "zero_weights_output",
    "plain_mlp",
]

NET_ACTIVATIONS = ("leaky_relu", "relu", "elu", "sigmoid", "tanh")
NET_NAMES = ("auto", "mlp", "mnist", "cifar10", "conv", "gtsrb")
_BN_EPS = 1e-4


def make_activation(name: str = "leaky_relu", leaky_slope: float = 0.1) -> nn.Module:
    """Return the activation module called ``name`` (leaky ReLU uses ``leaky_slope``)."""
    if name == "leaky_relu":
        # The paper's text (§4.2) says slope 0.1; the authors' reference code uses PyTorch's default 0.01.
        return nn.LeakyReLU(float(leaky_slope))
    if name == "relu":
        return nn.ReLU()
    if name == "elu":
        return nn.ELU()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"Unknown activation {name!r}; choose one of {NET_ACTIVATIONS}.")


class MLPEncoder(nn.Module):
    """Fully connected encoder for vectors: (Linear -> BatchNorm -> activation) per hidden layer, then Linear."""

    def __init__(self, in_dim, hidden_dims=(128, 64), rep_dim=32, bias=False, activation="leaky_relu",
                 leaky_slope=0.1):
        super().__init__()
        self.in_shape = (int(in_dim),)
        self.rep_dim = int(rep_dim)
        layers, prev = [], int(in_dim)
        for h in hidden_dims:
            # bias=False (Prop. 2): a bias lets the net output the constant c; BN affine=False for the same reason.
            layers += [nn.Linear(prev, h, bias=bias), nn.BatchNorm1d(h, eps=_BN_EPS, affine=bias),
                       make_activation(activation, leaky_slope)]
            prev = h
        layers.append(nn.Linear(prev, self.rep_dim, bias=bias))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        """Map (N, d) inputs to (N, rep_dim) representations."""
        return self.net(x)


class MLPDecoder(nn.Module):
    """Mirror of :class:`MLPEncoder` (linear output layer)."""

    def __init__(self, out_dim, hidden_dims=(128, 64), rep_dim=32, bias=False, activation="leaky_relu",
                 leaky_slope=0.1):
        super().__init__()
        layers, prev = [], int(rep_dim)
        for h in reversed(tuple(hidden_dims)):
            layers += [nn.Linear(prev, h, bias=bias), nn.BatchNorm1d(h, eps=_BN_EPS, affine=bias),
                       make_activation(activation, leaky_slope)]
            prev = h
        layers.append(nn.Linear(prev, int(out_dim), bias=bias))
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        """Map (N, rep_dim) codes back to (N, d)."""
        return self.net(z)


# On the CPU, a conv net whose every layer has at least this many channels computes on channels-last (NHWC)
# tensors: oneDNN then skips the layout conversions around each convolution. Measured on 2 cores
# (benchmarks/bench_training.py): LeNet-CIFAR-10 (32, 64, 128 channels) trains about 25 % faster per batch; the
# narrow LeNet-MNIST (8, 4 channels) did not gain, so it keeps the default layout. Values are the same either way.
CHANNELS_LAST_MIN_WIDTH = 16


def to_compute_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``x`` in channels-last layout when ``channels_last`` and on the CPU, else unchanged (same values)."""
    if channels_last and x.device.type == "cpu" and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


class ConvEncoder(nn.Module):
    """LeNet-type encoder: per module conv -> BatchNorm -> activation -> 2x2 max-pool; then a dense layer.

    Parameters
    ----------
    in_shape : tuple (C, H, W)
    channels : tuple of int
        Filters per convolutional module (MNIST: (8, 4); CIFAR-10: (32, 64, 128)).
    kernel_size : int
        Square kernel with 'same' padding.
    rep_dim : int
        Units of the final dense layer (the representation phi(x)).
    bias, activation, leaky_slope
        ``bias=False`` and an unbounded activation are the Deep SVDD requirements (Props. 2 and 3).
    """

    def __init__(self, in_shape, channels=(8, 4), kernel_size=5, rep_dim=32, bias=False,
                 activation="leaky_relu", leaky_slope=0.1):
        super().__init__()
        c, h, w = (int(v) for v in in_shape)
        self.in_shape = (c, h, w)
        self.rep_dim = int(rep_dim)
        self.sizes = []  # spatial size entering each module (the decoder upsamples back to these)
        mods, prev = [], c
        for ch in channels:
            if min(h, w) < 2:
                raise ValueError(f"Image shape {in_shape} is too small for {len(channels)} pooling modules.")
            self.sizes.append((h, w))
            # bias=False (Prop. 2); BatchNorm without affine parameters because beta would be a bias too.
            # The paper's order is conv -> activation -> pool; pooling before the activation is exactly the same
            # (max-pooling commutes with a non-decreasing activation) and applies the activation to 4x fewer values.
            mods += [nn.Conv2d(prev, ch, kernel_size, padding=kernel_size // 2, bias=bias),
                     nn.BatchNorm2d(ch, eps=_BN_EPS, affine=bias), nn.MaxPool2d(2),
                     make_activation(activation, leaky_slope)]
            prev, h, w = ch, h // 2, w // 2
        self.features = nn.Sequential(*mods)
        self.out_shape = (prev, h, w)
        self.fc = nn.Linear(prev * h * w, self.rep_dim, bias=bias)  # bias=False (Prop. 2)
        self.channels_last = min(channels) >= CHANNELS_LAST_MIN_WIDTH

    def forward(self, x):
        """Map (N, C, H, W) images to (N, rep_dim) representations."""
        return self.fc(self.features(to_compute_layout(x, self.channels_last)).flatten(1))


def _up_geometry(size_in, size_out, k):
    """Padding and output padding of a stride-2 ConvTranspose2d taking ``size_in`` to ``size_out``."""
    pad, out_pad = [], []
    for i, o in zip(size_in, size_out):
        if o == 2 * i:
            pad.append(k // 2)
            out_pad.append(1)
        elif o == 2 * i + 1:
            pad.append(k // 2 - 1)
            out_pad.append(0)
        else:  # pragma: no cover - pooling always halves with floor
            raise ValueError(f"cannot upsample {size_in} to {size_out}")
    return tuple(pad), tuple(out_pad)


class ConvDecoder(nn.Module):
    """Symmetric decoder for :class:`ConvEncoder`: dense layer, then per module a stride-2 transposed conv.

    Each encoder module (conv + 2x2 pool) is mirrored by one ``ConvTranspose2d`` with stride 2 that
    upsamples back to the exact size the module received (odd sizes included).  We measured this
    against nearest ``F.interpolate`` + 'same' conv: on 2 CPU cores the transposed conv was about 2x
    faster for the MNIST autoencoder (it computes at the low resolution).  The output layer is linear.
    """

    def __init__(self, encoder: ConvEncoder, bias=False, activation="leaky_relu", leaky_slope=0.1):
        super().__init__()
        c_last, h, w = encoder.out_shape
        self.start_shape = (c_last, h, w)
        self.fc = nn.Linear(encoder.rep_dim, c_last * h * w, bias=bias)
        self.act0 = make_activation(activation, leaky_slope)
        convs = [m for m in encoder.features if isinstance(m, nn.Conv2d)]
        blocks, size = [], (h, w)
        for i, (conv, target) in enumerate(zip(reversed(convs), reversed(encoder.sizes))):
            last = i == len(convs) - 1
            k = conv.kernel_size[0]
            pad, out_pad = _up_geometry(size, target, k)
            # The output layer keeps a bias (it is not part of the encoder that Deep SVDD copies).
            layers = [nn.ConvTranspose2d(conv.out_channels, conv.in_channels, k, stride=2, padding=pad,
                                         output_padding=out_pad, bias=bias or last)]
            if not last:
                layers += [nn.BatchNorm2d(conv.in_channels, eps=_BN_EPS, affine=bias),
                           make_activation(activation, leaky_slope)]
            blocks.append(nn.Sequential(*layers))
            size = target
        self.blocks = nn.ModuleList(blocks)
        self.channels_last = encoder.channels_last

    def forward(self, z):
        """Map (N, rep_dim) codes to (N, C, H, W) reconstructions."""
        x = self.act0(to_compute_layout(self.fc(z).view(-1, *self.start_shape), self.channels_last))
        for block in self.blocks:
            x = block(x)
        return x


class Autoencoder(nn.Module):
    """An encoder and a decoder; ``forward`` returns the reconstruction."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x):
        """Reconstruct ``x``."""
        return self.decoder(self.encoder(x))


class OCNNHead(nn.Module):
    """OC-NN feed-forward part: y_hat = <w, g(V x)> with one hidden layer and one output (Eq. 3).

    No bias terms: Eq. (3) has none, and the regulariser 1/2||w||^2 + 1/2||V||_F^2 covers exactly w and V.
    """

    def __init__(self, in_dim, hidden_dim=32, activation="linear"):
        super().__init__()
        from .objectives import activation_fn

        self.activation = activation
        self._g = activation_fn(activation)
        self.V = nn.Linear(int(in_dim), int(hidden_dim), bias=False)
        self.w = nn.Parameter(torch.empty(int(hidden_dim)))
        nn.init.uniform_(self.w, -1.0 / math.sqrt(hidden_dim), 1.0 / math.sqrt(hidden_dim))

    def hidden(self, x):
        """The hidden representation g(V x)."""
        return self._g(self.V(x))

    def forward(self, x):
        """The scores y_hat = <w, g(V x)>."""
        return self.hidden(x) @ self.w

    def regularizer(self):
        """1/2||w||^2 + 1/2||V||_F^2 from Eq. (3)."""
        return 0.5 * (self.w**2).sum() + 0.5 * (self.V.weight**2).sum()


def lenet_mnist(rep_dim=32, **kw) -> ConvEncoder:
    """Deep SVDD §4.2 MNIST encoder: 8x(5x5) and 4x(5x5) modules, dense layer of 32 units."""
    return ConvEncoder((1, 28, 28), channels=(8, 4), kernel_size=5, rep_dim=rep_dim, **kw)


def lenet_cifar10(rep_dim=128, **kw) -> ConvEncoder:
    """Deep SVDD §4.2 CIFAR-10 encoder: 32, 64, 128 filters of 5x5, dense layer of 128 units."""
    return ConvEncoder((3, 32, 32), channels=(32, 64, 128), kernel_size=5, rep_dim=rep_dim, **kw)


def lenet_gtsrb(in_shape=(3, 32, 32), rep_dim=32, **kw) -> ConvEncoder:
    """Deep SVDD §4.3 GTSRB encoder: 16, 32, 64 filters of 5x5, dense layer of 32 units (any image size >= 8x8)."""
    return ConvEncoder(in_shape, channels=(16, 32, 64), kernel_size=5, rep_dim=rep_dim, **kw)


def small_conv(in_shape, rep_dim=32, **kw) -> ConvEncoder:
    """Small LeNet-type encoder for other image sizes (e.g. 1x8x8 digits): 8 and 16 filters of 3x3."""
    n_mod = 2 if min(in_shape[1:]) >= 4 else 1  # (kernel 3 so that the decoder's padding k//2 - 1 >= 0)
    return ConvEncoder(in_shape, channels=(8, 16)[:n_mod], kernel_size=3, rep_dim=rep_dim, **kw)


def resolve_net_name(net, in_shape) -> str:
    """Turn ``net="auto"`` into "mlp", "mnist", "cifar10" or "conv" from the sample shape; check names."""
    if not isinstance(net, str) or net not in NET_NAMES:
        raise ValueError(f"Unknown net {net!r}; choose one of {NET_NAMES} or pass a torch.nn.Module.")
    in_shape = tuple(in_shape)
    if net == "auto":
        if len(in_shape) == 1:
            return "mlp"
        if in_shape == (1, 28, 28):
            return "mnist"
        if in_shape == (3, 32, 32):
            return "cifar10"
        return "conv"
    if net == "mlp" and len(in_shape) != 1:
        raise ValueError(f"net='mlp' needs vectors (N, d); got samples of shape {in_shape}. Use net='auto'.")
    if net in ("mnist", "cifar10", "conv", "gtsrb") and len(in_shape) != 3:
        raise ValueError(f"net={net!r} needs images (N, C, H, W); got samples of shape {in_shape}.")
    if net == "mnist" and in_shape != (1, 28, 28):
        raise ValueError(f"net='mnist' needs 1x28x28 images, got {in_shape}. Use net='auto' or 'conv'.")
    if net == "cifar10" and in_shape != (3, 32, 32):
        raise ValueError(f"net='cifar10' needs 3x32x32 images, got {in_shape}. Use net='auto' or 'conv'.")
    return net


def default_rep_dim(name: str) -> int:
    """Representation size used by the paper for each net (128 for CIFAR-10, else 32)."""
    return 128 if name == "cifar10" else 32


def build_encoder(name, in_shape, rep_dim=None, bias=False, activation="leaky_relu", leaky_slope=0.1,
                  hidden_dims=(128, 64)):
    """Build the encoder called ``name`` ("mlp", "mnist", "cifar10", "conv"; "auto" is resolved first)."""
    name = resolve_net_name(name, in_shape)
    rep_dim = default_rep_dim(name) if rep_dim is None else int(rep_dim)
    kw = dict(bias=bias, activation=activation, leaky_slope=leaky_slope)
    if name == "mlp":
        return MLPEncoder(in_shape[0], hidden_dims=hidden_dims, rep_dim=rep_dim, **kw)
    if name == "mnist":
        return lenet_mnist(rep_dim=rep_dim, **kw)
    if name == "cifar10":
        return lenet_cifar10(rep_dim=rep_dim, **kw)
    if name == "gtsrb":
        return lenet_gtsrb(tuple(in_shape), rep_dim=rep_dim, **kw)
    return small_conv(tuple(in_shape), rep_dim=rep_dim, **kw)


def build_autoencoder(name, in_shape, rep_dim=None, bias=False, activation="leaky_relu", leaky_slope=0.1,
                      hidden_dims=(128, 64)) -> Autoencoder:
    """Build the encoder ``name`` and its symmetric decoder (the DCAE of Deep SVDD's pretraining)."""
    enc = build_encoder(name, in_shape, rep_dim, bias, activation, leaky_slope, hidden_dims)
    if isinstance(enc, MLPEncoder):
        dec = MLPDecoder(in_shape[0], hidden_dims, enc.rep_dim, bias, activation, leaky_slope)
    else:
        dec = ConvDecoder(enc, bias=bias, activation=activation, leaky_slope=leaky_slope)
    return Autoencoder(enc, dec)


@torch.no_grad()
def zero_weights_output(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Output c_0 of ``net`` with every weight matrix/kernel set to zero, biases kept (Prop. 1's W_0).

    The result is the same for every input; ``x`` (a small batch) only fixes shapes and device.
    """
    import copy

    clone = copy.deepcopy(net)
    for name, p in clone.named_parameters():
        if not name.endswith("bias"):  # conv/linear weights and BatchNorm scales (gamma) alike
            p.zero_()
    clone.eval()
    return clone(x[:2]).mean(dim=0)


def plain_mlp(in_dim, hidden_dims=(128, 64), rep_dim=32, bias=False, activation="leaky_relu", leaky_slope=0.1,
              seed=0) -> nn.Sequential:
    """A fully connected net *without* BatchNorm: Flatten, (Linear -> activation) per hidden layer, Linear.

    Notebook 03 uses it to show a hypersphere collapse that training reaches: without BatchNorm nothing
    rescales the hidden units, so weight decay and the objective can shrink a broken variant (bias on,
    c trainable, c = c_0) all the way to a constant map.  ``seed`` fixes the initial weights (a local RNG
    state; the caller's global torch RNG is left as it was).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        layers, prev = [nn.Flatten()], int(in_dim)
        for h in hidden_dims:
            layers += [nn.Linear(prev, int(h), bias=bias), make_activation(activation, leaky_slope)]
            prev = int(h)
        layers.append(nn.Linear(prev, int(rep_dim), bias=bias))
        return nn.Sequential(*layers)
