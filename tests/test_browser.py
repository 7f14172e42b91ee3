"""The notebooks as a learner sees them: JupyterLab in headless Chromium, Run All, then move the nu slider.

nbval proves the cells run; it cannot see a widget that renders blank or a plot that never redraws. This test starts a
real ``jupyter lab`` (127.0.0.1, free port, token, a temporary root holding *copies* of the notebooks, OCAD_QUICK=1),
drives Debian's ``/usr/bin/chromium`` through Playwright over CDP (no browser download), and for each notebook:

1. runs all cells from the Run menu and waits until no cell is queued or running;
2. asserts that no cell shows an error, that every widget rendered, and that every code cell has an execution count.
   "An error" is any of: an ``error`` output in the notebook model; a rendered output with
   ``data-mime-type="application/vnd.jupyter.stderr"`` (stderr streams and error outputs, inside Output widgets too)
   whose text holds "Traceback" or a line starting with an exception name (``ValueError``, ``SyntaxError: ...``) --
   warnings on stderr are listed in the test output, not failed; a traceback the kernel sent while handling a widget
   message (shown only in JupyterLab's log console). "Not rendered" is: "Error displaying widget", a widget stuck at
   "Loading widget...", a widget output taking room without a visible view, or a widget shown as its text repr;
3. finds the slider whose description starts with ``nu`` or ``ν``, presses ArrowRight on its handle, and asserts that
   the plot image in that cell's output changed and that the printed fraction (see ``FRACTION``) changed, lies in
   [0, 1] and is within ``FRACTION_TOL`` of the new nu (Theorem 3.1: r is the nu-quantile of the scores, so the
   fraction of scores below r is nu up to one sample).

Screenshots, the server log and ``timings.json`` go to ``artifacts/browser/`` (or ``$OCAD_ARTIFACTS_DIR/browser``).
Missing Chromium or Playwright skips the test, except with ``CI=true`` where it fails. ``OCAD_BROWSER_NOTEBOOK_DIR``
points the test at another folder of notebooks (used to check the test itself on a deliberately broken copy).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from jupyterlab_driver import CHROMIUM, Chromium, JupyterLabServer, step, wait_until

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = Path(os.environ.get("OCAD_BROWSER_NOTEBOOK_DIR", REPO / "notebooks"))
ARTIFACTS = Path(os.environ.get("OCAD_ARTIFACTS_DIR", REPO / "artifacts")) / "browser"
NOTEBOOKS = ["02_quantile_theorem.ipynb", "04_oc_nn.ipynb"]

# The slider the test moves: its description starts with "nu" or "ν" (not "number", "nus", ...).
NU_DESCRIPTION = re.compile(r"^\s*(nu|ν)(?![A-Za-z])", re.IGNORECASE)
# The printed fraction, e.g. "fraction below r: 0.100" (02) or "fraction flagged 0.10" (04): a Label, HTML or printed
# text in the output of the cell holding the slider; the first number after the word "fraction".
FRACTION = re.compile(r"fraction\b[^0-9\n|]*?([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)", re.IGNORECASE)
# |fraction below r - nu| allowed after the move: one or two samples of a few hundred, plus rounding of the readout.
FRACTION_TOL = {"02_quantile_theorem.ipynb": 0.03, "04_oc_nn.ipynb": 0.05}
ARROW_PRESSES = 10

# Hard limits per step (seconds): a hang fails fast, naming the step. run_all matches the contract's budget of ~3 min
# per notebook in quick mode; the browser adds ~15 s per notebook (page load, kernel start, slider) on top.
LIMITS = {"server": 60, "chromium": 30, "open": 60, "run_all": 180, "slider": 45}

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

# What counts as an error shown in a cell (see the module docstring): a stderr/error output whose text holds a traceback or an
# exception line such as "ValueError: ..." or "SyntaxError: ..."; warnings ("UserWarning: ...") do not count.
_ERROR_TEXT = r"Traceback|^\s*[A-Za-z_.]*(Error|Exception|Interrupt)\b"


def _missing(reason: str):
    """Skip locally; fail under CI, which installs Chromium and Playwright."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: .ci/run installs it, so this is a set-up error)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving copies of the notebooks, and a Playwright browser on our own Chromium; stopped by PID."""
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the 'playwright' Python package is not installed (pip install -e '.[test]')")

    tmp = tmp_path_factory.mktemp("browser")
    root = tmp / "root"
    root.mkdir()
    for name in NOTEBOOKS:
        if (NOTEBOOK_DIR / name).exists():
            shutil.copy2(NOTEBOOK_DIR / name, root / name)  # the server sees copies only; the repo is never written
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    server = JupyterLabServer(root, tmp / "state", ARTIFACTS / "server.log", env={"OCAD_QUICK": "1"})
    chromium = Chromium(tmp / "chromium-profile", ARTIFACTS / "chromium.log")
    pw = browser = None
    t0 = time.monotonic()
    try:
        with step("start jupyter lab", LIMITS["server"]):
            server.start(timeout=LIMITS["server"])
        timings["server_start_s"] = round(time.monotonic() - t0, 1)
        with step("start chromium and connect over CDP", LIMITS["chromium"]):
            endpoint = chromium.start(timeout=LIMITS["chromium"])
            pw = sync_playwright().start()
            browser = pw.chromium.connect_over_cdp(endpoint, timeout=LIMITS["chromium"] * 1000)
        yield {"server": server, "browser": browser, "timings": timings}
    finally:
        if browser is not None:
            try:
                browser.close()
            except Exception:  # noqa: BLE001 - the PID kill below is the fallback
                pass
        chromium.stop()
        server.stop()
        if pw is not None:
            pw.stop()
        timings["total_s"] = round(time.monotonic() - t0, 1)
        (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2))


