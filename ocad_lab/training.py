"""One training loop for autoencoder pretraining, Deep SVDD and OC-NN.

Speed: the data set is a tensor already on the device; each epoch draws one ``torch.randperm`` and
batches are index slices of it (no per-sample DataLoader).  Per-epoch statistics are accumulated as
device tensors and copied to the host once per epoch (the history scalars only).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Callable

import torch
from tqdm.auto import tqdm

__all__ = ["COLLAPSE_SPREAD", "DIVERGENCE_FACTOR", "TrainingDiverged", "check_diverged", "batch_bounds", "train_epochs",
           "predict_batched", "output_spread", "warn_if_collapsed"]

# Outputs whose spread (std across samples, averaged over dims) falls below this fraction of the
# spread at initialisation count as collapsed (Deep SVDD §3.3, "hypersphere collapse").
COLLAPSE_SPREAD = 1e-3

# Every objective trained here (reconstruction error, Deep SVDD Eqs. (3)-(4), OC-NN Eq. (4)) is non-negative and
# minimised. An epoch whose mean loss exceeds this factor times the loss of the untrained model (the first batch,
# before any update) has diverged: a sane learning rate lowers the loss, or raises it a few-fold while r or R move.
# Measured on 6-d Gaussians: Deep SVDD lr=1 gives about 460x, lr=1e3 about 5e8x; lr <= 0.1 at most 4x.
DIVERGENCE_FACTOR = 100.0


class TrainingDiverged(RuntimeError):
    """Training stopped: the loss or the outputs became non-finite, or the loss grew by orders of magnitude.

    Attributes
    ----------
    epoch : int
        The epoch at which it was detected.
    loss : float
        That epoch's mean training loss (may be NaN or inf).
    """

    def __init__(self, message, epoch=None, loss=None):
        super().__init__(message)
        self.epoch = epoch
        self.loss = loss


def _settings_hint(optimizer, lr_name) -> str:
    """'lower lr (now 1), e.g. to 0.1' plus weight decay when it is used."""
    group = optimizer.param_groups[0] if optimizer is not None and optimizer.param_groups else {}
    lr = group.get("lr")
    wd = max((g.get("weight_decay", 0.0) or 0.0) for g in optimizer.param_groups) if group else 0.0
    hint = f"Lower the learning rate {lr_name}" + (f" (now {lr:g}), e.g. to {lr / 10:g} or less" if lr else "")
    if wd:
        hint += f", and check weight_decay (now {wd:g})"
    return hint + "; scale the inputs to [0, 1] (ocad_lab.data.preprocess) if they are raw values."


def check_diverged(loss, initial_loss, epoch, *, desc="training", optimizer=None, lr_name="lr", outputs_finite=True):
    """Raise :class:`TrainingDiverged` when ``loss`` is non-finite or > DIVERGENCE_FACTOR x ``initial_loss``."""
    hint = _settings_hint(optimizer, lr_name)
    if not math.isfinite(loss) or not outputs_finite:
        what = "training loss" if not math.isfinite(loss) else "network outputs"
        raise TrainingDiverged(
            f"{desc} diverged at epoch {epoch}: the {what} became NaN or infinite (loss {loss:.3g}), so the "
            f"weights overflowed and every score would be NaN. {hint}", epoch=epoch, loss=loss)
    if initial_loss is not None and initial_loss > 1e-12 and loss > DIVERGENCE_FACTOR * initial_loss:
        raise TrainingDiverged(
            f"{desc} diverged at epoch {epoch}: the mean training loss {loss:.3g} is {loss / initial_loss:.3g} times "
            f"the loss of the untrained model ({initial_loss:.3g}); a loss being minimised does not grow by "
            f"orders of magnitude unless the steps are far too large, and the scores would be meaningless. {hint}",
            epoch=epoch, loss=loss)


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
def predict_batched(fn: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, batch_size: int = 256,
                    pad: bool = True):
    """Apply ``fn`` to ``X`` in batches of exactly ``batch_size`` rows without autograd; concatenate the results.

    With ``pad=True`` (default) the last batch is padded with zero rows (their outputs are dropped), so ``fn``
    always sees the same batch shape: then a sample's output does not depend on how many samples are scored with
    it. (Float32 matrix kernels pick their blocking by batch size; unpadded, scoring 1 or 3 rows instead of 40
    changed outputs by about 1e-7, which can flip ``predict`` for a point on a threshold.) ``fn`` must treat
    rows independently (modules in eval mode).
    """
    # no_grad rather than inference_mode: the outputs may feed later autograd graphs (frozen-encoder features)
    outs = []
    for i in range(0, len(X), batch_size):
        xb = X[i : i + batch_size]
        n = len(xb)
        if pad and n < batch_size and len(X) > 0:
            xb = torch.cat([xb, xb.new_zeros((batch_size - n,) + tuple(xb.shape[1:]))])
        outs.append(fn(xb)[:n])
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
    lr_name: str = "lr",
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
        Label of the progress bar (and of error messages).
    lr_name : str
        Name of the learning-rate setting, for the divergence message (e.g. ``"ae_lr"``).

    Raises
    ------
    TrainingDiverged
        After an epoch whose loss or outputs are not finite, or whose mean loss exceeds ``DIVERGENCE_FACTOR``
        times the first batch's loss (the untrained model's), saying which epoch and which setting to change.

    Returns
    -------
    list of dict
        One dict per epoch with keys ``epoch, loss, mean_score, spread, r, seconds``.
    """
    n = len(X)
    # Statistics are accumulated in float64, except on Apple MPS, which has no float64.
    acc = torch.float32 if X.device.type == "mps" else torch.float64
    history = []
    initial_loss = None
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
            if initial_loss is None:
                initial_loss = abs(float(loss.detach()))  # the untrained model's loss (one sync, once)
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
        outputs_finite = all(t is None or bool(torch.isfinite(t).all()) for t in (out_sum, out_sq, scores))
        if not outputs_finite or not math.isfinite(float(loss_sum)) or float(loss_sum) / n > DIVERGENCE_FACTOR * (
                initial_loss or math.inf):
            bar.close()
            check_diverged(float(loss_sum) / n, initial_loss, epoch, desc=desc, optimizer=optimizer, lr_name=lr_name,
                           outputs_finite=outputs_finite)
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
