"""Self-checking exercises: ``check("03.2", answer, **objects)`` says what is wrong and where to look.

Every exercise at the end of a notebook has three cells (the conventions ``ocad-lab student`` and nbgrader rely on):

1. a **prompt** (markdown, cell id ``ex-NN-K-prompt``);
2. a **solution** cell (code, id ``ex-NN-K-solution``, nbgrader ``solution: true``) whose first line assigns
   ``None`` to the answer variable, then the reference solution between ``### BEGIN SOLUTION`` and
   ``### END SOLUTION`` (the student copy keeps the first line and replaces the region by
   ``# YOUR CODE HERE`` / ``raise NotImplementedError()``);
3. a **check** cell (code, id ``ex-NN-K-check``, nbgrader ``grade: true, locked: true``) calling
   ``check("NN.K", answer, **objects)``.

A markdown cell that explains the solution starts with ``**Solution.**`` (id ``ex-NN-K-explained``, nbgrader
``solution: true, grade: true``: a manually graded written answer); the student copy replaces it with
``YOUR ANSWER HERE``.

How the checks keep answers out of the student copy: they either recompute the reference from the notebook's own
objects passed in (the fitted model, the data), so this module holds no result values, or, for a choice between
named options, compare a SHA-256 digest of the answer (which hides it from sight, not from someone who tries the
few options: these are exercises, not exams).

Adding an exercise (e.g. for notebooks 07 and 08): write a function ``_ex_NN_K(answer, **objects)`` that raises
``_wrong(what, where)`` on each typical mistake and returns a one-line confirmation, decorate it with
``@_exercise("NN.K")``, and add a wrong-answer case to ``tests/test_checks.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import numbers

import numpy as np

__all__ = ["check", "ExerciseError", "EXERCISES", "digest"]


class ExerciseError(AssertionError):
    """A wrong (or missing) exercise answer; the message says what is wrong and where to look.

    An ``AssertionError``, so nbgrader's autograder and pytest count it as a failed test.
    """


EXERCISES = {}  # "NN.K" -> check function


def _exercise(ex_id):
    def register(fn):
        EXERCISES[ex_id] = fn
        return fn

    return register


class _Wrong(Exception):
    def __init__(self, what, where):
        super().__init__(what)
        self.what, self.where = what, where


def _wrong(what, where):
    return _Wrong(what, where)


def digest(ex_id, text):
    """SHA-256 (first 16 hex digits) of an exercise's answer text, normalised (case, spaces)."""
    norm = " ".join(str(text).strip().lower().split())
    return hashlib.sha256(f"{ex_id}:{norm}".encode()).hexdigest()[:16]


def check(ex_id, answer, **objects):
    """Check the answer to exercise ``ex_id`` ("NN.K"), using the notebook objects passed as keywords.

    Prints a confirmation when the answer is right; raises :class:`ExerciseError` saying what is wrong and where to
    look otherwise (also when ``answer`` is still ``None``: the cell above has not been solved yet).
    """
    if ex_id not in EXERCISES:
        raise KeyError(f"unknown exercise {ex_id!r}; known: {', '.join(sorted(EXERCISES))}")
    if answer is None:
        raise ExerciseError(f"Exercise {ex_id}: no answer yet. Replace `raise NotImplementedError()` in the cell "
                            "above by your code, assign your answer to the variable named there, and run both cells.")
    try:
        note = EXERCISES[ex_id](answer, **objects)
    except _Wrong as w:
        raise ExerciseError(f"Exercise {ex_id}: {w.what}\n  Where to look: {w.where}") from None
    print(f"Exercise {ex_id}: correct." + (f" {note}" if note else ""))
    return True


# ---------------------------------------------------------------------------------------------- helpers

def _number(x, what, where):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        if isinstance(x, np.ndarray) and x.size == 1:
            return float(x)
        raise _wrong(f"{what} should be one number, got {type(x).__name__}.", where)
    x = float(x)
    if not np.isfinite(x):
        raise _wrong(f"{what} is {x}, not a finite number.", where)
    return x


def _pair(answer, names, where):
    if isinstance(answer, dict):
        raise _wrong(f"expected a pair ({', '.join(names)}), got a dict.", where)
    try:
        a, b = answer
    except (TypeError, ValueError):
        raise _wrong(f"expected a pair ({', '.join(names)}), got {answer!r:.80}.", where) from None
    return _number(a, names[0], where), _number(b, names[1], where)


def _fields(answer, keys, where):
    if not isinstance(answer, dict) or not set(keys) <= set(answer):
        raise _wrong(f"expected a dict with the keys {', '.join(map(repr, keys))}.", where)
    return [answer[k] for k in keys]


def _close(a, b, tol):
    return abs(a - b) <= tol


def _auroc_of(model, X, y):
    from .metrics import auroc

    return float(auroc(y, -model.decision_function(X)))


def _need(objects, *names):
    missing = [n for n in names if n not in objects]
    if missing:
        raise TypeError(f"check() needs the notebook objects {', '.join(missing)} as keywords "
                        "(the check cell passes them; do not edit it).")
    return [objects[n] for n in names]


def _choice(ex_id, answer, options, right_digest, where):
    if not isinstance(answer, str):
        raise _wrong(f"answer with one of the options as a string: {', '.join(map(repr, options))}.", where)
    if answer.strip().lower() not in [o.lower() for o in options]:
        raise _wrong(f"{answer!r} is not one of the options {', '.join(map(repr, options))}.", where)
    if digest(ex_id, answer) != right_digest:
        raise _wrong(f"{answer!r} is not the right option.", where)


SIGN = ("the sign convention: metrics take ANOMALY scores, -model.decision_function(X) (higher = more anomalous), "
        "with anomaly = 1 (notebook 00, 'Scores and signs').")


# ---------------------------------------------------------------------------------------------- 00