_JS_STATE = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  const ctx = w && w.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')).map(c => {
    const p = c.querySelector('.jp-InputPrompt');
    return p ? p.textContent.trim() : '';
  });
  return {kernel: kernel ? kernel.status : null, prompts: cells};
}"""

_JS_ERRORS = r"""(pattern) => {
  const re = new RegExp(pattern, 'm');
  const found = [];
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
  cells.forEach((cell, i) => {
    cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').forEach(o => {
      const t = o.innerText || o.textContent || '';
      if (re.test(t)) found.push({cell: i, kind: 'error output', text: t.slice(-1500)});
    });
    // ipywidgets' renderer is the output node itself and carries no data-mime-type attribute.
    cell.querySelectorAll('.jp-OutputArea-output:not([data-mime-type])').forEach(o => {
      // A widget closed on purpose (tqdm with leave=False) leaves an empty, zero-height output: not an error.
      // A widget that failed says "Error displaying widget", stays at "Loading widget...", or renders no view
      // although its output takes room on the page.
      const t = (o.innerText || '').trim();
      const view = o.querySelector(':scope > .jupyter-widgets');
      const r = view ? view.getBoundingClientRect() : null;
      const box = o.getBoundingClientRect();
      if (/Error displaying widget|Loading widget\.\.\./.test(t) ||
          (box.height > 20 && (!view || r.width * r.height === 0)))
        found.push({cell: i, kind: 'blank widget', text: t.slice(0, 500) || '(nothing rendered)'});
    });
    // No widget extension in the page: JupyterLab falls back to the widget's text repr, e.g. "VBox(children=(...".
    cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]').forEach(o => {
      const t = (o.innerText || '').trim();
      if (/^[A-Za-z]*(Box|Slider|Output|Label|Widget|Explorer|Tab|Accordion)\((children|value|description|layout)=/
          .test(t))
        found.push({cell: i, kind: 'widget shown as text (no widget manager)', text: t.slice(0, 300)});
    });
  });
  // The notebook model as well: an "error" output counts even if it scrolled out of view.
  const w = window.jupyterapp.shell.currentWidget;
  const model = w.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error')
        found.push({cell: i, kind: 'error output (model)', text: `${o.ename}: ${o.evalue}`});
    }
  }
  return found;
}"""

_JS_STDERR = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).flatMap((cell, i) =>
  Array.from(cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
    .map(o => ({cell: i, text: (o.innerText || '').slice(0, 300)})))"""

