"""Seconds per training epoch: the kit's training path against a reference-style per-sample DataLoader loop.

Usage::

    OCAD_MNIST_DIR=/path/to/mnist python benchmarks/bench_training.py            # paper sizes (~2 min on 2 cores)
    python benchmarks/bench_training.py --repeats 3                              # median of 3 runs (~6 min)
    python benchmarks/bench_training.py --quick                                  # 2,000 images, ~1-2 min
    python benchmarks/bench_training.py --variants                               # also time candidate speed-ups
    python benchmarks/bench_training.py   # with torchvision importable: the reference uses torchvision's own transforms
    python benchmarks/bench_training.py --tiny                                   # 2 small batches (smoke test)

Rows (batch 200, Adam, lr 1e-4):

* LeNet-MNIST Deep SVDD (one-class objective) on MNIST class 0 (5,923 training images);
* its convolutional autoencoder (DCAE, mean squared reconstruction error), same data;
* LeNet-CIFAR-10 Deep SVDD on 5,000 *random* uint8 images of CIFAR's shape (CIFAR-10 is not available
  offline; the cost per epoch depends only on the shape).

Columns (seconds per epoch, the median over the timed epochs after one warm-up epoch, then the median over
``--repeats`` runs of the whole table):

* ``reference_s_per_epoch``: the way the public Deep SVDD code trains. Its networks (the encoder with the
  activation before the pooling; for the autoencoder, its decoder: nearest 2x upsampling, then a 5x5 transposed
  convolution at the upsampled size), fed by a per-sample ``Dataset`` that on every access turns the uint8 image
  into a PIL image, applies ``ToTensor``, GCN-L1 and ``Normalize(min, max - min)`` and the reference's target
  transform, wrapped in a ``Subset`` and a ``DataLoader`` (batch 200, shuffle, ``num_workers=0``), with
  ``loss.item()`` once per batch. With torchvision installed, the transforms are torchvision's own, as in the
  reference; without it, a leaner emulation (so the speed-up is then a lower bound). The line above the table
  says which.
* ``ref_loop_kit_net_s``: the same loop training the kit's networks, so that only the data path differs from
  the kit's column.
* ``kit_s_per_epoch``: :class:`ocad_lab.estimators.DeepSVDD` / :class:`AutoencoderDetector` ``fit``, from
  ``history_[i]["seconds"]``: data preprocessed once and kept as one tensor, batches are index slices.
* ``speed_up`` = reference / kit (the throughput ratio); ``kit_images_per_s`` the kit's throughput.

Without full MNIST (``OCAD_MNIST_DIR`` or the cache) the MNIST rows fall back to random images of MNIST's shape
and say so.  Timings depend on the machine and on its load: check ``uptime`` first.  Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image
import pandas as pd
import torch
from torch import nn
from threadpoolctl import threadpool_limits
from torch.nn import functional as F

from ocad_lab import nets
from ocad_lab.data import DatasetUnavailable, gcn_l1, one_class_split
from ocad_lab.estimators import AutoencoderDetector, DeepSVDD

BATCH = 200
SIZES = {  # name -> (n_mnist, n_cifar, timed epochs, batch size)
    "full": (None, 5000, 4, BATCH),  # None = the whole normal class (5,923 images of MNIST '0')
    "quick": (2000, 2000, 2, BATCH),
    "tiny": (32, 32, 1, 16),  # 2 batches of random images (smoke test: no data set needed)
}


@dataclass
class Workload:
    """One benchmark row's data: uint8 images (N, C, H, W) and the min-max constants after GCN-L1."""

    name: str
    images: np.ndarray
    lo: float
    hi: float
    source: str

    def preprocessed(self) -> np.ndarray:
        """GCN-L1 + min-max once, as the kit does (float32, (N, C, H, W))."""
        return ((gcn_l1(self.images.astype(np.float32) / 255.0) - self.lo) / (self.hi - self.lo)).astype(np.float32)