@_exercise("00.1")
def _ex_00_1(answer, **objects):
    from .metrics import auroc

    model, X, y = _need(objects, "model", "X", "y")
    where = "AUROC(y, indicator) with the indicator (model.predict(X) == -1) and AUROC(y, -model.decision_function(X))."
    labels, scores = _pair(answer, ("AUROC from labels", "AUROC from scores"), where)
    ref_l = float(auroc(y, (model.predict(X) == -1).astype(float)))
    ref_s = _auroc_of(model, X, y)
    tol = 5e-3
    if _close(labels, ref_s, tol) and _close(scores, ref_l, tol) and not _close(ref_l, ref_s, tol):
        raise _wrong("the two numbers are swapped: the first is the one from the ±1 labels.", where)
    if not _close(scores, ref_s, tol):
        if _close(scores, 1 - ref_s, tol):
            raise _wrong(f"your score AUROC {scores:.3f} is 1 minus the right one: the sign is flipped.", SIGN)
        raise _wrong(f"your score AUROC {scores:.3f} is not the AUROC of the anomaly scores.", where)
    if not _close(labels, ref_l, tol):
        if _close(labels, 1 - ref_l, tol):
            raise _wrong(f"your label AUROC {labels:.3f} is 1 minus the right one: the anomaly indicator is "
                         "predict(X) == -1 (−1 means anomaly), not == +1.", SIGN)
        raise _wrong(f"your label AUROC {labels:.3f} is not the AUROC of the flagged/not-flagged indicator.", where)
    return (f"Labels {ref_l:.3f} < scores {ref_s:.3f}: a ±1 prediction is one threshold, the score is the whole "
            "ranking.")


@_exercise("00.2")
def _ex_00_2(answer, **objects):
    import os

    from .config import is_quick

    where = "ocad_lab.config.is_quick(): which environment variable it reads, and which values mean 'on'."
    if not isinstance(answer, str) or "=" not in answer:
        raise _wrong("answer with the setting as a string 'NAME=VALUE', e.g. the line you would put before "
                     "`jupyter lab`.", where)
    name, value = (s.strip() for s in answer.split("=", 1))
    if name != "OCAD_QUICK":
        raise _wrong(f"the kit does not read {name!r} for the mode.", where)
    saved = os.environ.get("OCAD_QUICK")
    try:
        os.environ["OCAD_QUICK"] = value
        quick = is_quick()
    finally:
        if saved is None:
            os.environ.pop("OCAD_QUICK", None)
        else:
            os.environ["OCAD_QUICK"] = saved
    if quick:
        raise _wrong(f"OCAD_QUICK={value} turns quick mode ON (the tests' setting), not full mode.", where)
    return "Every size set with pick(quick=..., full=...) then takes its full value; is_quick() tells the mode."


@_exercise("00.3")
def _ex_00_3(answer, **objects):
    from sklearn.exceptions import NotFittedError

    X, centre, far = _need(objects, "X", "centre", "far")
    where = "the table 'Scores and signs' in notebook 00; pass the fitted detector itself (e.g. IsolationForest().fit(X_normal))."
    if not all(hasattr(answer, m) for m in ("score_samples", "decision_function", "predict")):
        raise _wrong(f"expected a fitted detector, got {type(answer).__name__}.", where)
    try:
        s_c, s_f = answer.score_samples(centre)[0], answer.score_samples(far)[0]
    except NotFittedError:
        raise _wrong("the detector is not fitted yet: call .fit(X_normal) first.", where) from None
    if not s_c > s_f:
        raise _wrong("score_samples is not higher at the centre than far away: higher must mean MORE normal.", where)
    offset = getattr(answer, "offset_", None)
    if offset is None or not np.allclose(answer.decision_function(X), answer.score_samples(X) - offset):
        raise _wrong("decision_function(X) is not score_samples(X) - offset_.", where)
    if answer.predict(far)[0] != -1 or answer.predict(centre)[0] != 1:
        raise _wrong("predict should give -1 (anomaly) far away and +1 (normal) at the centre.", where)
    return f"{type(answer).__name__} follows the kit's three rules."


# ---------------------------------------------------------------------------------------------- 01

@_exercise("01.1")
def _ex_01_1(answer, **objects):
    from .baselines import OCSVM

    X, y = _need(objects, "X", "y")
    where = ("fit OCSVM(nu=nu) on X for nu = 0.01 and 0.1; an anomaly is missed when it is NOT outside "
             "(outside: decision_function < -model.tol, as nu_property_fractions counts).")
    if not isinstance(answer, dict) or set(answer) != {0.01, 0.1}:
        raise _wrong("expected a dict {0.01: missed, 0.1: missed} of missed anomaly counts.", where)
    n_anom = int(np.sum(y == 1))
    for nu in (0.01, 0.1):
        m = OCSVM(nu=nu).fit(X)
        outside = m.decision_function(X) < -m.tol
        ref = int(np.sum((y == 1) & ~outside))
        got = _number(answer[nu], f"missed[{nu}]", where)
        if got == ref:
            continue
        if got == n_anom - ref:
            raise _wrong(f"for nu={nu} you counted the anomalies caught ({int(got)}), not the ones missed.", where)
        if got > n_anom:
            raise _wrong(f"for nu={nu} you report {int(got)} missed, but there are only {n_anom} anomalies: "
                         "count only the points with y == 1.", where)
        raise _wrong(f"for nu={nu}, {int(got)} missed anomalies is not what the OC-SVM gives.", where)
    return "With nu=0.01 the boundary must stretch around the anomalies; nu=0.1 lets most of them out."


