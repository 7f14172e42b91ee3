"""Run-wide settings: quick mode, device choice, seeding and the data cache directory.

Everything here reads environment variables at call time, so a notebook (or a test) can change
``OCAD_QUICK``, ``OCAD_DEVICE`` or ``OCAD_DATA_DIR`` and the next call follows.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

_TRUE = {"1", "true", "yes", "on"}


def is_quick() -> bool:
    """Return True when quick mode is on (``OCAD_QUICK=1``; the tests and CI set it)."""
    return os.environ.get("OCAD_QUICK", "0").strip().lower() in _TRUE


def pick(quick, full):
    """Return ``quick`` in quick mode and ``full`` otherwise, keeping the choice visible in a cell."""
    return quick if is_quick() else full


def get_device(device=None):
    """Choose a torch device: ``device`` if given, else ``OCAD_DEVICE``, else CUDA, then Apple MPS, then CPU."""
    import torch

    choice = device if device is not None else os.environ.get("OCAD_DEVICE")
    if choice is not None and str(choice).strip() not in ("", "auto"):
        dev = torch.device(str(choice).strip())
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"Device {choice!r} was requested (argument or OCAD_DEVICE) but CUDA is not available here. "
                "Unset OCAD_DEVICE or use 'cpu'."
            )
        if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RuntimeError(
                f"Device {choice!r} was requested but Apple MPS is not available here. Unset OCAD_DEVICE or use 'cpu'."
            )
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_seed(seed: int | None) -> None:
    """Seed Python's ``random``, NumPy and torch (all devices) with one integer; ``None`` does nothing."""
    if seed is None:
        return
    import torch

    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def data_dir() -> Path:
    """Return the data cache directory: ``OCAD_DATA_DIR`` if set, else the OS cache folder for ocad_lab."""
    env = os.environ.get("OCAD_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("ocad_lab"))


# Thread cap set by limit_threads (None = no cap): shallow searches take it as their joblib n_jobs.
_THREAD_LIMIT = None


def thread_budget() -> int:
    """The number of cores this process may use: the innermost :func:`limit_threads` cap, else all CPU cores."""
    return int(_THREAD_LIMIT) if _THREAD_LIMIT is not None else max(1, os.cpu_count() or 1)


class limit_threads:
    """Cap every thread pool of this process at ``n`` threads inside a ``with`` block (or until ``undo()``).

    One switch for every estimator: torch's intra-op threads (``torch.set_num_threads``), the BLAS/OpenMP pools
    of NumPy, SciPy and scikit-learn (threadpoolctl), and the ``n_jobs`` that the kit's shallow searches use
    (:func:`thread_budget`). ``ocad-lab reproduce --threads N`` runs inside it. Same seed -> same scores on the
    CPU holds at a fixed thread count, so fixing it here also fixes that.

    Parameters
    ----------
    n : int >= 1

    Examples
    --------
    >>> from ocad_lab.config import limit_threads
    >>> with limit_threads(2):
    ...     pass  # est.fit(X) here uses at most 2 threads per pool
    """

    def __init__(self, n):
        import numbers

        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"limit_threads needs a whole number of threads >= 1, got {n!r}.")
        import torch
        from threadpoolctl import threadpool_limits

        global _THREAD_LIMIT
        self.n = int(n)
        self._torch_before, self._budget_before = torch.get_num_threads(), _THREAD_LIMIT
        self._pools = threadpool_limits(limits=self.n)
        torch.set_num_threads(self.n)
        _THREAD_LIMIT = self.n

    def undo(self):
        """Restore the thread settings from before."""
        import torch

        global _THREAD_LIMIT
        self._pools.restore_original_limits()
        torch.set_num_threads(self._torch_before)
        _THREAD_LIMIT = self._budget_before

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.undo()
        return False