def _random_images(n, shape, seed=0) -> np.ndarray:
    """Random uint8 images of ``shape`` (stand-in when the real data set is not available)."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def _workload_from_images(name, images, source) -> Workload:
    """Wrap uint8 images; min-max constants from their GCN-L1 values."""
    g = gcn_l1(images.astype(np.float32) / 255.0)
    return Workload(name, images, float(g.min()), float(g.max()), source)


def mnist_workload(n=None, normal_class=0) -> Workload:
    """MNIST class ``normal_class`` training images as uint8 (random images of MNIST's shape if unavailable)."""
    try:
        split = one_class_split("mnist", normal_class, preprocess=False, n_train=n)
    except DatasetUnavailable:
        return _workload_from_images("mnist", _random_images(n or 6000, (1, 28, 28)),
                                     "random 1x28x28 (full MNIST not found)")
    images = np.rint(split.X_train * 255.0).astype(np.uint8)
    return _workload_from_images("mnist", images, f"MNIST class {normal_class}")


def cifar_workload(n=5000) -> Workload:
    """Random uint8 images of CIFAR-10's shape (3, 32, 32): CIFAR-10 itself is not available offline."""
    return _workload_from_images("cifar10", _random_images(n, (3, 32, 32)), "random 3x32x32 (CIFAR-10 offline)")


# ----------------------------------------------------------------------------------------------------------------
# reference-style training path: the public Deep SVDD code's networks, fed by a per-sample Dataset + DataLoader
# ----------------------------------------------------------------------------------------------------------------
try:  # the reference code's own image pipeline; optional (the kit never needs torchvision)
    from torchvision import transforms as tv_transforms
    import torchvision as _tv

    TORCHVISION = _tv.__version__
except Exception:  # not installed, or unusable beside this torch build ("operator torchvision::nms does not exist")
    tv_transforms, TORCHVISION = None, None


def gcn_l1_tensor(x: torch.Tensor) -> torch.Tensor:
    """Global contrast normalisation (L1) of one image tensor, the per-sample way the reference code applies it."""
    x = x - torch.mean(x)
    return x / torch.mean(torch.abs(x))


class EmulatedToTensorNormalize:
    """What ``Compose([ToTensor(), Lambda(gcn_l1), Normalize(lo, hi - lo)])`` computes, written without torchvision.

    Leaner than torchvision (none of its type checks and per-call tensor constructions), so speed-ups measured
    against it are a lower bound of those against the real reference pipeline.
    """

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def __call__(self, img: Image.Image) -> torch.Tensor:
        a = np.array(img, dtype=np.uint8, copy=True)  # ToTensor: copy the PIL buffer ...
        a = a[:, :, None] if a.ndim == 2 else a
        x = torch.from_numpy(a).permute(2, 0, 1).contiguous().float().div(255.0)  # ... channels first, in [0, 1]
        return (gcn_l1_tensor(x) - self.lo) / (self.hi - self.lo)  # GCN-L1, then Normalize(lo, hi - lo)


def reference_transform(lo: float, hi: float, channels: int):
    """The reference code's per-image transform: torchvision's when importable, else the emulation."""
    if tv_transforms is None:
        return EmulatedToTensorNormalize(lo, hi)
    return tv_transforms.Compose([tv_transforms.ToTensor(), tv_transforms.Lambda(gcn_l1_tensor),
                                  tv_transforms.Normalize([lo] * channels, [hi - lo] * channels)])


def reference_pipeline() -> str:
    """Which per-image transform the reference column uses."""
    return f"torchvision {TORCHVISION}" if TORCHVISION else "emulated (no torchvision)"


class PerSampleImages(torch.utils.data.Dataset):
    """Yields (image, target, index), converting and normalising the stored uint8 image on every access.

    As the public reference code does it on top of torchvision's data sets: images stored as uint8, (N, H, W) for
    grey and (N, H, W, C) for colour; labels stored as torchvision stores them (a tensor for MNIST, a list of ints
    for CIFAR-10). Each access builds a PIL image, runs the transform (ToTensor, GCN-L1, min-max ``Normalize``) and
    the reference's target transform ``int(y in outlier_classes)`` (for MNIST, ``y`` is a 0-d tensor, so that test
    compares a tensor with each of the nine outlier classes), and returns the index too. All images here belong to
    the normal class 0; the training set is a ``Subset`` of them, as in the reference.
    """

    def __init__(self, images: np.ndarray, lo: float, hi: float, normal_class: int = 0):
        imgs = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
        self.images = torch.from_numpy(np.ascontiguousarray(imgs))
        grey = self.images.ndim == 3
        labels = [normal_class] * len(imgs)
        self.targets = torch.tensor(labels) if grey else labels
        self.mode = "L" if grey else "RGB"
        self.transform = reference_transform(lo, hi, images.shape[1])
        self.outlier_classes = [k for k in range(10) if k != normal_class]
        self.target_transform = lambda y: int(y in self.outlier_classes)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img, target = self.images[i], self.targets[i]
        img = Image.fromarray(img.numpy(), mode=self.mode)  # uint8 -> PIL image, every access
        return self.transform(img), self.target_transform(target), i


class ReferenceMnistDecoder(nn.Module):
    """The public reference code's LeNet-MNIST DCAE decoder (layer sizes as published; written here).

    The 32-d code is read as 2 x 4 x 4; then three times nearest 2x upsampling followed by a 5x5 transposed
    convolution at the upsampled size (channels 2 -> 4 -> 8 -> 1, sizes 8 -> 14 -> 28), BatchNorm without
    affine parameters and leaky ReLU in between, and a sigmoid at the end. The kit's :class:`ocad_lab.nets.ConvDecoder`
    instead upsamples with stride-2 transposed convolutions computed at the low resolution.
    """

    def __init__(self, slope=0.1):
        super().__init__()
        self.slope = slope
        self.deconv1 = nn.ConvTranspose2d(2, 4, 5, bias=False, padding=2)
        self.bn1 = nn.BatchNorm2d(4, eps=1e-4, affine=False)
        self.deconv2 = nn.ConvTranspose2d(4, 8, 5, bias=False, padding=3)
        self.bn2 = nn.BatchNorm2d(8, eps=1e-4, affine=False)
        self.deconv3 = nn.ConvTranspose2d(8, 1, 5, bias=False, padding=2)

    def forward(self, z):
        """(N, 32) -> (N, 1, 28, 28)."""
        x = F.interpolate(F.leaky_relu(z.view(-1, 2, 4, 4), self.slope), scale_factor=2)
        x = F.interpolate(F.leaky_relu(self.bn1(self.deconv1(x)), self.slope), scale_factor=2)
        x = F.interpolate(F.leaky_relu(self.bn2(self.deconv2(x)), self.slope), scale_factor=2)
        return torch.sigmoid(self.deconv3(x))


def reference_net(kind: str, name: str, shape) -> nn.Module:
    """The reference code's net: the kit's LeNet encoder with the activation before the pooling (the reference's
    order; the kit pools first, which gives the same values) in the default memory layout, and for ``kind="ae"``
    the reference MNIST decoder."""
    enc = nets.build_encoder(name, shape)
    mods = list(enc.features)
    for i in range(0, len(mods), 4):  # conv, BN, pool, act -> conv, BN, act, pool
        mods[i + 2], mods[i + 3] = mods[i + 3], mods[i + 2]
    enc.features = nn.Sequential(*mods)
    enc.channels_last = False  # the reference computes in PyTorch's default (NCHW) layout
    if kind != "ae":
        return enc
    if name != "mnist":
        raise ValueError("the reference autoencoder is defined here for MNIST only")
    return nets.Autoencoder(enc, ReferenceMnistDecoder())


def _svdd_setup(encoder, X0):
    """Centre c = mean of an initial forward pass, as the kit (train-mode BatchNorm, |c_i| < 0.1 pushed out)."""
    with torch.no_grad():
        encoder.train()
        c = encoder(X0).mean(0)
        c[(c.abs() < 0.1) & (c < 0)] = -0.1
        c[(c.abs() < 0.1) & (c >= 0)] = 0.1
    return c


def reference_style_seconds(kind: str, work: Workload, num_epochs: int, batch_size: int = BATCH, seed=0,
                            net: str = "reference"):
    """Seconds per epoch (warm-up epoch dropped) of the reference-style loop for ``kind`` in {"svdd", "ae"}.

    ``net="reference"`` trains the reference code's network (for the autoencoder: its decoder), ``net="kit"``
    the kit's network, so that the data path alone differs from the kit's column.
    """
    torch.manual_seed(seed)
    shape = work.images.shape[1:]
    name = "mnist" if shape == (1, 28, 28) else "cifar10"
    ds = PerSampleImages(work.images, work.lo, work.hi)
    train_set = torch.utils.data.Subset(ds, list(range(len(ds))))  # the normal class, as the reference indexes it
    loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True, num_workers=0)
    if net == "reference":
        model = reference_net(kind, name, shape)
    else:
        model = nets.build_autoencoder(name, shape) if kind == "ae" else nets.build_encoder(name, shape)
    if kind != "ae":
        c = _svdd_setup(model, torch.from_numpy(work.preprocessed()[: 4 * batch_size]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-6)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[num_epochs + 10], gamma=0.1)
    seconds = []
    for _ in range(num_epochs + 1):
        t0 = time.perf_counter()
        model.train()
        loss_epoch, n_batches = 0.0, 0
        for inputs, _targets, _idx in loader:
            opt.zero_grad()
            out = model(inputs)
            if kind == "ae":
                loss = torch.mean((out - inputs) ** 2)
            else:
                loss = torch.mean(torch.sum((out - c) ** 2, dim=1))
            loss.backward()
            opt.step()
            loss_epoch += loss.item()  # a host sync per batch, as the reference code does
            n_batches += 1
        sched.step()
        seconds.append(time.perf_counter() - t0)
    return _per_epoch(seconds)