@_exercise("01.2")
def _ex_01_2(answer, **objects):
    where = ("the argument of section 3 needs k(x, x) to be the same for every x: is that so for "
             "(γ<x,x̃>+1)² and for exp(-γ‖x − x̃‖₁)? Compare predict() of KernelSVDD and OCSVM on `grid`.")
    if not isinstance(answer, dict) or set(answer) != {"polynomial", "laplacian"}:
        raise _wrong("expected {'polynomial': share, 'laplacian': share}, the shares of grid points with the "
                     "same label.", where)
    poly = _number(answer["polynomial"], "the polynomial share", where)
    lap = _number(answer["laplacian"], "the Laplacian share", where)
    if not (0 <= poly <= 1 and 0 <= lap <= 1):
        raise _wrong("shares of grid points lie between 0 and 1 (np.mean of a boolean array).", where)
    if lap < 0.98 <= poly:
        raise _wrong("the kernels look swapped: the Laplacian kernel has k(x, x) = 1, so it should agree.", where)
    if lap < 0.98:
        raise _wrong(f"SVDD and OC-SVM agree on only {lap:.1%} of the grid with the Laplacian kernel; they "
                     "should agree (up to solver tolerance). Same nu, same kernel function for both?", where)
    if poly >= 0.98:
        raise _wrong(f"with the polynomial kernel they agree on {poly:.1%}: did you use degree=2 and "
                     "the same data for both?", where)
    return "Constant k(x, x) makes the ball and the half-space the same boundary."


@_exercise("01.3")
def _ex_01_3(answer, **objects):
    from .metrics import auroc

    (split,) = _need(objects, "split")
    where = ("res['best_auroc'] is the AUROC on the holdout (first half of the test set, used to choose gamma); "
             "the honest number is the AUROC on the second half, which the choice never saw.")
    model, hold, unseen = _fields(answer, ("model", "holdout", "unseen"), where)
    half = len(split.X_test) // 2
    ref_h = float(auroc(split.y_test[:half], -model.decision_function(split.X_test[:half])))
    ref_u = float(auroc(split.y_test[half:], -model.decision_function(split.X_test[half:])))
    ref_all = _auroc_of(model, split.X_test, split.y_test)
    hold = _number(hold, "answer['holdout']", where)
    unseen = _number(unseen, "answer['unseen']", where)
    tol = 5e-3
    if _close(unseen, 1 - ref_u, tol) or _close(hold, 1 - ref_h, tol):
        raise _wrong("an AUROC is 1 minus the right one: the sign is flipped.", SIGN)
    if _close(unseen, ref_all, tol) and not _close(ref_all, ref_u, tol):
        raise _wrong("your 'unseen' AUROC is on the whole test set, which includes the holdout used for tuning.",
                     where)
    if _close(hold, ref_u, tol) and _close(unseen, ref_h, tol) and not _close(ref_u, ref_h, tol):
        raise _wrong("the two numbers are swapped.", where)
    if not _close(hold, ref_h, tol):
        raise _wrong(f"{hold:.3f} is not the chosen model's AUROC on the first half of the test set.", where)
    if not _close(unseen, ref_u, tol):
        raise _wrong(f"{unseen:.3f} is not the chosen model's AUROC on the second half of the test set.", where)
    return f"Holdout {ref_h:.3f} (selected for being high) vs unseen {ref_u:.3f} (an honest estimate)."


# ---------------------------------------------------------------------------------------------- 02

@_exercise("02.1")
def _ex_02_1(answer, **objects):
    from .objectives import ocnn_r_objective

    y, nu = np.arange(1, 10), 0.33
    where = ("np.quantile's `method=` argument; f(r) = ocnn_r_objective(r, y, 0.33) is smallest at an order "
             "statistic (section 2), and a minimiser must satisfy: fraction below r ≤ ν ≤ fraction at or below r.")
    if not isinstance(answer, dict) or set(answer) != {"default", "method"}:
        raise _wrong("expected {'default': np.quantile(y, 0.33), 'method': 'the method= that fixes it'}.", where)
    default = _number(answer["default"], "answer['default']", where)
    ref = float(np.quantile(y, nu))
    if not _close(default, ref, 5e-3):
        if float(default).is_integer():
            raise _wrong(f"{default:g} is an order statistic; NumPy's default (method='linear') interpolates "
                         "between two of them.", where)
        raise _wrong(f"{default:g} is not np.quantile(y, 0.33) with NumPy's defaults.", where)
    method = answer["method"]
    try:
        q = float(np.quantile(y, nu, method=method))
    except (TypeError, ValueError):
        raise _wrong(f"{method!r} is not a method np.quantile accepts.", where) from None
    best = float(ocnn_r_objective(y.astype(float), y, nu).min())
    f_q = float(ocnn_r_objective(q, y, nu))
    if f_q > best + 1e-12:
        raise _wrong(f"method={method!r} returns {q:g}, where f = {f_q:.4f} > min f = {best:.4f}: "
                     + ("it interpolates between order statistics." if not q.is_integer() else
                        "an order statistic, but from the wrong end of the ν-interval (rounding goes to the "
                        "next score up)."), where)
    return f"method={method!r} returns {q:g}, a minimiser of Eq. (5)."


@_exercise("02.2")
def _ex_02_2(answer, **objects):
    from .objectives import ocnn_quantile_r

    scores, nu = _need(objects, "scores", "nu")
    where = ("the update r ← r − η·g with g = mean(scores < r)/ν − 1 (section 3), now with η = 0.5 for every "
             "step; answer (min, max) of the last 200 values of r.")
    lo, hi = _pair(answer, ("lowest of the last 200 r", "highest of the last 200 r"), where)
    if lo > hi:
        raise _wrong("the first number should be the lowest value, the second the highest.", where)
    q = float(ocnn_quantile_r(scores, nu))
    if hi - lo < 1e-3:
        raise _wrong(f"your r settled (band {hi - lo:.2g} wide): with a constant step it cannot; did you keep "
                     "the shrinking step η₀/√(t+1)?", where)
    if not lo <= q <= hi:
        raise _wrong(f"the band [{lo:.3f}, {hi:.3f}] does not surround the ν-quantile {q:.3f}: check the sign "
                     "of the step (descend: r − η·g) and that g uses the fraction BELOW r.", where)
    return f"r keeps bouncing in [{lo:.2f}, {hi:.2f}] around q = {q:.3f}: the band width is proportional to η."


