"""Start JupyterLab and headless Chromium for the browser test, and always stop them again by PID.

Nothing here touches the repository: the server serves a temporary folder holding copies of the notebooks, with its
own settings, workspace, runtime and IPython folders, and Chromium runs with a fresh profile.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]


class StepError(AssertionError):
    """A named step of the browser test failed or hung; the message says which one."""


@contextlib.contextmanager
def step(name: str, seconds: float, on_fail=None):
    """Run one named step; any failure (Playwright timeout included) is re-raised naming the step and its limit."""
    t0 = time.monotonic()
    try:
        yield
    except StepError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with the step's name
        if on_fail is not None:
            with contextlib.suppress(Exception):
                on_fail(name)
        took = time.monotonic() - t0
        raise StepError(f"step '{name}' failed after {took:.1f} s (limit {seconds:.0f} s): "
                        f"{type(exc).__name__}: {exc}") from exc


def wait_until(predicate, seconds: float, what: str, interval: float = 0.25):
    """Poll ``predicate()`` until it returns a truthy value; raise TimeoutError saying what never happened."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{what} did not happen within {seconds:.0f} s (last state: {last!r})")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """PIDs of all live descendants of ``pid`` (Linux /proc walk; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after the parenthesised command name
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): read its state.
    with contextlib.suppress(OSError):
        if (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def stop_process_tree(proc: subprocess.Popen | None, grace: float = 10.0) -> None:
    """SIGTERM the process group, wait ``grace`` seconds, then SIGKILL the group and every descendant by PID."""
    if proc is None:
        return
    # Collected first: kernels run in sessions of their own and are re-parented once the server is gone.
    pids = set(descendants(proc.pid))
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in sorted(pids):
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


class JupyterLabServer:
    """A ``jupyter lab`` on 127.0.0.1 at a free port, with a token, serving ``root_dir`` and nothing else."""

    def __init__(self, root_dir: Path, state_dir: Path, log_path: Path, env: dict | None = None):
        self.root_dir, self.state_dir, self.log_path = Path(root_dir), Path(state_dir), Path(log_path)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.extra_env = env or {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """URL of ``path`` under the server, with the token."""
        return f"{self.base_url}/{path.lstrip('/')}?token={self.token}"

    def start(self, timeout: float = 60.0) -> None:
        """Launch the server and wait until its REST API answers."""
        settings = self.state_dir / "lab-settings"
        # Render every cell (no virtual scrolling), no news or update pop-ups: the page shows the whole notebook.
        _write_json(settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings", {"windowingMode": "none"})
        _write_json(settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                    {"fetchNews": "false", "checkForUpdates": False})
        env = dict(os.environ)
        env.update({
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.state_dir / "lab-workspaces"),
            "JUPYTER_RUNTIME_DIR": str(self.state_dir / "runtime"),
            "IPYTHONDIR": str(self.state_dir / "ipython"),
            "JUPYTER_CONFIG_DIR": str(self.state_dir / "config"),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: read kernel status and cell outputs exactly
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until(ready, timeout, "jupyter lab answering on /api/status")

    def log_tail(self, n: int = 3000) -> str:
        """The end of the server log."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-n:]
        return ""

    def shutdown_kernels(self) -> None:
        """Ask the server to stop every kernel it started (so none outlives it)."""
        with contextlib.suppress(Exception):
            with urllib.request.urlopen(self.url("api/kernels"), timeout=5) as r:
                kernels = json.load(r)
            for k in kernels:
                req = urllib.request.Request(self.url(f"api/kernels/{k['id']}"), method="DELETE")
                with contextlib.suppress(Exception):
                    urllib.request.urlopen(req, timeout=10).close()

    def stop(self) -> None:
        """Stop kernels, then the server and everything it started, by PID."""
        if self.proc is not None and self.proc.poll() is None:
            self.shutdown_kernels()
        stop_process_tree(self.proc)
        if self._log is not None:
            self._log.close()


class Chromium:
    """Debian's Chromium, headless, started by us (so we hold its PID) and driven over CDP by Playwright."""

    def __init__(self, profile_dir: Path, log_path: Path, executable: str = CHROMIUM):
        self.profile_dir, self.log_path, self.executable = Path(profile_dir), Path(log_path), executable
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.cdp_port: int | None = None

    def start(self, timeout: float = 30.0) -> str:
        """Launch Chromium with a fresh profile and return its CDP endpoint URL."""
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        port_file = self.profile_dir / "DevToolsActivePort"
        cmd = [self.executable, *CHROMIUM_ARGS, f"--user-data-dir={self.profile_dir}",
               "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError, ValueError, IndexError):
                return int(port_file.read_text().splitlines()[0])
            return None

        self.cdp_port = wait_until(ready, timeout, "chromium writing DevToolsActivePort")
        return f"http://127.0.0.1:{self.cdp_port}"

    def stop(self) -> None:
        """Kill Chromium and all its helper processes by PID."""
        stop_process_tree(self.proc, grace=5.0)
        if self._log is not None:
            self._log.close()