def _per_epoch(seconds):
    """Median seconds per epoch without the first (warm-up) epoch when there is more than one."""
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


# ----------------------------------------------------------------------------------------------------------------
# the kit's training path
# ----------------------------------------------------------------------------------------------------------------
def kit_seconds(kind: str, work: Workload, num_epochs: int, batch_size: int = BATCH):
    """Seconds per epoch of the kit's estimator ``fit`` (``history_['seconds']``, warm-up epoch dropped)."""
    X = work.preprocessed()
    common = dict(num_epochs=num_epochs + 1, lr=1e-4, lr_milestones=(), batch_size=batch_size, verbose=0,
                  random_state=0, device="cpu")
    est = AutoencoderDetector(**common) if kind == "ae" else DeepSVDD(**common)
    est.fit(X)
    return _per_epoch([h["seconds"] for h in est.history_])


# ----------------------------------------------------------------------------------------------------------------
# candidate speed-ups (prototypes measured with --variants; not part of the kit)
# ----------------------------------------------------------------------------------------------------------------
def plain_loop_seconds(kind: str, work: Workload, num_epochs: int, batch_size: int = BATCH, channels_last=False,
                       compile_net=False, autocast_bf16=False, seed=0):
    """Seconds per epoch of a bare loop over index slices of a preprocessed tensor (no per-batch bookkeeping)."""
    torch.manual_seed(seed)
    shape = work.images.shape[1:]
    name = "mnist" if shape == (1, 28, 28) else "cifar10"
    X = torch.from_numpy(work.preprocessed())
    if kind == "ae":
        net = nets.build_autoencoder(name, shape)
    else:
        net = nets.build_encoder(name, shape)
        c = _svdd_setup(net, X[: 4 * batch_size])
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        X = X.contiguous(memory_format=torch.channels_last)
    fwd = torch.compile(net) if compile_net else net
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, weight_decay=1e-6)
    gen = torch.Generator().manual_seed(seed)
    seconds = []
    for _ in range(num_epochs + 1):
        t0 = time.perf_counter()
        net.train()
        total = torch.zeros(())
        perm = torch.randperm(len(X), generator=gen)
        for s in range(0, len(X), batch_size):
            xb = X[perm[s : s + batch_size]]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast_bf16):
                out = fwd(xb)
            out = out.float()
            err = ((out - xb) ** 2).flatten(1).mean(1) if kind == "ae" else ((out - c) ** 2).sum(1)
            loss = err.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
        float(total)  # one sync per epoch
        seconds.append(time.perf_counter() - t0)
    return _per_epoch(seconds)