@_exercise("02.3")
def _ex_02_3(answer, **objects):
    from .objectives import soft_boundary_radius_sq

    d, nu = _need(objects, "d", "nu")
    where = ("round d to multiples of 20 (np.round(d / 20) * 20), take R² = soft_boundary_radius_sq(d_tied, nu) (the (1 − ν)-quantile, "
             "method='inverted_cdf': an order statistic, the smallest minimiser), then "
             "mean(d_tied > R²) and mean(d_tied >= R²).")
    outside, on_or_out = _pair(answer, ("fraction outside", "fraction on or outside"), where)
    d_tied = np.round(d / 20) * 20
    r2 = soft_boundary_radius_sq(d_tied, nu)
    ref_o, ref_oo = float(np.mean(d_tied > r2)), float(np.mean(d_tied >= r2))
    r2u = soft_boundary_radius_sq(d, nu)
    tol = 1e-9
    if _close(outside, np.mean(d > r2u), tol) and _close(on_or_out, np.mean(d >= r2u), tol):
        raise _wrong("these are the fractions for the unrounded distances: round them first (many ties).", where)
    if _close(outside, ref_oo, tol) and _close(on_or_out, ref_o, tol):
        raise _wrong("the two fractions are swapped: 'outside' (d > R²) is the smaller one.", where)
    if outside > nu + tol:
        raise _wrong(f"{outside:.3f} of the points outside is more than ν = {nu}, which Prop. 4 forbids: your R² "
                     "sits at the wrong end of the flat interval or between two distances.", where)
    if not (_close(outside, ref_o, tol) and _close(on_or_out, ref_oo, tol)):
        raise _wrong(f"({outside:.4f}, {on_or_out:.4f}) are not the fractions for the rounded distances.", where)
    return (f"outside {ref_o:.3f} ≤ ν = {nu} ≤ on or outside {ref_oo:.3f}: still true, but ties move both "
            "fractions away from ν.")


# ---------------------------------------------------------------------------------------------- 03

@_exercise("03.1")
def _ex_03_1(answer, **objects):
    X_train, proper = _need(objects, "X_train", "proper")
    where = ("DeepSVDD(center=np.zeros(32), ...) fitted on X_train; the kit pushes |c_j| < eps away from 0 only "
             "for the centre it computes itself, not for one you pass.")
    if not hasattr(answer, "center_"):
        raise _wrong(f"expected a fitted DeepSVDD, got {type(answer).__name__}.", where)
    if answer.center_.shape != proper.center_.shape:
        raise _wrong(f"the centre has shape {answer.center_.shape}, the net outputs {proper.center_.shape}.", where)
    if np.abs(answer.center_).max() > 0:
        raise _wrong("the centre is not all zeros: that is the kit's own mean centre (pushed away from 0).", where)
    if answer.input_shape_ != tuple(X_train.shape[1:]):
        raise _wrong("the model was not fitted on X_train.", where)
    mine, ref = answer.history_[-1]["mean_score"], proper.history_[-1]["mean_score"]
    return (f"final mean distance {mine:.3g} with c = 0 vs {ref:.3g} for the proper centre: a centre at "
            "c₀ = 0 is where the trivial all-zero-weights net already sits.")


@_exercise("03.2")
def _ex_03_2(answer, **objects):
    (baseline,) = _need(objects, "baseline")
    names = ("(d) c = c_0", "(e) proper")
    where = ("refit the two variants with widgets.fit_collapse_variant(..., weight_decay=1e-1, **SETTINGS[name]) "
             "and more epochs than the table's fits; compare 'test score std' with the table.")
    if not isinstance(answer, dict) or set(answer) != set(names):
        raise _wrong(f"expected a dict with the refits of {names[0]!r} and {names[1]!r} (the variants the "
                     "prompt names), as returned by fit_collapse_variant.", where)
    for name in names:
        r = answer[name]
        if not isinstance(r, dict) or "model" not in r:
            raise _wrong(f"answer[{name!r}] should be the dict fit_collapse_variant returns.", where)
        wd = float(r["model"].weight_decay)
        if wd < 1e-2:
            raise _wrong(f"{name} was fitted with weight_decay={wd:g}: the exercise needs a strong penalty, 1e-1.",
                         where)
        if len(r["history"]) <= len(baseline[name]["history"]):
            raise _wrong(f"{name} ran {len(r['history'])} epochs, not more than the table's "
                         f"{len(baseline[name]['history'])}.", where)
    if answer[names[0]]["model"].center != "zero-weights":
        raise _wrong("the '(d) c = c_0' refit does not use center='zero-weights': pass **SETTINGS[name].", where)
    shrink = {n: answer[n]["test_score_std"] / baseline[n]["test_score_std"] for n in names}
    return (f"test score std, refit / table: (d) {shrink[names[0]]:.2g}, (e) {shrink[names[1]]:.2g}: the "
            "spread of (d) shrinks towards the trivial solution.")


_D_03_3 = "3cce8c653ee6ae96"  # digest("03.3", <the right option>)


@_exercise("03.3")
def _ex_03_3(answer, **objects):
    where = ("Prop. 4's proof: n_out counts only d_i > R², while the points with d_i = R² count as 'on or "
             "outside'. Which count do many ties at R² inflate?")
    _choice("03.3", answer, ("outside", "on or outside"), _D_03_3, where)
    return "Ties at R² all count as 'on or outside': that fraction can exceed ν by far more than 1/n."


# ---------------------------------------------------------------------------------------------- 04

@_exercise("04.1")
def _ex_04_1(answer, **objects):
    X, y = _need(objects, "X", "y")
    where = ("fit OCNN(..., activation='linear') on ALL 200 points X (transductive: anomalies in the training "
             "set), then auroc(y, -m.decision_function(X)).")
    model, got = _fields(answer, ("model", "auroc"), where)
    got = _number(got, "the AUROC", where)
    ref = _auroc_of(model, X, y)
    if ref > 0.5:
        raise _wrong(f"this model ranks the anomalies above chance (AUROC {ref:.3f}): was it fitted on X_norm "
                     "(the inductive setting of section 1) instead of all of X?", where)
    if _close(got, 1 - ref, 5e-3) and not _close(ref, 0.5, 5e-3):
        raise _wrong(f"{got:.3f} is 1 minus the model's AUROC: the sign is flipped.", SIGN)
    if not _close(got, ref, 5e-3):
        raise _wrong(f"{got:.3f} is not the AUROC of the model you passed on X.", where)
    return f"AUROC {ref:.3f}, far below chance: the anomalies, in the training set, are ranked MOST normal."


