"""Seconds per training epoch: the kit's training path against a reference-style per-sample DataLoader loop.

Usage::

    OCAD_MNIST_DIR=/path/to/mnist python benchmarks/bench_training.py            # paper sizes (~5-10 min on 2 cores)
    python benchmarks/bench_training.py --quick                                  # 2,000 images, ~1-2 min
    python benchmarks/bench_training.py --variants                               # also time candidate speed-ups
    python benchmarks/bench_training.py --tiny                                   # 2 small batches (smoke test)

Rows (batch 200, Adam, the kit's bias-free LeNet nets in both columns, so only the *training path* differs):

* LeNet-MNIST Deep SVDD (one-class objective) on MNIST class 0 (5,923 training images);
* its convolutional autoencoder (DCAE, mean squared reconstruction error), same data;
* LeNet-CIFAR-10 Deep SVDD on 5,000 *random* uint8 images of CIFAR's shape (CIFAR-10 is not available
  offline; the cost per epoch depends only on the shape).

Columns: ``reference`` = a per-sample ``torch.utils.data.Dataset`` whose ``__getitem__`` turns the uint8 image
into a float tensor and applies GCN-L1 + min-max every time, fed through a ``DataLoader`` (batch 200, shuffle,
``num_workers=0``), with the loss accumulated via ``.item()`` per batch -- the way the public Deep SVDD code
trains.  ``kit`` = :class:`ocad_lab.estimators.DeepSVDD` / :class:`AutoencoderDetector` ``fit`` with a fixed
number of epochs; the time per epoch is the median of ``history_[i]["seconds"]`` without the first (warm-up)
epoch.  ``speed-up`` = reference seconds / kit seconds (= the throughput ratio).

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
# reference-style training path: per-sample Dataset + DataLoader, preprocessing in __getitem__ every epoch
# ----------------------------------------------------------------------------------------------------------------
class PerSampleImages(torch.utils.data.Dataset):
    """Yields one preprocessed image (and its index) at a time, converting and normalising on every access.

    As the public reference code does it: each access turns the stored uint8 image into a PIL image, converts it to a
    float tensor in [0, 1] (what torchvision's ``ToTensor`` does: copy the PIL buffer, move channels first, divide by
    255), applies global contrast normalisation (L1) and then ``Normalize(lo, hi - lo)``. Written here without
    torchvision, which is not a dependency of the kit.
    """

    def __init__(self, images: np.ndarray, lo: float, hi: float):
        # stored as the reference stores them: (N, H, W) for grey images, (N, H, W, C) for colour images
        imgs = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
        self.images, self.lo, self.hi = np.ascontiguousarray(imgs), lo, hi
        self.mode = "L" if self.images.ndim == 3 else "RGB"

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i], mode=self.mode)  # uint8 -> PIL image, every access
        a = np.array(img, dtype=np.uint8, copy=True)  # ToTensor: copy the PIL buffer ...
        a = a[:, :, None] if a.ndim == 2 else a
        x = torch.from_numpy(a).permute(2, 0, 1).contiguous().float().div(255.0)  # ... channels first, in [0, 1]
        x = x - x.mean()
        x = x / x.abs().mean()  # global contrast normalisation, L1
        x = (x - self.lo) / (self.hi - self.lo)  # Normalize with the training-normal min-max constants
        return x, i


def _svdd_setup(encoder, X0):
    """Centre c = mean of an initial forward pass, as the kit (train-mode BatchNorm, |c_i| < 0.1 pushed out)."""
    with torch.no_grad():
        encoder.train()
        c = encoder(X0).mean(0)
        c[(c.abs() < 0.1) & (c < 0)] = -0.1
        c[(c.abs() < 0.1) & (c >= 0)] = 0.1
    return c


def reference_style_seconds(kind: str, work: Workload, num_epochs: int, batch_size: int = BATCH, seed=0):
    """Seconds per epoch (warm-up epoch dropped) of the reference-style loop for ``kind`` in {"svdd", "ae"}."""
    torch.manual_seed(seed)
    shape = work.images.shape[1:]
    name = "mnist" if shape == (1, 28, 28) else "cifar10"
    ds = PerSampleImages(work.images, work.lo, work.hi)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=0)
    if kind == "ae":
        net = nets.build_autoencoder(name, shape)
    else:
        net = nets.build_encoder(name, shape)
        c = _svdd_setup(net, torch.from_numpy(work.preprocessed()[: 4 * batch_size]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, weight_decay=1e-6)
    seconds = []
    for _ in range(num_epochs + 1):
        t0 = time.perf_counter()
        net.train()
        loss_epoch, n_batches = 0.0, 0
        for xb, _idx in loader:
            opt.zero_grad()
            out = net(xb)
            if kind == "ae":
                loss = ((out - xb) ** 2).sum(dim=tuple(range(1, out.dim()))).mean()
            else:
                loss = ((out - c) ** 2).sum(dim=1).mean()
            loss.backward()
            opt.step()
            loss_epoch += loss.item()  # a host sync per batch, as the reference code does
            n_batches += 1
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
class ConvTransposeDecoder(nn.Module):
    """The LeNet-MNIST decoder with 2x ConvTranspose2d upsampling instead of nearest interpolation + conv.

    Used only to time the alternative; sizes 7 -> 14 -> 28 for MNIST (even sizes only).
    """

    def __init__(self, encoder: nets.ConvEncoder):
        super().__init__()
        c_last, h, w = encoder.out_shape
        self.start_shape = (c_last, h, w)
        self.fc = nn.Linear(encoder.rep_dim, c_last * h * w, bias=False)
        convs = [m for m in encoder.features if isinstance(m, nn.Conv2d)][::-1]
        blocks = []
        for i, conv in enumerate(convs):
            last = i == len(convs) - 1
            layers = [nn.ConvTranspose2d(conv.out_channels, conv.in_channels, 4, stride=2, padding=1, bias=last)]
            if not last:
                layers += [nn.BatchNorm2d(conv.in_channels, eps=1e-4, affine=False), nn.LeakyReLU(0.1)]
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z):
        """(N, rep_dim) -> (N, C, H, W)."""
        return self.blocks(F.leaky_relu(self.fc(z).view(-1, *self.start_shape), 0.1))


def plain_loop_seconds(kind: str, work: Workload, num_epochs: int, batch_size: int = BATCH, decoder="interpolate",
                       channels_last=False, compile_net=False, seed=0):
    """Seconds per epoch of a bare loop over index slices of a preprocessed tensor (no per-batch bookkeeping)."""
    torch.manual_seed(seed)
    shape = work.images.shape[1:]
    name = "mnist" if shape == (1, 28, 28) else "cifar10"
    X = torch.from_numpy(work.preprocessed())
    if kind == "ae":
        net = nets.build_autoencoder(name, shape)
        if decoder == "convtranspose":
            net.decoder = ConvTransposeDecoder(net.encoder)
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
            out = fwd(xb)
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


def run(size="full", variants=False, num_epochs=None, threads=None) -> pd.DataFrame:
    """Time every row; return the table (one row per net, seconds per epoch, speed-up).

    ``threads``: torch intra-op threads for the run (restored afterwards); None keeps torch's setting.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}.")
    with limit_threads(threads):
        return _run(size, variants, num_epochs)