_JS_SLIDERS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).flatMap((cell, i) =>
  Array.from(cell.querySelectorAll('.widget-slider')).map((s, k) => ({
    cell: i, index: k, label: (s.querySelector('.widget-label') || {}).textContent || ''})))"""

_JS_WIDGET_STATE = """([i, k]) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[i];
  const out = cell.querySelector('.jp-Cell-outputWrapper');
  const slider = cell.querySelectorAll('.widget-slider')[k];
  const readout = slider.querySelector('.widget-readout');
  const handle = slider.querySelector('.noUi-handle');
  const clone = out.cloneNode(true);  // the cell's text without the slider readouts
  clone.querySelectorAll('.widget-readout, .widget-slider .widget-label').forEach(e => e.remove());
  return {
    images: Array.from(out.querySelectorAll('img')).map(e => e.src),
    canvases: out.querySelectorAll('canvas, svg.main-svg').length,
    text: clone.textContent,
    readout: readout ? (readout.textContent || readout.value || '').trim() : null,
    // noUiSlider rounds aria-valuenow/-valuemax to one decimal; aria-valuetext holds the full value.
    valuenow: handle ? (handle.getAttribute('aria-valuetext') || handle.getAttribute('aria-valuenow')) : null,
    max: handle ? handle.getAttribute('aria-valuemax') : null,
  };
}"""


# Records what the kernel sends on iopub that a learner may never see in a cell: errors and stderr raised while
# handling a widget message (a callback failing outside an Output widget) go to JupyterLab's log console only.
_JS_HOOK = """() => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  window.__ocadIopub = [];
  kernel.iopubMessage.connect((_, msg) => {
    const t = msg.header.msg_type, c = msg.content;
    const parent = msg.parent_header || {};
    if (t === 'error')
      window.__ocadIopub.push({parent: parent.msg_id, parent_type: parent.msg_type,
                               text: (c.traceback || []).join('\\n') || `${c.ename}: ${c.evalue}`});
    else if (t === 'stream' && c.name === 'stderr')
      window.__ocadIopub.push({parent: parent.msg_id, parent_type: parent.msg_type, text: c.text});
  });
}"""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _summary(text: str) -> str:
    """The exception line of a traceback first, then its last lines."""
    lines = [ln for ln in text.strip().splitlines() if re.search(_ERROR_TEXT, ln)]
    return f"{lines[-1].strip() if lines else ''}\n{text[-1200:]}"


def _kernel_errors(page) -> list[str]:
    """Tracebacks the kernel sent while handling widget messages (not cell executions), ANSI colours removed."""
    chunks: dict[str, list[str]] = {}
    for m in page.evaluate("() => window.__ocadIopub || []"):
        if m.get("parent_type") != "execute_request":  # cell outputs are checked in the page itself
            chunks.setdefault(m.get("parent") or "?", []).append(m["text"])
    texts = (_ANSI.sub("", "".join(c)) for c in chunks.values())
    return [t for t in texts if re.search(_ERROR_TEXT, t, re.MULTILINE)]


def _kernel_status(page):
    return page.evaluate(_JS_STATE)


def _shot(page, path: Path):
    """Screenshot of the page (best effort: a failing screenshot must not hide the real failure)."""
    try:
        page.screenshot(path=str(path))
    except Exception:  # noqa: BLE001
        pass


def _fraction(text: str) -> float | None:
    m = FRACTION.search(text or "")
    return float(m.group(1)) if m else None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_widgets_work_in_jupyterlab(lab, name):
    """Run All shows no error and no blank widget; moving nu redraws the plot and updates the printed fraction."""
    server, timings = lab["server"], lab["timings"]
    stem = Path(name).stem
    for old in ARTIFACTS.glob(f"{stem}_*"):  # no stale screenshot from an earlier run
        old.unlink()
    context = lab["browser"].new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    def on_fail(step_name):
        _shot(page, ARTIFACTS / f"{stem}_FAILED.png")

    try:
        t0 = time.monotonic()
        with step(f"open {name} and start its kernel", LIMITS["open"], on_fail):
            page.set_default_timeout(LIMITS["open"] * 1000)
            # A workspace of its own, so the notebook opened before is not restored into this page.
            page.goto(server.url(f"lab/workspaces/{stem}/tree/{name}"))
            page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
            wait_until(lambda: _kernel_status(page)["kernel"] == "idle", LIMITS["open"], "the kernel becoming idle")
            page.evaluate(_JS_HOOK)
        timings[f"{stem}_open_s"] = round(time.monotonic() - t0, 1)

        t0 = time.monotonic()
        with step(f"run all cells of {name}", LIMITS["run_all"], on_fail):
            page.set_default_timeout(20_000)
            page.click("li.lm-MenuBar-item:has-text('Run')")
            page.click(".lm-Menu-item:has-text('Run All Cells')")

            def finished():
                s = _kernel_status(page)
                queued = [i for i, p in enumerate(s["prompts"]) if "*" in p]
                counted = all(re.fullmatch(r"\[\d+\]:", p) for p in s["prompts"])
                errored = bool(page.evaluate(_JS_ERRORS, _ERROR_TEXT))
                if s["kernel"] == "idle" and not queued and (counted or errored):
                    return True
                done = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in s["prompts"])
                finished.state = (f"kernel {s['kernel']}; {done} of {len(s['prompts'])} code cells done; "
                                  f"queued or running (0-based among code cells): {queued}")
                return False

            # Run All returns at once; a brief idle between cells is not the end, so it must hold for 1 s.
            finished.state = ""
            try:
                wait_until(lambda: finished() and (time.sleep(1.0) or finished()), LIMITS["run_all"],
                           f"every cell of {name} finishing (kernel idle, no [*] prompt)", interval=0.5)
            except TimeoutError as exc:
                raise TimeoutError(f"{exc}; {finished.state}") from None
        timings[f"{stem}_run_all_s"] = round(time.monotonic() - t0, 1)
        _shot(page, ARTIFACTS / f"{stem}_after_run_all.png")

        errors = page.evaluate(_JS_ERRORS, _ERROR_TEXT)
        assert not errors, f"{name}: cells show errors or blank widgets after Run All:\n" + "\n".join(
            f"- cell {e['cell']} ({e['kind']}): {e['text']}" for e in errors)
        hidden = _kernel_errors(page)
        assert not hidden, (f"{name}: a widget callback raised during Run All (JupyterLab shows this only in its log "
                            "console):\n" + "\n".join(_summary(t) for t in hidden))
        prompts = _kernel_status(page)["prompts"]
        missing = [i for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p)]
        assert not missing, f"{name}: code cells {missing} have no execution count after Run All ({prompts})"
        stderr = page.evaluate(_JS_STDERR)
        if stderr:  # warnings are not failures, but a learner sees them: list them in the test output
            print(f"\n{name}: stderr shown in cells:\n" + "\n".join(f"- cell {s['cell']}: {s['text']}" for s in stderr))

        t0 = time.monotonic()
        with step(f"move the nu slider of {name}", LIMITS["slider"], on_fail):
            page.set_default_timeout(LIMITS["slider"] * 1000)
            sliders = page.evaluate(_JS_SLIDERS)
            nu_sliders = [s for s in sliders if NU_DESCRIPTION.match(s["label"])]
            assert nu_sliders, (f"{name}: no slider whose description starts with 'nu' or 'ν' "
                                f"(sliders found: {[s['label'] for s in sliders]})")
            where = [nu_sliders[0]["cell"], nu_sliders[0]["index"]]
            cell = page.locator(".jp-Notebook .jp-Cell").nth(where[0])
            output = cell.locator(".jp-Cell-outputWrapper")
            output.scroll_into_view_if_needed()
            before = page.evaluate(_JS_WIDGET_STATE, where)
            shot_before = output.screenshot(path=str(ARTIFACTS / f"{stem}_widget_before.png"))
            assert before["images"] or before["canvases"], (
                f"{name}: the cell holding the nu slider (cell {where[0]}) shows no plot image")
            frac_before = _fraction(before["text"])
            assert frac_before is not None, (
                f"{name}: the cell holding the nu slider prints no 'fraction ...: <number>' "
                f"(its text: {before['text'][:300]!r})")
            at_max = before["valuenow"] is not None and before["max"] is not None and \
                float(before["valuenow"]) >= float(before["max"]) - 0.05
            handle = cell.locator(".widget-slider").nth(where[1]).locator(".noUi-handle")
            handle.focus()
            for _ in range(ARROW_PRESSES):
                handle.press("ArrowLeft" if at_max else "ArrowRight")

            def followed():
                now = page.evaluate(_JS_WIDGET_STATE, where)
                redrawn = now["images"] != before["images"] if before["images"] else True
                return now["valuenow"] != before["valuenow"] and redrawn and now["text"] != before["text"]

            # Done when the plot and text followed and the kernel is idle for 1 s; given up early when the kernel has
            # been idle for 3 s with nothing changed (no update will come; the asserts below say what is missing).
            deadline, idle_since = time.monotonic() + LIMITS["slider"] - 5, None
            while time.monotonic() < deadline:
                idle = _kernel_status(page)["kernel"] == "idle"
                idle_since = (idle_since or time.monotonic()) if idle else None
                idle_for = time.monotonic() - idle_since if idle_since else 0.0
                if (followed() and idle_for >= 1.0) or idle_for >= 3.0:
                    break
                time.sleep(0.25)
            after = page.evaluate(_JS_WIDGET_STATE, where)
            shot_after = output.screenshot(path=str(ARTIFACTS / f"{stem}_widget_after.png"))
        timings[f"{stem}_slider_s"] = round(time.monotonic() - t0, 1)

        errors = page.evaluate(_JS_ERRORS, _ERROR_TEXT)
        assert not errors, f"{name}: moving nu made cells show errors:\n" + "\n".join(
            f"- cell {e['cell']} ({e['kind']}): {e['text']}" for e in errors)
        hidden = _kernel_errors(page)
        assert not hidden, (f"{name}: a widget callback raised (JupyterLab shows this only in its log console):\n"
                            + "\n".join(_summary(t) for t in hidden))
        assert after["valuenow"] != before["valuenow"], (
            f"{name}: the nu slider did not move on ArrowRight (value stays {before['valuenow']})")
        nu_before, nu_after = float(before["valuenow"]), float(after["valuenow"])
        if before["images"]:
            redrawn = after["images"] != before["images"]  # a bool: pytest's diff of two PNG data URLs is slow
            assert redrawn, (
                f"{name}: the plot did not redraw when nu went from {nu_before:.3g} to {nu_after:.3g} "
                f"(the <img> in the widget output is unchanged; see {stem}_widget_after.png): is the callback observing "
                f"'value', and does it draw into the Output widget?")
        else:
            assert shot_after != shot_before, f"{name}: the plot did not change when nu moved"
        frac_after = _fraction(after["text"])
        assert frac_after is not None, f"{name}: the printed fraction disappeared after moving nu: {after['text']!r}"
        assert frac_after != frac_before, (
            f"{name}: the printed fraction stayed {frac_before} when nu went from {nu_before:.3g} to {nu_after:.3g}")
        assert 0.0 <= frac_after <= 1.0, f"{name}: printed fraction {frac_after} is not in [0, 1]"
        tol = FRACTION_TOL[name] if name in FRACTION_TOL else 0.05
        assert abs(frac_after - nu_after) <= tol, (
            f"{name}: after moving nu to {nu_after:.3g}, the printed fraction is {frac_after}; "
            f"Theorem 3.1 says about nu (tolerance {tol})")
    finally:
        _shot(page, ARTIFACTS / f"{stem}_final.png")
        if console_errors:
            (ARTIFACTS / f"{stem}_console_errors.txt").write_text("\n".join(console_errors))
        context.close()
        server.shutdown_kernels()  # free the two cores for the next notebook