@_exercise("04.2")
def _ex_04_2(answer, **objects):
    (y,) = _need(objects, "y")
    where = ("average_precision_score(y, random_scores) and average_precision_score(1 - y, random_scores), with "
             "random_scores = rng.random(len(y)); chance AUPRC is the share of the POSITIVE class.")
    anom, normal = _pair(answer, ("AUPRC, anomalies positive", "AUPRC, normals positive"), where)
    share = float(np.mean(y))
    if _close(anom, 1 - share, 0.05) and _close(normal, share, 0.05):
        raise _wrong("the two are swapped: with the anomalies as the positive class, chance is their share.", where)
    if not (_close(anom, share, 0.05) and _close(normal, 1 - share, 0.05)):
        raise _wrong(f"random scores should give AUPRC near the positive share ({share:.3f} and {1 - share:.3f}); "
                     "did you score with the model instead of random numbers?", where)
    return (f"chance AUPRC is {share:.2f} with anomalies positive and {1 - share:.2f} with normals positive: "
            "0.99 with normals positive says little.")


@_exercise("04.3")
def _ex_04_3(answer, **objects):
    model, X = _need(objects, "model", "X")
    where = ("relu(z) + relu(-z) = |z|, so ŷ(x) + ŷ(-x) = Σ_j w_j |v_jᵀ x|: compute it from model.head_.w and "
             "model.head_.V.weight (one value per row of X_anom).")
    a = np.asarray(answer, dtype=float).ravel()
    ref = model.score_samples(X) + model.score_samples(-X)
    if a.shape != ref.shape:
        raise _wrong(f"expected one value per row of X ({ref.shape[0]}), got shape {a.shape}.", where)
    w_sum = float(model.head_.w.detach().sum())
    if np.allclose(a, w_sum, rtol=1e-3, atol=1e-3):
        raise _wrong("Σ_j w_j is the SIGMOID identity (σ(z) + σ(−z) = 1); for ReLU it is not constant.", where)
    if np.allclose(a, 0, atol=1e-6):
        raise _wrong("zero is the LINEAR head's identity (ŷ(−x) = −ŷ(x)); for ReLU it is not.", where)
    if not np.allclose(a, ref, rtol=1e-3, atol=1e-3):
        raise _wrong("your formula does not match model.score_samples(x) + model.score_samples(-x).", where)
    return f"Σ_j w_j |v_jᵀx| grows with ‖x‖; {float((model.head_.w > 0).float().mean()):.0%} of the w_j are positive."


# ---------------------------------------------------------------------------------------------- 05

@_exercise("05.1")
def _ex_05_1(answer, **objects):
    where = ("one_class_split(<MNIST data>, 8, ...) with the notebook's sizes (the `load` helper), a DeepSVDD fitted "
             "on its X_train, and auroc(split.y_test, -model.decision_function(split.X_test)).")
    split, model, got = _fields(answer, ("split", "model", "auroc"), where)
    got = _number(got, "the AUROC", where)
    if split.normal_class not in (8, 6):
        raise _wrong(f"the split's normal class is {split.normal_class}, not the harder 8 (MNIST) or 6 (shirt).",
                     where)
    if getattr(model, "input_shape_", None) != tuple(split.X_train.shape[1:]):
        raise _wrong("the model was not fitted on this split's images.", where)
    ref = _auroc_of(model, split.X_test, split.y_test)
    if _close(got, 1 - ref, 5e-3) and not _close(ref, 0.5, 5e-3):
        raise _wrong(f"{got:.3f} is 1 minus the model's AUROC.", SIGN)
    if not _close(got, ref, 5e-3):
        raise _wrong(f"{got:.3f} is not this model's test AUROC on the split you passed.", where)
    return f"class {split.normal_class}: AUROC {ref:.3f} (compare with the table above and the paper's Table 1)."


@_exercise("05.2")
def _ex_05_2(answer, **objects):
    (split,) = _need(objects, "split")
    where = ("AutoencoderDetector(num_epochs=2, ...).fit(split.X_train), then DeepSVDD(pretrain=that autoencoder, "
             "...).fit(split.X_train); answer its test AUROC.")
    autoencoder, model, got = _fields(answer, ("autoencoder", "model", "auroc"), where)
    got = _number(got, "the AUROC", where)
    if len(autoencoder.history_) != 2:
        raise _wrong(f"the autoencoder ran {len(autoencoder.history_)} epochs, not 2.", where)
    if model.pretrain is not autoencoder:
        raise _wrong("the Deep SVDD model was not started from this autoencoder (pretrain=...).", where)
    ref = _auroc_of(model, split.X_test, split.y_test)
    if _close(got, 1 - ref, 5e-3) and not _close(ref, 0.5, 5e-3):
        raise _wrong(f"{got:.3f} is 1 minus the model's AUROC.", SIGN)
    if not _close(got, ref, 5e-3):
        raise _wrong(f"{got:.3f} is not this model's test AUROC.", where)
    return f"AUROC {ref:.3f} after a 2-epoch autoencoder; compare with the table's rows."


_D_05_3 = "664308104cbd5639"  # digest("05.3", <the right option>)


@_exercise("05.3")
def _ex_05_3(answer, **objects):
    where = ("what each objective pulls towards c during training (Eq. 3 vs Eq. 4), and what subtracting R² does "
             "to a ranking.")
    _choice("05.3", answer, ("a", "b", "c"), _D_05_3, where)
    return "Different objectives train different networks; R² shifts every score equally and cannot change a ranking."


# ---------------------------------------------------------------------------------------------- 06

def _mean_auroc(rows):
    import pandas as pd

    df = pd.DataFrame(list(rows) if not hasattr(rows, "groupby") else rows)
    return df.groupby("method")["auroc"].mean()


