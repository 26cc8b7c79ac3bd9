r"""Named checks for the claims a chapter makes: each prints one sentence a student can read and raises
with the same sentence when the claim is false, so a wrong formula still fails the chapter under nbval.

    claim_close("ᾱ_100 of the texts' schedule", abar[100], 0.904, atol=5e-4, why="rounded to 3 decimals")
    ✓ ᾱ_100 of the texts' schedule is 0.9044, as expected 0.904 (± 0.0005: rounded to 3 decimals)

    claim_std("the spread of x_t matches √(1−ᾱ_t)", x_t, expected=0.332)
    ✓ the spread of x_t matches √(1−ᾱ_t): 0.331 vs 0.332 within sampling error (n = 2000)

The tolerances live here, with their reasons, not in the chapters:

* **Statistical claims** (a sample mean, a standard deviation, a distribution) allow
  :data:`Z_SAMPLING` = 4 standard errors: a correct formula fails such a check with probability about
  6·10⁻⁵ (two-sided normal tail), so a chapter with a few dozen checks stays green, while a wrong
  formula that moves a moment by more than 4 standard errors fails. The standard error of a mean of
  n values with spread σ is σ/√n; of a standard deviation (normal data) σ/√(2(n−1)).
* **Distribution claims** use the Kolmogorov–Smirnov test at level :data:`KS_LEVEL` = 10⁻³.
* **Exact claims** (closed forms, the same computation two ways) take an explicit tolerance and a
  ``why`` the sentence shows, e.g. "float32 round-off" or "rounded to 3 decimals".

Numbers are printed plain (4 significant digits), never as numpy reprs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from .i18n import tr

__all__ = [
    "Z_SAMPLING", "KS_LEVEL", "ClaimFailed", "Claim", "fmt",
    "claim_close", "claim_mean", "claim_std", "claim_distribution", "claim_below", "claim_above", "claim_true",
]

#: Standard errors a statistical claim may be off by (false-alarm probability ≈ 6e-5 per check).
Z_SAMPLING = 4.0
#: Level of the Kolmogorov–Smirnov test behind :func:`claim_distribution` (false-alarm probability).
KS_LEVEL = 1e-3


class ClaimFailed(AssertionError):
    """A chapter's claim did not hold; the message is the sentence with what was measured."""


@dataclass(frozen=True)
class Claim:
    """The outcome of a check: whether it held and the sentence that says so."""

    holds: bool
    sentence: str

    def __bool__(self) -> bool:
        return self.holds

    def __str__(self) -> str:
        return self.sentence

    def _ipython_display_(self) -> None:
        """Shown as a cell's last line: nothing more, the check already printed its sentence."""


