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
_FALSE = {"", "0", "false", "no", "off"}
#: The torch device types the kit runs on (``OCAD_DEVICE`` / ``device=`` accept these, with an index for CUDA).
DEVICE_TYPES = ("cpu", "cuda", "mps")


class SettingError(ValueError):
    """An environment switch (``OCAD_QUICK``, ``OCAD_OFFLINE``, ...) or a device choice the kit cannot use.

    The message names the setting, the value and the accepted values; ``ocad-lab`` prints it as one line.
    """


class DeviceUnavailable(SettingError, RuntimeError):
    """A valid device that this machine does not have (``"cuda"`` without CUDA); also a RuntimeError, as before."""


def env_flag(name, default=False):
    """Read an on/off environment switch such as ``OCAD_QUICK`` strictly.

    Accepted (any case): 1, true, yes, on / 0, false, no, off, or empty/unset (``default``). Anything else raises
    :class:`SettingError`, so that a typo such as ``OCAD_QUICK=banana`` is not silently "off".
    """
    raw = os.environ.get(name)
    if raw is None:
        return bool(default)
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False if value else bool(default)
    raise SettingError(
        f"{name}={raw!r} is not an on/off value: use {name}=1 (or true, yes, on) to turn it on, "
        f"{name}=0 (or false, no, off) or unset it to turn it off."
    )


#: The on/off environment switches of the kit (read strictly by :func:`env_flag`).
ENV_SWITCHES = ("OCAD_QUICK", "OCAD_OFFLINE")


def check_environment():
    """Validate every OCAD_* switch now (the ``ocad-lab`` command does this first): a SettingError names the bad one."""
    for name in ENV_SWITCHES:
        env_flag(name)
    if os.environ.get("OCAD_DEVICE", "").strip().lower() not in ("", "auto"):
        get_device()


def is_quick() -> bool:
    """Return True when quick mode is on (``OCAD_QUICK=1``; the tests and CI set it).

    Raises :class:`SettingError` for a value that is neither on nor off (e.g. ``OCAD_QUICK=banana``).
    """
    return env_flag("OCAD_QUICK")


def pick(quick, full):
    """Return ``quick`` in quick mode and ``full`` otherwise, keeping the choice visible in a cell."""
    return quick if is_quick() else full


def _parse_device(choice, source):
    """Turn a device string into a torch.device of a type the kit supports, else raise SettingError."""
    import torch

    text = str(choice).strip()
    hint = "use 'cpu', 'cuda', 'cuda:N' or 'mps', or 'auto' (or unset OCAD_DEVICE) to pick automatically"
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError, TypeError):
        raise SettingError(f"Unknown device {text!r} ({source}); {hint}.") from None
    if dev.type not in DEVICE_TYPES:
        raise SettingError(f"Device {text!r} ({source}) cannot train or score here (the kit runs on "
                           f"{', '.join(DEVICE_TYPES)}); {hint}.")
    return dev


def get_device(device=None):
    """Choose a torch device: ``device`` if given, else ``OCAD_DEVICE``, else CUDA, then Apple MPS, then CPU.

    This is the one place a device is validated: an unknown name (``"nonsense"``), a type the kit cannot compute on
    (``"meta"``), or a device that is not on this machine (``"cuda"`` without CUDA, ``"cuda:3"`` with one GPU) raises
    :class:`SettingError` (a ValueError) naming the setting and what to use instead.
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    source = "the device argument" if device is not None else "OCAD_DEVICE"
    choice = device if device is not None else os.environ.get("OCAD_DEVICE")
    if choice is not None and str(choice).strip().lower() not in ("", "auto"):
        dev = _parse_device(choice, source)
        fix = "unset OCAD_DEVICE or use 'cpu'" if source == "OCAD_DEVICE" else "use device='cpu' or None (automatic)"
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise DeviceUnavailable(f"Device {str(choice)!r} was requested ({source}) but CUDA is not available "
                                   f"here; {fix}.")
            if dev.index is not None and dev.index >= torch.cuda.device_count():
                raise DeviceUnavailable(f"Device {str(choice)!r} was requested ({source}) but this machine has "
                                   f"{torch.cuda.device_count()} CUDA device(s) (cuda:0 ...); {fix}.")
        if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise DeviceUnavailable(f"Device {str(choice)!r} was requested ({source}) but Apple MPS is not available "
                               f"here; {fix}.")
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