@_exercise("06.1")
def _ex_06_1(answer, **objects):
    where = ("the drop of each method's mean AUROC from the other classes (easy) to classes 5 and 8 "
             "(hard): mean over classes and seeds, then easy − hard; the largest drop suffers most.")
    easy, hard, answer = _fields(answer, ("easy_rows", "hard_rows", "method"), where)
    import pandas as pd

    easy, hard = pd.DataFrame(easy), pd.DataFrame(hard)
    if len(hard) == 0 or not set(hard["normal_class"]) <= {5, 8}:
        raise _wrong("'hard_rows' should be the runs with normal classes 5 and 8 only.", where)
    if len(easy) == 0 or set(easy["normal_class"]) & {5, 8}:
        raise _wrong("'easy_rows' should be the runs of the other classes (without 5 and 8).", where)
    m_hard, m_easy = _mean_auroc(hard), _mean_auroc(easy)
    drop = (m_easy - m_hard).dropna()
    if not isinstance(answer, str) or answer not in drop.index:
        raise _wrong(f"answer with a method key, one of {', '.join(drop.index)}.", where)
    worst = drop.idxmax()
    if answer != worst:
        if answer == m_hard.idxmin():
            raise _wrong(f"{answer!r} has the lowest AUROC on 5 and 8, but the question is which one LOSES most.",
                         where)
        raise _wrong(f"{answer!r} drops by {drop[answer]:.3f}; another method drops more.", where)
    return f"{worst} drops most ({drop[worst]:.3f} AUROC from the easy to the hard classes) in this run."


_D_06_2 = "9f6dcc21fb96c73c"  # digest("06.2", <the right option>)


@_exercise("06.2")
def _ex_06_2(answer, **objects):
    where = "which data chose between the two values of ν, and which data the reported AUROC comes from."
    _choice("06.2", answer, ("a", "b", "c"), _D_06_2, where)
    return "The test labels chose the setting, so the reported maximum is biased upwards."


@_exercise("06.3")
def _ex_06_3(answer, **objects):
    where = ("OCSVM(gamma='scale', nu=0.1, pca=True).fit(split.X_train) on the training normals only, then "
             "auroc(split.y_test, -model.decision_function(split.X_test)).")
    split, model, got = _fields(answer, ("split", "model", "auroc"), where)
    got = _number(got, "the AUROC", where)
    if getattr(model, "gamma", None) != "scale":
        raise _wrong(f"the model's gamma is {getattr(model, 'gamma', None)!r}: no label help means gamma='scale'.",
                     where)
    ref = _auroc_of(model, split.X_test, split.y_test)
    if _close(got, 1 - ref, 5e-3) and not _close(ref, 0.5, 5e-3):
        raise _wrong(f"{got:.3f} is 1 minus the model's AUROC.", SIGN)
    if not _close(got, ref, 5e-3):
        raise _wrong(f"{got:.3f} is not this model's test AUROC on the split you passed.", where)
    return f"untuned OC-SVM: AUROC {ref:.3f}; compare with the tuned row of the table."


# ---------------------------------------------------------------------------------------------- 07

def _seed_rows(rows, dataset, seed):
    return {r["method"]: r for r in rows if r["dataset"] == dataset and r["seed"] == seed}


def _row_list(rows, what, where):
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    if not isinstance(rows, (list, tuple)) or not rows or not all(isinstance(r, dict) and "method" in r for r in rows):
        raise _wrong(f"{what} should be the list of rows op.ocnn_protocol returns.", where)
    return list(rows)


def _per_method(got, ref, what, where, sign_note):
    if not isinstance(got, dict) or set(got) != set(ref):
        raise _wrong(f"{what} should be a dict with one entry per method of your run: {', '.join(sorted(ref))}.",
                     where)
    vals = {m: _number(got[m], f"{what}[{m!r}]", where) for m in ref}
    tol = 1e-6
    if all(_close(vals[m], -ref[m], tol) for m in ref) and any(abs(ref[m]) > tol for m in ref):
        raise _wrong(f"every entry of {what} has the wrong sign: {sign_note}", where)
    for m in ref:
        if not _close(vals[m], ref[m], tol):
            return m, vals[m]
    return None


@_exercise("07.1")
def _ex_07_1(answer, **objects):
    from . import ocnn_protocol as op

    (rows,) = _need(objects, "rows")
    where = ("replace op.SETUPS['mnist5k'] by dataclasses.replace(..., anomalies=(9,)), run op.ocnn_protocol(['mnist5k'], "
             "methods=[...], draws=1, config=CFG) (draw 0), put the old setup back, then drop[m] = AUROC of m in "
             "Part 1's draw 0 of mnist5k minus its AUROC on 4 vs 9.")
    new_rows, drop = _fields(answer, ("rows", "drop"), where)
    new_rows = _row_list(new_rows, "answer['rows']", where)
    if op.SETUPS["mnist5k"].anomalies == (9,):
        raise _wrong("op.SETUPS['mnist5k'] is still the 4-vs-9 task: put the saved setup back (try/finally), or "
                     "every later run of this notebook uses 4 vs 9 too.", where)
    if {r["dataset"] for r in new_rows} != {"mnist5k"} or {r["seed"] for r in new_rows} != {0}:
        raise _wrong("answer['rows'] should hold draw 0 (seed 0) of mnist5k only (draws=1).", where)
    mine = {r["method"]: r for r in new_rows}
    if "iforest" not in mine:
        raise _wrong("run 'iforest' among the methods: the check reruns it to see which task your rows come from.",
                     where)
    part1 = _seed_rows(rows, "mnist5k", 0)
    missing = sorted(set(mine) - set(part1))
    if missing:
        raise _wrong(f"Part 1 has no mnist5k row for {', '.join(missing)}: use the method keys of Part 1.", where)
    base = op.SETUPS["mnist5k"]
    op.SETUPS["_check_4v9"] = dataclasses.replace(base, anomalies=(9,))
    try:
        ref_if = op.run_draw("_check_4v9", 0, methods=["iforest"])[0]["auroc"]
    finally:
        op.SETUPS.pop("_check_4v9", None)
    got_if = float(mine["iforest"]["auroc"])
    if not _close(got_if, ref_if, 1e-9):
        if _close(got_if, part1["iforest"]["auroc"], 1e-9):
            raise _wrong("your rows are the original task's (4 vs 0, 7, 9): replace op.SETUPS['mnist5k'] BEFORE "
                         "calling op.ocnn_protocol.", where)
        raise _wrong(f"your Isolation Forest AUROC {got_if:.3f} is not the one of draw 0 of 4 vs 9 "
                     f"({ref_if:.3f}).", where)
    ref = {m: float(part1[m]["auroc"]) - float(r["auroc"]) for m, r in mine.items()}
    off = _per_method(drop, ref, "answer['drop']", where,
                      "drop = Part 1's AUROC minus the 4-vs-9 AUROC (positive when the task got harder).")
    if off:
        m, v = off
        both = [r for r in rows if r["dataset"] == "mnist5k" and r["method"] == m]
        mean_before = float(np.mean([r["auroc"] for r in both]))
        if _close(v, mean_before - float(mine[m]["auroc"]), 1e-6):
            raise _wrong(f"drop[{m!r}] uses the MEAN over Part 1's draws: compare draw 0 with draw 0 (the same "
                         "normal images).", where)
        raise _wrong(f"drop[{m!r}] = {v:.4f} is not Part 1's draw-0 AUROC minus your 4-vs-9 AUROC.", where)
    note = ", ".join(f"{m} {ref[m]:+.3f}" for m in sorted(ref))
    return f"AUROC drops (Part 1 − 4 vs 9): {note}."


