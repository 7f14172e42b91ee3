"""One training loop for autoencoder pretraining, Deep SVDD and OC-NN.

Speed: the data set is a tensor already on the device; each epoch draws one ``torch.randperm`` and
batches are index slices of it (no per-sample DataLoader).  Per-epoch statistics are accumulated as
device tensors and copied to the host once per epoch (the history scalars only).
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

import torch
from tqdm.auto import tqdm

__all__ = ["COLLAPSE_SPREAD", "batch_bounds", "train_epochs", "predict_batched", "output_spread", "warn_if_collapsed"]

# Outputs whose spread (std across samples, averaged over dims) falls below this fraction of the
# spread at initialisation count as collapsed (Deep SVDD §3.3, "hypersphere collapse").
COLLAPSE_SPREAD = 1e-3


def output_spread(Z: torch.Tensor) -> float:
    """Std of the outputs across samples, averaged over output dimensions (the collapse diagnostic)."""
    Z = Z.detach().reshape(len(Z), -1).cpu().double()  # on the host: Apple MPS has no float64
    return float(Z.std(dim=0, unbiased=False).mean()) if len(Z) > 1 else 0.0


def warn_if_collapsed(spread: float, initial_spread: float, what: str = "network outputs") -> bool:
    """Issue a UserWarning (and return True) when ``spread`` is tiny compared with ``initial_spread``."""
    ref = max(float(initial_spread), 1e-12)
    if spread < COLLAPSE_SPREAD * ref or spread < 1e-8:
        warnings.warn(
            f"The {what} have collapsed: their spread across samples is {spread:.3g} "
            f"(it was {initial_spread:.3g} at initialisation). Every input maps to nearly the same point, "
            "so the scores carry no information. Check bias terms, bounded activations or a trainable/"
            "degenerate centre (Deep SVDD Props. 1-3), or lower the learning rate.",
            UserWarning,
            stacklevel=3,
        )
        return True
    return False


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of each minibatch; a lone leftover sample joins the previous batch (BatchNorm needs >= 2)."""
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2] = (bounds[-2][0], n)
        bounds.pop()
    return bounds


@torch.no_grad()
def predict_batched(fn: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, batch_size: int = 4096):
    """Apply ``fn`` to ``X`` in large batches without autograd; concatenate the results."""
    # no_grad rather than inference_mode: the outputs may feed later autograd graphs (frozen-encoder features)
    outs = [fn(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
    return torch.cat(outs) if outs else X.new_zeros((0,))


def train_epochs(
    X: torch.Tensor,
    batch_step: Callable[[torch.Tensor, torch.Tensor], tuple],
    optimizer: torch.optim.Optimizer,
    num_epochs: int,
    batch_size: int,
    generator: torch.Generator,
    scheduler=None,
    epoch_end: Callable[[int, dict], dict] | None = None,
    modules=(),
    verbose: int = 1,
    desc: str = "training",
) -> list[dict]:
    """Run ``num_epochs`` epochs of minibatch training and return the per-epoch history.

    Parameters
    ----------
    X : torch.Tensor
        The whole training set, already on the device.
    batch_step : callable (xb, idx) -> (loss, score, out)
        Computes the batch loss (a scalar tensor), the per-sample scores (for ``mean_score``; may be
        None) and the per-sample outputs (for ``spread``; may be None).  ``idx`` are the row indices.
    optimizer, scheduler
        A torch optimiser and optionally a learning-rate scheduler stepped once per epoch.
    num_epochs, batch_size : int
    generator : torch.Generator
        Source of the per-epoch permutation (CPU generator, for reproducibility across devices).
    epoch_end : callable (epoch, stats) -> dict, optional
        Called after each epoch with ``stats`` (keys ``scores``: the per-sample training scores of this
        epoch in index order, or None); returns entries to put in the history (e.g. ``r``) —
        it may also override ``mean_score`` or ``spread``.
    modules : iterable of nn.Module
        Put in train mode before each epoch (``epoch_end`` may switch them to eval).
    verbose : int
        0 = silent; otherwise a tqdm progress bar over epochs.
    desc : str
        Label of the progress bar.

    Returns
    -------
    list of dict
        One dict per epoch with keys ``epoch, loss, mean_score, spread, r, seconds``.
    """
    n = len(X)
    # Statistics are accumulated in float64, except on Apple MPS, which has no float64.
    acc = torch.float32 if X.device.type == "mps" else torch.float64
    history = []
    bar = tqdm(range(1, num_epochs + 1), desc=desc, disable=not verbose, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        for m in modules:
            m.train()
        perm = torch.randperm(n, generator=generator).to(X.device)
        loss_sum = torch.zeros((), device=X.device, dtype=acc)
        scores = None
        out_sum = out_sq = None
        for start, stop in batch_bounds(n, batch_size):
            idx = perm[start:stop]
            loss, score, out = batch_step(X[idx], idx)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss.detach().to(acc) * len(idx)
                if score is not None:
                    if scores is None:
                        scores = torch.zeros(n, device=X.device, dtype=acc)
                    scores[idx] = score.detach().to(acc)
                if out is not None:
                    o = out.detach().reshape(len(idx), -1).to(acc)
                    s, q = o.sum(0), (o * o).sum(0)
                    out_sum = s if out_sum is None else out_sum + s
                    out_sq = q if out_sq is None else out_sq + q
        if scheduler is not None:
            scheduler.step()
        row = {"epoch": epoch, "loss": float(loss_sum) / n, "mean_score": None, "spread": None, "r": None}
        if scores is not None:
            row["mean_score"] = float(scores.mean())
        if out_sum is not None:
            mean = out_sum / n
            var = torch.clamp(out_sq / n - mean * mean, min=0.0)
            row["spread"] = float(var.sqrt().mean())
        if epoch_end is not None:
            row.update(epoch_end(epoch, {"scores": scores}))
        row["seconds"] = time.perf_counter() - t0
        history.append(row)
        if verbose:
            bar.set_postfix(loss=f"{row['loss']:.4g}")
    bar.close()
    return history