def _run(size, variants, num_epochs):
    """The body of :func:`run`."""
    _, _, default_epochs, batch_size = SIZES[size]
    num_epochs = default_epochs if num_epochs is None else int(num_epochs)
    rows = []
    for label, kind, work in workloads(size):
        ref = reference_style_seconds(kind, work, num_epochs, batch_size)
        kit = kit_seconds(kind, work, num_epochs, batch_size)
        row = {"net": label, "data": work.source, "n_images": len(work.images), "batch": batch_size,
               "reference_s_per_epoch": ref, "kit_s_per_epoch": kit, "speed_up": ref / kit,
               "kit_images_per_s": len(work.images) / kit}
        if variants:
            row["plain_slices_s"] = plain_loop_seconds(kind, work, num_epochs, batch_size)
            row["channels_last_s"] = plain_loop_seconds(kind, work, num_epochs, batch_size, channels_last=True)
            if kind == "ae" and work.images.shape[1:] == (1, 28, 28):
                row["convtranspose_decoder_s"] = plain_loop_seconds(kind, work, num_epochs, batch_size,
                                                                    decoder="convtranspose")
                row["convtranspose_channels_last_s"] = plain_loop_seconds(
                    kind, work, num_epochs, batch_size, decoder="convtranspose", channels_last=True)
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
    args = p.parse_args(argv)
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    print(machine_line(args.threads))
    table = run(size, variants=args.variants, num_epochs=args.epochs, threads=args.threads)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    main()