@_exercise("07.2")
def _ex_07_2(answer, **objects):
    from . import ocnn_protocol as op

    n_norm, n_anom = op.PAPER_COUNTS["mnist"]
    where = (f"with the normals positive, n_pos = {n_norm} and n_neg = {n_anom} (op.PAPER_COUNTS['mnist']); a random "
             "ranking's expected AUPRC is the positive share; the best at AUROC 0.5 is "
             "op.max_auprc_given_auroc(auroc, n_pos, n_neg).")
    rnd, best = _pair(answer, ("random AUPRC", "largest AUPRC at AUROC 0.5"), where)
    share = n_norm / (n_norm + n_anom)
    ref_best = float(op.max_auprc_given_auroc(0.5, n_norm, n_anom))
    wrong_best = float(op.max_auprc_given_auroc(0.5, n_anom, n_norm))
    if _close(rnd, ref_best, 1e-3) and _close(best, share, 0.01) and not _close(ref_best, share, 0.01):
        raise _wrong("the two numbers are swapped: first the random ranking's AUPRC, then the bound.", where)
    if _close(rnd, 1 - share, 0.01):
        raise _wrong(f"{rnd:.3f} is the ANOMALY share: that is chance level with the anomalies positive; here the "
                     "normals are the positive class.", where)
    if not _close(rnd, share, 0.01):
        raise _wrong(f"{rnd:.3f} is not what a random ranking gets with the normals positive.", where)
    if _close(best, wrong_best, 1e-3):
        raise _wrong(f"{best:.3f} is the bound with the ANOMALIES positive: the arguments are (auroc, n_pos, n_neg) "
                     "and the positive class is the normals.", where)
    if not _close(best, ref_best, 1e-3):
        raise _wrong(f"{best:.4f} is not op.max_auprc_given_auroc(0.5, n_pos, n_neg) for these counts.", where)
    return (f"random {share:.3f}, at most {ref_best:.3f} at AUROC 0.5: with the normals positive, AUPRCs of "
            "0.97-0.99 say little about a detector.")


@_exercise("07.3")
def _ex_07_3(answer, **objects):
    (rows,) = _need(objects, "rows")
    where = ("op.ocnn_protocol(['mnist5k'], methods=[...], draws=1, config=op.protocol_config(ae_on='mixture')), "
             "then change[m] = its AUROC minus Part 1's draw-0 AUROC of mnist5k (same mixture, only the CAE's "
             "training data differ).")
    new_rows, change = _fields(answer, ("rows", "change"), where)
    new_rows = _row_list(new_rows, "answer['rows']", where)
    if {r["dataset"] for r in new_rows} != {"mnist5k"} or {r["seed"] for r in new_rows} != {0}:
        raise _wrong("answer['rows'] should hold draw 0 (seed 0) of mnist5k only (draws=1).", where)
    mine = {r["method"]: r for r in new_rows}
    part1 = _seed_rows(rows, "mnist5k", 0)
    for m in ("ocnn-linear", "iforest"):
        if m not in mine:
            raise _wrong(f"run {m!r} among the methods (the prompt's list).", where)
    if not _close(float(mine["iforest"]["auroc"]), float(part1["iforest"]["auroc"]), 1e-9):
        raise _wrong("your Isolation Forest row differs from Part 1's draw 0: not the same mixture (did exercise 1 "
                     "leave op.SETUPS['mnist5k'] on 4 vs 9?). IF uses no autoencoder, so it must not change.", where)
    if _close(float(mine["ocnn-linear"]["auroc"]), float(part1["ocnn-linear"]["auroc"]), 1e-12) and \
            _close(float(mine["ocnn-linear"]["auprc"]), float(part1["ocnn-linear"]["auprc"]), 1e-12):
        raise _wrong("your OC-NN row is identical to Part 1's: its CAE was trained on the normals again. Pass "
                     "config=op.protocol_config(ae_on='mixture').", where)
    ref = {m: float(r["auroc"]) - float(part1[m]["auroc"]) for m, r in mine.items() if m in part1}
    if len(ref) != len(mine):
        raise _wrong("use the method keys of Part 1.", where)
    off = _per_method(change, ref, "answer['change']", where,
                      "change = AUROC with the CAE on the mixture minus Part 1's AUROC.")
    if off:
        m, v = off
        raise _wrong(f"change[{m!r}] = {v:.4f} is not your AUROC minus Part 1's draw-0 AUROC.", where)
    note = ", ".join(f"{m} {ref[m]:+.3f}" for m in sorted(ref))
    return f"AUROC change, CAE on the mixture − on the normals: {note} (one draw: noisy)."