def fmt(x, digits: int = 4) -> str:
    """A number as a student reads it: 4 significant digits, no numpy repr, no trailing zeros noise."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if 1e-4 <= abs(x) < 1e6:
        return f"{x:.{digits}g}"
    return f"{x:.{digits - 1}e}"


def _scalar(x, what: str) -> float:
    # python and numpy numbers go to float64 directly (torch.as_tensor would round a float to float32)
    t = x.detach().double() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float64))
    if t.numel() != 1:
        raise TypeError(f"{what}: expected one number, got shape {tuple(t.shape)}. Reduce it first "
                        f"(e.g. .mean() or float(...)).")
    return float(t.double().item())


def _values(samples, what: str) -> np.ndarray:
    arr = (samples.detach().double().cpu().numpy() if isinstance(samples, torch.Tensor)
           else np.asarray(samples, dtype=np.float64)).reshape(-1)
    if arr.size < 2:
        raise ValueError(f"{what}: a statistical claim needs at least 2 values, got {arr.size}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: the values contain NaN or inf (something diverged).")
    return arr


def _conclude(holds: bool, sentence: str, quiet: bool) -> Claim:
    claim = Claim(bool(holds), ("✓ " if holds else "✗ ") + sentence)
    if not holds:
        raise ClaimFailed(claim.sentence)
    if not quiet:
        print(claim.sentence)
    return claim


def claim_close(what: str, value, expected, *, atol: float = 0.0, rtol: float = 0.0, why: str,
                quiet: bool = False) -> Claim:
    """``value`` equals ``expected`` within max(atol, rtol·|expected|); ``why`` says where the slack comes from."""
    v, e = _scalar(value, what), _scalar(expected, what)
    if atol < 0 or rtol < 0 or (atol == 0 and rtol == 0):
        raise ValueError("give a positive atol or rtol (and say why in `why`).")
    tol = max(atol, rtol * abs(e))
    holds = math.isfinite(v) and abs(v - e) <= tol
    sentence = tr("{what}: {value}, as expected {expected} (± {tol}: {why})", what=what, value=fmt(v),
                  expected=fmt(e), tol=fmt(tol, 2), why=why)
    return _conclude(holds, sentence, quiet)


def claim_mean(what: str, samples, expected, *, spread: float | None = None, quiet: bool = False) -> Claim:
    """The sample mean equals ``expected`` within :data:`Z_SAMPLING` standard errors σ/√n (σ = ``spread``,
    the known standard deviation of one value, or the sample's own when not given)."""
    x = _values(samples, what)
    e = _scalar(expected, what)
    sigma = float(spread) if spread is not None else float(x.std(ddof=1))
    se = sigma / math.sqrt(x.size)
    holds = abs(float(x.mean()) - e) <= Z_SAMPLING * se
    sentence = tr("{what}: {value} vs {expected} within sampling error (n = {n})", what=what,
                  value=fmt(x.mean(), 3), expected=fmt(e, 3), n=x.size)
    return _conclude(holds, sentence, quiet)


def claim_std(what: str, samples, expected, *, quiet: bool = False) -> Claim:
    """The sample standard deviation equals ``expected`` within :data:`Z_SAMPLING` standard errors
    σ/√(2(n−1)) (the normal-data standard error of a standard deviation)."""
    x = _values(samples, what)
    e = _scalar(expected, what)
    se = e / math.sqrt(2 * (x.size - 1))
    s = float(x.std(ddof=1))
    holds = abs(s - e) <= Z_SAMPLING * se
    sentence = tr("{what}: {value} vs {expected} within sampling error (n = {n})", what=what,
                  value=fmt(s, 3), expected=fmt(e, 3), n=x.size)
    return _conclude(holds, sentence, quiet)


def claim_distribution(what: str, samples, cdf, *, quiet: bool = False) -> Claim:
    """The samples follow the distribution with CDF ``cdf`` (a callable on numpy arrays): the
    Kolmogorov–Smirnov test does not reject at level :data:`KS_LEVEL`."""
    x = _values(samples, what)
    result = stats.kstest(x, cdf)
    holds = result.pvalue >= KS_LEVEL
    return _conclude(holds, tr("{what} (Kolmogorov–Smirnov distance {distance}, n = {n}, p = {p})", what=what,
                               distance=fmt(result.statistic, 3), n=x.size, p=fmt(result.pvalue, 2)), quiet)


def claim_below(what: str, value, bound, *, why: str = "", quiet: bool = False) -> Claim:
    """``value`` < ``bound``."""
    v, b = _scalar(value, what), _scalar(bound, what)
    reason = tr("; {why}", why=why) if why else ""
    return _conclude(v < b, tr("{what}: {value} < {bound}", what=what, value=fmt(v), bound=fmt(b)) + reason, quiet)


def claim_above(what: str, value, bound, *, why: str = "", quiet: bool = False) -> Claim:
    """``value`` > ``bound``."""
    v, b = _scalar(value, what), _scalar(bound, what)
    reason = tr("; {why}", why=why) if why else ""
    return _conclude(v > b, tr("{what}: {value} > {bound}", what=what, value=fmt(v), bound=fmt(b)) + reason, quiet)


def claim_true(what: str, holds: bool, *, detail: str = "", quiet: bool = False) -> Claim:
    """A yes/no claim (e.g. "the model's output changes with t"); ``detail`` says what was measured."""
    sentence = tr("{what} ({detail})", what=what, detail=detail) if detail else what
    return _conclude(bool(holds), sentence, quiet)