# ----------------------------------------------------------------------------------------------------------------
# the table
# ----------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def limit_threads(threads=None):
    """Temporarily cap torch's intra-op threads and the BLAS/OpenMP pools (None: leave them alone).

    On a machine shared with other jobs, two spinning threads per pool can slow small nets down many times.
    """
    if not threads:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        with threadpool_limits(limits=int(threads)):
            yield
    finally:
        torch.set_num_threads(before)


def workloads(size="full"):
    """The three rows' (label, kind, workload) for a size in SIZES ("tiny" uses random MNIST-shaped images)."""
    n_mnist, n_cifar, _, _ = SIZES[size]
    if size == "tiny":
        mnist = _workload_from_images("mnist", _random_images(n_mnist, (1, 28, 28)), "random 1x28x28 (tiny)")
    else:
        mnist = mnist_workload(n_mnist)
    cifar = cifar_workload(n_cifar)
    return [
        ("LeNet-MNIST Deep SVDD", "svdd", mnist),
        ("LeNet-MNIST autoencoder", "ae", mnist),
        ("LeNet-CIFAR-10 Deep SVDD", "svdd", cifar),
    ]


def run(size="full", variants=False, num_epochs=None, threads=None, repeats=1) -> pd.DataFrame:
    """Time every row; return the table (one row per net, seconds per epoch, speed-up).

    ``threads``: torch intra-op threads for the run (restored afterwards); None keeps torch's setting.
    ``repeats``: time the whole table this many times (rows interleaved) and report each cell's median.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}.")
    if int(repeats) < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats!r}.")
    with limit_threads(threads):
        tables = [_run(size, variants, num_epochs) for _ in range(int(repeats))]
    if len(tables) == 1:
        return tables[0]
    table = tables[0].copy()
    timed = [col for col in table.columns if col.endswith("_s") or col.endswith("_s_per_epoch")]
    for col in timed:
        table[col] = np.median(np.stack([t[col].to_numpy() for t in tables]), axis=0)
    table["speed_up"] = table["reference_s_per_epoch"] / table["kit_s_per_epoch"]
    table["kit_images_per_s"] = table["n_images"] / table["kit_s_per_epoch"]
    table["speed_up_range"] = [f"{min(v):.2f}-{max(v):.2f}" for v in zip(*(t["speed_up"] for t in tables))]
    return table


def _run(size, variants, num_epochs):
    """The body of :func:`run`: one timing of every row."""
    _, _, default_epochs, batch_size = SIZES[size]
    num_epochs = default_epochs if num_epochs is None else int(num_epochs)
    rows = []
    for label, kind, work in workloads(size):
        ref = reference_style_seconds(kind, work, num_epochs, batch_size)
        ref_kit_net = reference_style_seconds(kind, work, num_epochs, batch_size, net="kit")
        kit = kit_seconds(kind, work, num_epochs, batch_size)
        row = {"net": label, "data": work.source, "n_images": len(work.images), "batch": batch_size,
               "reference_s_per_epoch": ref, "ref_loop_kit_net_s": ref_kit_net, "kit_s_per_epoch": kit,
               "speed_up": ref / kit, "kit_images_per_s": len(work.images) / kit}
        if variants:
            row["plain_slices_s"] = plain_loop_seconds(kind, work, num_epochs, batch_size)
            row["channels_last_s"] = plain_loop_seconds(kind, work, num_epochs, batch_size, channels_last=True)
            row["bf16_autocast_s"] = plain_loop_seconds(kind, work, num_epochs, batch_size, autocast_bf16=True)
        rows.append(row)
    return pd.DataFrame(rows)


def machine_line(threads=None) -> str:
    """torch version, threads, CPUs and the load average (timings are inflated when load > CPUs)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (f"torch {torch.__version__}, {threads or torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
            + ("  ** MACHINE BUSY: timings inflated **" if load[0] > (os.cpu_count() or 1) else ""))


def main(argv=None):
    """Command line: print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="2,000 images per row, 2 timed epochs")
    g.add_argument("--tiny", action="store_true", help="2 batches of 16, 1 timed epoch (smoke test)")
    p.add_argument("--epochs", type=int, default=None, help="timed epochs (one warm-up epoch is added)")
    p.add_argument("--variants", action="store_true", help="also time candidate speed-ups of a bare loop")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--repeats", type=int, default=1, help="time the table N times, report medians (default 1)")
    args = p.parse_args(argv)
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    print(machine_line(args.threads))
    print(f"reference pipeline: {reference_pipeline()}")
    table = run(size, variants=args.variants, num_epochs=args.epochs, threads=args.threads,
                repeats=args.repeats)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    main()