# ---------------------------------------------------------------------------------------------- 08

def _adv_set(adv, what, where):
    if not all(hasattr(adv, a) for a in ("X_adv", "X_orig", "settings", "l2")):
        raise _wrong(f"{what} should be the AdversarialSet that attack_stop_signs returns, got {type(adv).__name__}.",
                     where)
    return adv


def _stop_sign_auroc(model, stop_train, stop_test, adv):
    from .metrics import auroc
    from .stop_signs import stop_sign_problem

    p = stop_sign_problem(stop_train, stop_test, adv)
    return float(auroc(p.y_test, -model.decision_function(p.X_test)))


@_exercise("08.1")
def _ex_08_1(answer, **objects):
    model, adv, stop_train, stop_test = _need(objects, "model", "adv", "stop_train", "stop_test")
    where = ("attack_stop_signs(clf, stop_test, n=N_ADV, steps=<more than ATTACK_STEPS>, seed=0), then score "
             "t2.stop_sign_problem(stop_train, stop_test, <the new set>).X_test with the fitted one-class Deep SVDD: "
             "auroc(problem.y_test, -model.decision_function(problem.X_test)).")
    strong, got = _fields(answer, ("adv", "auroc"), where)
    strong = _adv_set(strong, "answer['adv']", where)
    got = _number(got, "the AUROC", where)
    steps, steps0 = int(strong.settings["steps"]), int(adv.settings["steps"])
    if steps <= steps0:
        raise _wrong(f"your attack ran {steps} steps, section 2's ran {steps0}: a stronger attack needs more.", where)
    ref = _stop_sign_auroc(model, stop_train, stop_test, strong)
    if not _close(got, ref, 1e-6):
        if _close(got, 1 - ref, 1e-6) and not _close(ref, 0.5, 1e-6):
            raise _wrong(f"{got:.3f} is 1 minus the AUROC.", SIGN)
        if _close(got, _stop_sign_auroc(model, stop_train, stop_test, adv), 1e-6):
            raise _wrong(f"{got:.3f} is the AUROC of section 2's adversarials: build the problem from the NEW set.",
                         where)
        raise _wrong(f"{got:.3f} is not the one-class Deep SVDD's AUROC on the clean test signs + your "
                     "adversarials.", where)
    old = _stop_sign_auroc(model, stop_train, stop_test, adv)
    return (f"median L2 {np.median(adv.l2):.2f} → {np.median(strong.l2):.2f} with {steps0} → {steps} steps; "
            f"Deep SVDD AUROC {old:.3f} → {ref:.3f}.")


@_exercise("08.2")
def _ex_08_2(answer, **objects):
    from .data import GTSRB_STOP_SIGN

    model, clf, adv, stop_train, stop_test = _need(objects, "model", "clf", "adv", "stop_train", "stop_test")
    where = ("SignClassifier(width=CLF_WIDTH, num_epochs=CLF_EPOCHS, random_state=1).fit(X_all, y_all), attack IT "
             "with attack_stop_signs(clf2, stop_test, ...), and score the clean test signs + the new adversarials "
             "with the SAME fitted Deep SVDD (no refit).")
    clf2, adv2, got = _fields(answer, ("classifier", "adv", "auroc"), where)
    if clf2 is clf:
        raise _wrong("answer['classifier'] is section 1's classifier: train a second one (random_state=1).", where)
    if not hasattr(clf2, "fingerprint"):
        raise _wrong(f"answer['classifier'] should be a fitted SignClassifier, got {type(clf2).__name__}.", where)
    if clf2.fingerprint() == clf.fingerprint():
        raise _wrong("the second classifier has the same weights as the first: give it another random_state.", where)
    adv2 = _adv_set(adv2, "answer['adv']", where)
    got = _number(got, "the AUROC", where)
    if adv2.settings.get("classifier") != clf2.fingerprint():
        if adv2.settings.get("classifier") == clf.fingerprint():
            raise _wrong("these adversarials were made against section 1's classifier, not the second one.", where)
        raise _wrong("these adversarials were not made against answer['classifier'].", where)
    if len(adv2) and (clf2.predict(adv2.X_adv) == GTSRB_STOP_SIGN).any():
        raise _wrong("some 'adversarials' are still read as stop signs by the second classifier.", where)
    ref = _stop_sign_auroc(model, stop_train, stop_test, adv2)
    if not _close(got, ref, 1e-6):
        if _close(got, 1 - ref, 1e-6) and not _close(ref, 0.5, 1e-6):
            raise _wrong(f"{got:.3f} is 1 minus the AUROC.", SIGN)
        raise _wrong(f"{got:.3f} is not the Deep SVDD's AUROC on the clean test signs + the new adversarials (the "
                     "model of section 3, not refitted).", where)
    old = _stop_sign_auroc(model, stop_train, stop_test, adv)
    fooled = float(np.mean(clf.predict(adv2.X_adv) != GTSRB_STOP_SIGN)) if len(adv2) else float("nan")
    return (f"Deep SVDD AUROC {ref:.3f} on attacks against the second classifier vs {old:.3f} against the first "
            f"(median L2 {np.median(adv2.l2):.2f} vs {np.median(adv.l2):.2f}); the first classifier is fooled by "
            f"{fooled:.0%} of the new adversarials.")


_D_08_3 = "5844d11485eb21d5"  # digest("08.3", <the right option>)


@_exercise("08.3")
def _ex_08_3(answer, **objects):
    where = ("section 3, 'Why the PCA-based shallow methods can score below chance': where the perturbation's norm "
             "goes (inside / outside the PCA subspace), and where the adversarials sit inside it.")
    _choice("08.3", answer, ("a", "b", "c"), _D_08_3, where)
    return ("PCA keeps the directions of the clean signs' variance; the noise-like perturbation lies mostly outside "
            "them, and inside them the blended adversarials look unusually typical.")
