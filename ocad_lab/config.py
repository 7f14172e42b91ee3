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
