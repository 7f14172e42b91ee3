"""Networks: bias-free Deep SVDD encoders (Prop. 2), matching autoencoders, the OC-NN head."""

import pytest
import torch
from torch import nn

from ocad_lab import nets

SHAPES = {"mlp": (12,), "mnist": (1, 28, 28), "cifar10": (3, 32, 32), "conv": (1, 8, 8)}


def _biases(module):
    """Names of all bias-like parameters (linear/conv biases and BatchNorm shifts/scales)."""
    out = [n for n, _ in module.named_parameters() if n.endswith("bias")]
    out += [n for n, m in module.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine]
    return out


@pytest.mark.parametrize("name", list(SHAPES))
def test_encoders_have_no_bias_terms(name):
    """Prop. 2: no bias in any layer, BatchNorm without affine parameters."""
    enc = nets.build_encoder(name, SHAPES[name])
    assert _biases(enc) == []
    assert any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in enc.modules())


@pytest.mark.parametrize("name", list(SHAPES))
def test_bias_switch_adds_bias_to_every_layer(name):
    """bias=True (collapse demo) gives every conv/linear layer a bias and every BatchNorm affine parameters."""
    enc = nets.build_encoder(name, SHAPES[name], bias=True)
    for m in enc.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            assert m.bias is not None
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            assert m.affine


@pytest.mark.parametrize("name", list(SHAPES))
def test_autoencoder_shapes(name):
    """Encoder gives (N, rep_dim) (paper sizes: 128 for CIFAR-10, else 32); the decoder restores the input shape."""
    ae = nets.build_autoencoder(name, SHAPES[name])
    x = torch.rand(3, *SHAPES[name])
    z = ae.encoder(x)
    assert z.shape == (3, 128 if name == "cifar10" else 32)
    assert ae(x).shape == x.shape


def test_lenet_architectures_follow_section_4_2():
    """MNIST: 8 then 4 filters of 5x5, dense 32; CIFAR-10: 32, 64, 128 filters of 5x5, dense 128."""
    mn = [m for m in nets.lenet_mnist().modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size) for m in mn] == [(8, (5, 5)), (4, (5, 5))]
    cf = [m for m in nets.lenet_cifar10().modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size) for m in cf] == [(32, (5, 5)), (64, (5, 5)), (128, (5, 5))]
    assert nets.lenet_cifar10().fc.out_features == 128


def test_odd_image_sizes_roundtrip():
    """The decoder upsamples back to the exact encoder sizes (odd sizes too)."""
    ae = nets.build_autoencoder("conv", (2, 7, 9))
    x = torch.rand(4, 2, 7, 9)
    assert ae(x).shape == x.shape


def test_leaky_slope_default_and_parameter():
    """Leaky ReLU slope defaults to the paper's 0.1 and follows leaky_slope."""
    slopes = [m.negative_slope for m in nets.lenet_mnist().modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes and all(s == 0.1 for s in slopes)
    slopes = [m.negative_slope for m in nets.lenet_mnist(leaky_slope=0.01).modules() if isinstance(m, nn.LeakyReLU)]
    assert all(s == 0.01 for s in slopes)


def test_sigmoid_activation_switch():
    """activation='sigmoid' replaces every leaky ReLU by a sigmoid."""
    enc = nets.build_encoder("mlp", (5,), activation="sigmoid")
    assert any(isinstance(m, nn.Sigmoid) for m in enc.modules())
    assert not any(isinstance(m, nn.LeakyReLU) for m in enc.modules())


def test_unknown_names_raise():
    """Unknown activations or net names raise ValueError naming the choices."""
    with pytest.raises(ValueError, match="activation"):
        nets.build_encoder("mlp", (5,), activation="swishy")
    with pytest.raises(ValueError, match="net"):
        nets.build_encoder("resnet", (5,))
    with pytest.raises(ValueError, match="28x28"):
        nets.build_encoder("mnist", (1, 8, 8))


def test_auto_picks_net_by_shape():
    """net='auto': MLP for vectors, LeNet-MNIST for 1x28x28, LeNet-CIFAR for 3x32x32, small conv otherwise."""
    assert nets.resolve_net_name("auto", (10,)) == "mlp"
    assert nets.resolve_net_name("auto", (1, 28, 28)) == "mnist"
    assert nets.resolve_net_name("auto", (3, 32, 32)) == "cifar10"
    assert nets.resolve_net_name("auto", (1, 8, 8)) == "conv"


@pytest.mark.parametrize("bias", [False, True])
def test_zero_weights_output_is_constant(bias):
    """Prop. 1: with all weights zero the net maps every input to the same c_0 (0 when bias-free)."""
    enc = nets.build_encoder("mlp", (6,), bias=bias)
    with torch.no_grad():
        for m in enc.modules():
            if isinstance(m, nn.Linear) and m.bias is not None:
                m.bias.uniform_(0.5, 1.0)
    c0 = nets.zero_weights_output(enc, torch.randn(5, 6))
    assert c0.shape == (32,)
    assert torch.allclose(c0, nets.zero_weights_output(enc, 100 * torch.randn(5, 6)))
    assert (c0.abs().max() == 0) != bias
    assert all(p.abs().sum() > 0 for n, p in enc.named_parameters() if n.endswith("weight"))  # original untouched


def test_ocnn_head_is_eq3_network():
    """y_hat = <w, g(Vx)> with no biases; regulariser 1/2||w||^2 + 1/2||V||_F^2."""
    head = nets.OCNNHead(5, hidden_dim=3, activation="relu")
    x = torch.randn(7, 5)
    assert torch.allclose(head(x), torch.relu(x @ head.V.weight.T) @ head.w)
    assert head.V.bias is None
    expected = 0.5 * (head.w**2).sum() + 0.5 * (head.V.weight**2).sum()
    assert torch.allclose(head.regularizer(), expected)


def test_wide_conv_nets_compute_channels_last_on_cpu_with_the_same_values():
    """LeNet-CIFAR-10 (>= 16 channels) computes in NHWC on the CPU, LeNet-MNIST does not; the outputs agree."""
    assert nets.lenet_cifar10().channels_last and not nets.lenet_mnist().channels_last
    torch.manual_seed(0)
    ae = nets.build_autoencoder("cifar10", (3, 32, 32)).eval()
    seen = []
    hook = ae.encoder.features[0].register_forward_pre_hook(
        lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    x = torch.rand(6, 3, 32, 32)
    with torch.no_grad():
        z_nhwc, y_nhwc = ae.encoder(x), ae(x)
        ae.encoder.channels_last = ae.decoder.channels_last = False
        z_nchw, y_nchw = ae.encoder(x), ae(x)
    hook.remove()
    assert seen == [True, True, False, False]  # the first conv really received NHWC input, then NCHW
    torch.testing.assert_close(z_nhwc, z_nchw, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y_nhwc, y_nchw, rtol=1e-5, atol=1e-6)
    # the layout switch applies to 4-d CPU tensors only
    v = torch.rand(3, 5)
    assert nets.to_compute_layout(v, True) is v
