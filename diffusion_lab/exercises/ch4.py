r"""Chapter 4 exercises — ε-prediction training, and two bugs found in widely copied code.

q1  noisy_batch(schedule, x0, generator): one training batch (x_t, t, ε) — a step and a noise per example, x_t in
    x0's dtype and shape (the template noises with ᾱ_t where √ᾱ_t belongs; the schedule is float64)
q2  uses_time(model, x_t, T): does the output for x_t change with the code index k anywhere in 0..T−1?
q3  FixedSketch: make a sketched network actually use its time embedding
q4  simple_loss(model, schedule, x0, generator): the training loss L_simple for one batch, t and ε drawn
q5  train_loop(model, schedule, sample_data, steps, generator): the whole training loop for the 2D MLP, checked by
    the loss it reaches and the quality of its samples

The maths' steps are t = 1..T; code indexes them k = t − 1 = 0..T−1 (a function argument named ``t`` holds
that code index, an int or a LongTensor (batch,), as in the package).
"""
from __future__ import annotations

import inspect
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..i18n import tr
from ..models import SinusoidalTimeEmbedding
from ..schedules import make_schedule
from .base import (Exercise, Incorrect, Mistake, as_bool, as_float64, call_student, close, diagnose, max_abs_diff,
                   require_callable, require_dtype, source_of)

__all__ = ["q1", "q2", "q3", "q4", "q5", "buggy_noisy_sample", "reference_noisy_sample", "reference_noisy_batch",
           "reference_simple_loss",
           "reference_train_loop", "LOOP_STEPS", "LOOP_LOSS_MAX", "LOOP_MMD_MAX",
           "reference_uses_time", "SketchDenoiser", "ReferenceFixedSketch", "BUGGY_TEMPLATE", "T_CHECK"]

T_CHECK = 1000
_SCHEDULE = make_schedule("linear", T_CHECK)


def _coef(values: torch.Tensor, t, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped to broadcast against ``like`` (batch, ...)."""
    v = values[t].to(like.dtype)
    if isinstance(t, torch.Tensor) and t.dim() == 1:
        v = v.reshape(-1, *([1] * (like.dim() - 1)))
    return v


# ---------------------------------------------------------------------------------------------
# q1 — spot the bug: ᾱ_t where √ᾱ_t belongs
# ---------------------------------------------------------------------------------------------
def buggy_noisy_sample(schedule, x0, t, eps):
    """The template's version (WRONG): the signal is scaled by ᾱ_t instead of √ᾱ_t."""
    abar = _coef(schedule.alphas_cumprod, t, x0)
    return abar * x0 + torch.sqrt(1 - abar) * eps


#: The buggy template as the notebook shows it.
BUGGY_TEMPLATE = inspect.getsource(buggy_noisy_sample)


def reference_noisy_sample(schedule, x0, t, eps):
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε; t an int or a LongTensor (batch,)."""
    abar = schedule.alphas_cumprod[t].to(x0.dtype)
    if isinstance(t, torch.Tensor) and t.dim() == 1:
        abar = abar.reshape(-1, *([1] * (x0.dim() - 1)))   # (batch, 1, ...) to broadcast over x0
    return abar.sqrt() * x0 + (1 - abar).sqrt() * eps


def _with_abar(signal, noise, name="alphas_cumprod"):
    """A wrong noising: ``signal(c)·x0 + noise(c)·ε`` with c = schedule.<name>[t] broadcast over x0."""
    def wrong(schedule, x0, t, eps):
        c = _coef(getattr(schedule, name), t, x0)
        return signal(c) * x0 + noise(c) * eps
    return wrong


def _next_abar(schedule, x0, t, eps):
    a = schedule.alphas_cumprod
    c = _coef(torch.cat([a[1:], a[-1:]]), t, x0)
    return c.sqrt() * x0 + (1 - c).sqrt() * eps


def _one_step(schedule, x0, t, eps):
    return _coef(schedule.alphas, t, x0).sqrt() * x0 + _coef(schedule.betas, t, x0).sqrt() * eps


_NOISING_MISTAKES = (
    Mistake(buggy_noisy_sample,
            "the template's bug is still there: the signal is scaled by ᾱ_t, but it must be √ᾱ_t. With ᾱ_t the "
            "variance of x_t is ᾱ_t²·Var(x0) + (1 − ᾱ_t), not 1 for unit-variance data, and x_t has the wrong "
            "distribution at every t, so the network trains on inputs that sampling never produces."),
    Mistake(_with_abar(torch.sqrt, lambda c: 1 - c),
            "the noise is scaled by (1 − ᾱ_t); it must be √(1 − ᾱ_t). The closed form gives x_t VARIANCE "
            "ᾱ_t·Var(x0) + (1 − ᾱ_t): the square roots are the standard deviations."),
    Mistake(_with_abar(lambda c: c, lambda c: 1 - c),
            "both ᾱ_t and 1 − ᾱ_t appear without square roots: they are variances, the multipliers are their "
            "square roots √ᾱ_t and √(1 − ᾱ_t)."),
    Mistake(_with_abar(lambda c: (1 - c).sqrt(), torch.sqrt),
            "the signal and noise coefficients are swapped: x0 gets √ᾱ_t (≈ 1 at small t), ε gets √(1 − ᾱ_t)."),
    Mistake(_one_step,
            "that is ONE noising step q(x_t | x_{t−1}) with α_t and β_t. To jump from x0 straight to x_t use the "
            "cumulative product ᾱ_t = α_1·α_2⋯α_t (schedule.alphas_cumprod)."),
    Mistake(_with_abar(torch.sqrt, lambda c: (1 - c).sqrt(), name="alphas_cumprod_prev"),
            "off by one step: you used ᾱ_{t−1} (alphas_cumprod_prev). For the code index k = t − 1, "
            "alphas_cumprod[k] is ᾱ_t, the one x_t needs."),
    Mistake(_next_abar,
            "off by one step: you used ᾱ_{t+1}. For the code index k = t − 1, alphas_cumprod[k] is ᾱ_t, the one "
            "x_t needs."),
    Mistake(_with_abar(torch.sqrt, lambda c: 0 * c),
            "you only scaled x0: the noise term √(1 − ᾱ_t)·ε is missing."),
    Mistake(_with_abar(lambda c: torch.ones_like(c), lambda c: (1 - c).sqrt()),
            "the x0 term is not scaled: it must shrink as √ᾱ_t (x0 + noise only grows the variance)."),
)


def reference_noisy_batch(schedule, x0, generator=None):
    """One training batch: a code index t ~ U{0..T−1} and noise ε ~ N(0, I) per example (both drawn with
    ``generator``), and x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε in x0's dtype, for x0 of any shape (B, ...)."""
    t = torch.randint(0, schedule.T, (x0.shape[0],), generator=generator)   # code indices: the papers' t − 1
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    abar = schedule.alphas_cumprod[t].to(x0.dtype)             # float64 in the schedule: cast to x0's dtype
    abar = abar.reshape(-1, *([1] * (x0.dim() - 1)))           # (B, 1, ...): one value per example
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    return x_t, t, eps


def _batch_with(noise):
    """A wrong noisy_batch as a student would write it: the reference's draws, x_t made by ``noise``
    (kept as ``.noise`` so the checker can apply it to the student's own t and ε)."""
    def noisy_batch(schedule, x0, generator=None):
        t = torch.randint(0, schedule.T, (x0.shape[0],), generator=generator)
        eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
        return noise(schedule, x0, t, eps), t, eps
    noisy_batch.noise = noise
    return noisy_batch


NOISY_MISTAKES = tuple(Mistake(_batch_with(m.wrong), m.hint) for m in _NOISING_MISTAKES)

#: The seeds of the generators 4.1's check passes (two different ones: a function that ignores its
#: generator returns the same batch for both).
_BATCH_SEEDS = (11, 12)


def _call_batch(fn, x0, seed, label):
    """The student's (x_t, t, eps) for ``x0``, with a fresh generator of ``seed``; broadcasting errors
    get the reason."""
    try:
        with torch.random.fork_rng():              # a function that ignores `generator` leaves no trace
            out = call_student(fn, _SCHEDULE, x0.clone(), torch.Generator().manual_seed(seed))
    except Incorrect as err:
        if err.kind == "" and ("must match the size" in str(err) or "broadcast" in str(err)):
            raise Incorrect(tr("for {label}: {err} schedule.alphas_cumprod[t] has shape (B,), which does not "
                               "broadcast against x0 of shape (B, ...): give it one value per example and size-1 "
                               "dimensions for the rest, shape (B, 1, ...).", label=label, err=err)) from None
        if "out of bounds" in str(err):
            raise Incorrect(tr("{err}. Code indices run k = 0..T−1 (the papers' t = 1..T, k = t − 1): draw them with "
                               "torch.randint(0, T, ...), whose upper bound is exclusive.", err=err)) from None
        raise
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise Incorrect(tr("return three things, x_t, t, eps (a tuple, in that order), got {type_name}.",
                           type_name=type(out).__name__))
    return out


def _check_batch_case(fn, x0, label, full: bool) -> torch.Tensor:
    """One input: t, eps, then x_t, each with its reason. ``full``: the big batch, where the draws of t
    and ε are also checked for coverage and distribution. Returns the student's x_t."""
    x_t, t, eps = _call_batch(fn, x0, _BATCH_SEEDS[0], label)
    B = x0.shape[0]
    _check_t(t, B, _SCHEDULE.T, coverage=full)
    if not isinstance(eps, torch.Tensor) or tuple(eps.shape) != tuple(x0.shape):
        shape = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
        raise Incorrect(tr("for {label}: eps should be a tensor of x0's shape {want}, got {got}.", label=label,
                           want=tuple(x0.shape), got=shape))
    require_dtype(eps, x0, tr("for {label}: your eps", label=label))
    if full:
        n, mean, var = eps.numel(), float(eps.double().mean()), float(eps.double().var())
        if abs(mean) > LOSS_Z / math.sqrt(n) or abs(var - 1) > LOSS_Z * math.sqrt(2 / n):
            raise Incorrect(tr("your ε is not standard normal noise (mean {mean:.3f}, variance {var:.3f}; N(0, 1) "
                               "gives 0 and 1): use torch.randn(x0.shape, generator=generator).", mean=mean, var=var))
    if not isinstance(x_t, torch.Tensor):
        raise Incorrect(tr("for {label}: x_t should be a tensor, got {type_name}.", label=label,
                           type_name=type(x_t).__name__))
    require_dtype(x_t, x0, tr("for {label}: your x_t", label=label))
    got = as_float64(x_t, tr("for {label} x_t", label=label), x0.shape)
    x0_64, eps_64 = x0.double(), eps.detach().double()
    want = reference_noisy_sample(_SCHEDULE, x0_64, t, eps_64)
    if not close(got, want):
        diagnose(got, NOISY_MISTAKES, prefix=label, run=lambda wrong: wrong.noise(_SCHEDULE, x0_64, t, eps_64))
        raise Incorrect(tr("for {label} your x_t differs from √ᾱ_t·x0 + √(1 − ᾱ_t)·ε (with your own t and ε) by "
                           "up to {max_abs_diff:.3g}.", label=label, max_abs_diff=max_abs_diff(got, want)))
    return x_t


def _check_noisy_batch(fn) -> None:
    require_callable(fn, "q1.check(noisy_batch)")
    gen = torch.Generator().manual_seed(4)
    points = torch.randn(LOSS_BATCH, 2, generator=gen) * 0.5 + 1.0            # float32, as data usually is
    images = torch.rand(6, 1, 4, 4, generator=gen) * 2 - 1
    cases = ((tr("{B} points of shape (B, 2) in float32", B=LOSS_BATCH), points, True),
             (tr("6 images of shape (6, 1, 4, 4) in float32"), images, False),
             (tr("64 points in float64"), points[:64].double(), False))
    for label, x0, full in cases:
        _check_batch_case(fn, x0, label, full)
    small = points[:64]
    first, again = (_call_batch(fn, small, _BATCH_SEEDS[0], "")[0] for _ in range(2))
    other = _call_batch(fn, small, _BATCH_SEEDS[1], "")[0]
    if not torch.equal(first, again):
        raise Incorrect(tr("two calls with generators of the same seed gave different batches: draw t and ε with "
                           "the generator you are given (generator=generator), and nothing else random."))
    if torch.equal(first, other):
        raise Incorrect(tr("generators of different seeds gave the same batch: your draws ignore `generator`. Pass "
                           "generator=generator to both draws, so a run can be repeated."))


q1 = Exercise(
    "Exercise 4.1 — one training batch: steps, noise and x_t",
    _check_noisy_batch,
    hints=[
        "A training batch needs three things per example: a step, a noise, and the noisy sample made from the two. "
        "Draw the step and the noise with the generator you are given, then noise in one jump with the closed "
        "form — √ᾱ_t on x0, not the template's ᾱ_t.",
        "Steps: integers uniform over all code indices 0 … T−1, one per example (torch.randint's upper bound is "
        "exclusive). Noise: standard normal, with x0's shape and dtype. For a batch of steps, ᾱ_t is a vector of "
        "B values: it must line up with x0's FIRST dimension, whatever x0's shape.",
        "Two traps remain. schedule.alphas_cumprod is float64: cast the B values to x0's dtype before multiplying, "
        "or float32 data comes back as float64 x_t, which a float32 network rejects later. And give the B values "
        "as many size-1 dimensions as x0 has after the first, (B, 1) for points, (B, 1, 1, 1) for images; then "
        "x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε, returned with t and ε.",
    ],
    solution=source_of(reference_noisy_batch),
    reference=reference_noisy_batch,
    mistakes=NOISY_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2 — does the network look at t?  q3 — fix a sketch whose time embedding is never used
# ---------------------------------------------------------------------------------------------
class SketchDenoiser(nn.Module):
    """A sketched "U-Net" that computes a time embedding and never uses it (a bug in widely copied code).

    x (B, C, H, W), t (B,) → ε̂ (B, C, H, W). The bug: ``emb`` is thrown away, so ε̂ is the same for
    t = 5 and t = 900, although the right answer differs enormously.
    """

    def __init__(self, channels: int = 1, width: int = 16, time_dim: int = 16):
        super().__init__()
        self.time_embed = SinusoidalTimeEmbedding(time_dim)
        self.time_proj = nn.Linear(time_dim, width)
        self.conv_in = nn.Conv2d(channels, width, 3, padding=1)
        self.conv_mid = nn.Conv2d(width, width, 3, padding=1)
        self.conv_out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, x, t):
        emb = self.time_proj(self.time_embed(t))     # noqa: F841 — (B, width): computed ...
        h = F.silu(self.conv_in(x))
        h = F.silu(self.conv_mid(h))
        return self.conv_out(h)                      # ... and never used


class ReferenceFixedSketch(SketchDenoiser):
    """The sketch with its embedding added to the features (broadcast over H and W)."""

    def forward(self, x, t):
        emb = self.time_proj(self.time_embed(t))     # (B, width)
        h = F.silu(self.conv_in(x))
        h = h + emb[:, :, None, None]                # every pixel's features now know t
        h = F.silu(self.conv_mid(h))
        return self.conv_out(h)


def reference_uses_time(model, x_t, T=T_CHECK) -> bool:
    """True when the output at some code index k in 1..T−1 differs, exactly, from the output at k = 0."""
    b = x_t.shape[0]
    with torch.no_grad():
        at_zero = model(x_t, torch.zeros(b, dtype=torch.long))
        for t in range(1, T):
            if not torch.equal(model(x_t, torch.full((b,), t, dtype=torch.long)), at_zero):
                return True
    return False


def _t_column(x, t):
    return t.to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))


#: The checker asks uses_time about code steps 0..USES_TIME_T−1 (a short range keeps the check fast;
#: the question is the same for any T).
USES_TIME_T = 100


class _LateOnly(nn.Module):
    """Uses t, but only for code indices k ≥ 50 (comparing neighbours such as k = 0 and k = 1 misses it)."""

    def forward(self, x, t):
        return 0.5 * x + _t_column(x, (t >= 50).long())


class _Window(nn.Module):
    """Uses t only for code indices 40 ≤ k < 45: the same output at k = 0 and k = T−1, so two probes miss it."""

    def forward(self, x, t):
        return 0.5 * x + _t_column(x, ((t >= 40) & (t < 45)).long())


class _Weak(nn.Module):
    """Uses t, but only by one part in a million (its output is scaled by 1 + 10⁻⁶ for t ≥ 1): any
    tolerance-based comparison (torch.allclose's default rtol is 10⁻⁵) misses it; torch.equal sees it."""

    def forward(self, x, t):
        return 0.5 * x * (1 + 1e-6 * _t_column(x, (t >= 1).long()))


class _TimeAsTensor(nn.Module):
    """A model of 4.2's check as the student calls it: a python int step gets the reason, not an
    AttributeError from deep inside the network."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x, t):
        if not isinstance(t, torch.Tensor):
            raise Incorrect(tr("you called model(x_t, {t}) with a python {type_name}: the course's networks take "
                               "the step as a tensor with one code index per example, a LongTensor of shape (B,) — "
                               "for step k, B copies of k.", t=repr(t), type_name=type(t).__name__))
        return self.inner(x, t)


def _probe_pair(t_a, t_b, equal=torch.equal):
    """A wrong uses_time that compares two code steps only."""
    def wrong(model, x_t, T=T_CHECK):
        b = x_t.shape[0]
        with torch.no_grad():
            first = model(x_t, torch.full((b,), t_a, dtype=torch.long))
            return not equal(first, model(x_t, torch.full((b,), min(t_b, T - 1), dtype=torch.long)))
    return wrong


def _tolerant_scan(model, x_t, T=T_CHECK):
    """A wrong uses_time: every t, but 'equal' up to a tolerance."""
    b = x_t.shape[0]
    with torch.no_grad():
        at_zero = model(x_t, torch.zeros(b, dtype=torch.long))
        return any(not torch.allclose(model(x_t, torch.full((b,), t, dtype=torch.long)), at_zero, atol=1e-3)
                   for t in range(1, T))


USES_TIME_MISTAKES = (
    Mistake(lambda model, x_t, T=T_CHECK: True,
            "you answered True for every model, also for the sketch, whose output is identical for every t (the "
            "embedding is never added to anything). Compare model(x_t, t) for the SAME x_t and different t — "
            "are they exactly equal?"),
    Mistake(lambda model, x_t, T=T_CHECK: False,
            "you answered False for every model, also for ones that do use t. Compare model(x_t, t) for "
            "different t on the same x_t."),
    Mistake(_probe_pair(0, 1),
            "you compared neighbouring steps (code indices k = 0 and k = 1) and missed a model that changes its "
            "output only for k ≥ 50 (of T = 100). Compare the output at step k with the output at step 0 for EVERY "
            "code index k in 0..T−1."),
    Mistake(_probe_pair(0, T_CHECK),
            "two probes cannot decide it: you missed a model that reacts to t only for code indices 40 ≤ k < 45 "
            "(of T = 100; its output at k = 0 and k = T−1 is the same). Compare the output at step k with the "
            "output at step 0 for EVERY code index k in 0..T−1."),
    Mistake(_tolerant_scan,
            "you missed a model whose output changes with t by only one part in a million: a tolerance "
            "(torch.allclose, or a threshold on the difference) hides it. The exercise asks whether the outputs are "
            "EXACTLY equal: torch.equal(a, b)."),
)


def _uses_time_cases():
    """(label, model, right answer); fixed weights, made without touching the student's RNG state."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        sketch, fixed = SketchDenoiser().eval(), ReferenceFixedSketch().eval()
    return [(tr("the sketch (it ignores t)"), sketch, False),
            (tr("the fixed sketch (it uses t)"), fixed, True),
            (tr("a model that reacts to t only for code indices k ≥ 50"), _LateOnly(), True),
            (tr("a model whose output changes by one part in a million with t"), _Weak(), True),
            (tr("a model that reacts to t only for code indices 40 ≤ k < 45"), _Window(), True)]


def _check_uses_time(fn) -> None:
    require_callable(fn, "q2.check(uses_time)")
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    cases = _uses_time_cases()

    def answers(uses_time):
        return tuple(as_bool(call_student(uses_time, _TimeAsTensor(model), x.clone(), USES_TIME_T),
                             tr("uses_time on {label}", label=label))
                     for label, model, _ in cases)

    got = answers(fn)
    if got == tuple(right for _, _, right in cases):
        return
    diagnose(got, USES_TIME_MISTAKES, run=answers)
    label, _, right = next(case for case, answer in zip(cases, got) if answer != case[2])
    if not right:
        raise Incorrect(tr("you said the sketch uses t, but its output is identical for every t (the embedding is "
                           "never added to anything). Did you compare the same t twice, or different x_t?"))
    raise Incorrect(tr("you answered False for {label}. Compare the output at step k with the output at step 0 for "
                       "every code index k in 0..T−1, with exact equality (torch.equal).", label=label))


q2 = Exercise(
    "Exercise 4.2 — spot the bug: does the network look at t?",
    _check_uses_time,
    hints=[
        "Hold x_t fixed and vary only the step. The model ignores t exactly when its output is the same for every "
        "code index k = 0..T−1.",
        "A model may react to t only in part of the range, or only by a hair. So probe EVERY step, not two, and "
        "ask for exact equality, not closeness: torch.equal, not torch.allclose.",
        "Compute the output at step 0 once; then, for each step k from 1 to T−1, compare the output at k with it "
        "and answer True at the first difference, False if none differs. The networks take the step as a "
        "LongTensor with one entry per example (torch.full makes B copies of k), and no gradients are needed "
        "(torch.no_grad()).",
    ],
    solution=source_of(reference_uses_time),
    reference=reference_uses_time,
    mistakes=USES_TIME_MISTAKES,
)


def _check_fixed_sketch(cls) -> None:
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise Incorrect(tr("pass your class itself (a subclass of SketchDenoiser): q3.check(FixedSketch)."))
    try:
        with torch.random.fork_rng():              # fixed weights, without touching the student's RNG state
            torch.manual_seed(0)
            model = cls()
    except Exception as err:
        raise Incorrect(tr("FixedSketch() raised {type_name}: {err}. Keep the sketch's __init__ (subclass "
                           "SketchDenoiser and only write forward).", type_name=type(err).__name__, err=err)) from None
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([0, 300, 600, 999])
    out = call_student(model, x, t)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise Incorrect(tr("forward must return ε̂ with x's shape {want}, got {got}.",
                           want=tuple(x.shape), got=shape))
    model.eval()
    with torch.no_grad():
        same_for_all_t = all(torch.equal(model(x, torch.full((4,), s)), model(x, torch.zeros(4, dtype=torch.long)))
                             for s in (1, 300, 999))
    if same_for_all_t:
        raise Incorrect(tr("the output still does not change with t: the embedding must be added to the features "
                           "between two layers (before the last convolution), with two size-1 dimensions appended so "
                           "it broadcasts over the pixels."))
    proj = getattr(model, "time_proj", None)
    if proj is None:
        raise Incorrect(tr("keep the sketch's layers: subclass SketchDenoiser so self.time_proj exists."))
    model.zero_grad()
    called = set()
    hooks = [layer.register_forward_hook(lambda module, args, out, name=name: called.add(name))
             for name, layer in (("embed", getattr(model, "time_embed", None)), ("proj", proj))
             if isinstance(layer, nn.Module)]
    try:
        model(x, t).pow(2).mean().backward()
    finally:
        for hook in hooks:
            hook.remove()
    if proj.weight.grad is None or float(proj.weight.grad.abs().sum()) == 0.0:
        if "embed" in called and "proj" not in called:
            raise Incorrect(tr("you added the sinusoidal embedding self.time_embed(t) itself and skipped "
                               "self.time_proj. The sketch's emb is time_proj(time_embed(t)): the fixed sines and "
                               "cosines go through a learned layer, so training can choose how each feature "
                               "channel reacts to t (and the width may differ from the embedding's)."))
        raise Incorrect(tr("your output depends on t, but not through the embedding: time_proj gets no gradient, "
                           "e.g. raw t added to the features. Raw t runs up to 999 and would swamp them; add the "
                           "sketch's emb = self.time_proj(self.time_embed(t)), broadcast over the pixels."))
    x2 = x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        if torch.allclose(model(x, t), model(x2, t)):
            raise Incorrect(tr("the output no longer depends on the image x: keep the convolutions on x and ADD the "
                               "embedding to their features."))
    if not isinstance(model, SketchDenoiser):
        raise Incorrect(tr("subclass SketchDenoiser (class FixedSketch(SketchDenoiser): ...) and only write forward."))


q3 = Exercise(
    "Exercise 4.3 — fix the sketch so it uses t",
    _check_fixed_sketch,
    hints=[
        "The sketch computes a time embedding emb from t, one value per feature channel, and then never uses it. "
        "Where could it enter the image features h?",
        "emb has shape (B, width), one value per channel; the features after the first convolution have shape "
        "(B, width, H, W). Add emb to them between two layers, so the later layers see it.",
        "Copy the sketch's forward and add one line after the first convolution: the features plus emb, with two "
        "size-1 dimensions appended to emb so it broadcasts over the pixels (indexing with None adds them). "
        "F is torch.nn.functional.",
    ],
    solution=source_of(ReferenceFixedSketch),
    reference=ReferenceFixedSketch,
)


# ---------------------------------------------------------------------------------------------
# q4 — the training loss for one batch: draw t and ε, noise, compare
# ---------------------------------------------------------------------------------------------
def reference_simple_loss(model, schedule, x0, generator=None):
    """L_simple for one batch: t ~ U{0..T−1} and ε ~ N(0, I) per example, x_t in closed form,
    the mean over batch and coordinates of (ε − ε_θ(x_t, t))²."""
    t = torch.randint(0, schedule.T, (x0.shape[0],), generator=generator)   # code indices 0..T−1, all of them
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    abar = schedule.alphas_cumprod[t].to(x0.dtype).reshape(-1, *([1] * (x0.dim() - 1)))
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    return ((eps - model(x_t, t)) ** 2).mean()


class _RecordingModel(nn.Module):
    """A fixed toy ε-model (depends on x_t and mildly on t) that records what it was called with."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x_t, t):
        t_col = torch.as_tensor(t).to(x_t.dtype)
        if t_col.dim() == 1:
            t_col = t_col.reshape(-1, *([1] * (x_t.dim() - 1)))
        out = 0.6 * x_t + 0.3 * torch.tanh(x_t.flip(-1)) + 4e-4 * t_col
        self.calls.append((x_t.detach().clone(), t, out.detach().clone()))
        return out


#: Examples in the checker's batch: with B = 20 000 uniform draws over T = 1000 steps, P(step 0 never
#: drawn) = 0.999²⁰⁰⁰⁰ ≈ 2e-9, and the mean of t has standard error 288.7/√B ≈ 2.0.
LOSS_BATCH = 20_000
#: How many standard errors the mean of t and the mean/variance of the recovered ε may be off.
LOSS_Z = 5.0


def _loss_candidates(x0, x_t, t, out, schedule):
    """What the typical wrong losses would give on the recorded batch: (value, hint) pairs."""
    abar = schedule.alphas_cumprod[t].reshape(-1, *([1] * (x0.dim() - 1)))
    eps = (x_t - abar.sqrt() * x0) / (1 - abar).sqrt()          # the ε a right x_t was made with
    eps_bug = (x_t - abar * x0) / (1 - abar).sqrt()              # ... with the template's ᾱ_t x0
    return eps, (
        Mistake(((eps_bug - out) ** 2).mean(),
                "x_t is built with the template's bug (ᾱ_t x0 instead of √ᾱ_t x0): fix it as in exercise 4.1."),
        Mistake(((eps - out) ** 2).sum(),
                "you summed the squared errors; L_simple is their MEAN (over the batch and the coordinates), so "
                "its size does not depend on the batch size: use .mean()."),
        Mistake(((x0 - out) ** 2).mean(),
                "your loss compares the network's output with x0. In ε-prediction the target is the noise ε that "
                "made x_t: the mean squared difference between ε and the network's output."),
        Mistake(((x_t - out) ** 2).mean(), "you compared the output with x_t; the target is the noise ε."),
        Mistake((eps - out).mean() ** 2,
                "you squared the mean error; square each error first, then average the squares."),
        Mistake((eps - out).mean(), "you averaged the errors without squaring them."),
    )


def _check_t(t, B: int, T: int, coverage: bool = True) -> None:
    """The code indices drawn: one integer per example in 0..T−1; with ``coverage`` (a big batch) also
    different from each other, reaching both ends and uniform over all of 0..T−1."""
    if not isinstance(t, torch.Tensor) or t.dim() == 0 or (t.numel() == 1 and B > 1):
        raise Incorrect(tr("you gave the whole batch one step t. Draw one per example, torch.randint(0, T, (B,), "
                           "generator=generator): then every batch trains many steps at once, and one random t per "
                           "example is an unbiased estimate of the sum over all t."))
    if t.is_floating_point() or t.dtype == torch.bool:
        raise Incorrect(tr("t must be integer code indices (a LongTensor, as torch.randint gives), got {dtype}.",
                           dtype=t.dtype))
    if tuple(t.shape) != (B,):
        raise Incorrect(tr("t should have one step per example, shape ({B},), got {shape}.",
                           B=B, shape=tuple(t.shape)))
    lo, hi = int(t.min()), int(t.max())
    if coverage and lo == hi and B > 1:
        raise Incorrect(tr("all {B} examples got the same code index k = {t}: you drew one step for the whole "
                           "batch. Draw "
                           "one per example (a tensor of shape ({B},)): then every batch trains many steps at once, "
                           "and one random t per example is an unbiased estimate of the average over all t.",
                           B=B, t=lo))
    if hi > T - 1 or lo < 0:
        raise Incorrect(tr("you drew the code index {t}, outside 0..T−1 = 0..{last} (the papers' t = 1..T, "
                           "k = t − 1). torch.randint's upper bound is exclusive: torch.randint(0, T, ...).",
                           t=hi if hi > T - 1 else lo, last=T - 1))
    if not coverage:
        return
    if lo >= 1:
        raise Incorrect(tr("no example in {B} was drawn at code index k = 0 (the papers' t = 1): "
                           "torch.randint(1, T, ...) "
                           "(the papers' t ≥ 1 carried into code) draws 1..T−1 only, so index 0 — the step the "
                           "sampler's last move "
                           "uses — is never trained. Draw torch.randint(0, T, ...).", B=B))
    if hi < T - 1:
        raise Incorrect(tr("no example in {B} was drawn at the last code index k = {last} (t = T): the noisiest "
                           "step, where "
                           "sampling starts, is never trained. torch.randint's upper bound is exclusive: "
                           "torch.randint(0, T, ...).", B=B, last=T - 1))
    mean, se = float(t.double().mean()), math.sqrt((T ** 2 - 1) / 12 / B)
    if abs(mean - (T - 1) / 2) > LOSS_Z * se:
        raise Incorrect(tr("your code indices are not uniform over 0..T−1: their mean is {mean:.1f}, uniform "
                           "steps give {middle} "
                           "± {se:.1f}. Draw them with torch.randint(0, T, (B,), generator=generator).",
                           mean=mean, middle=(T - 1) / 2, se=se))


def _check_loss_dtype(fn, x0) -> None:
    """With float32 data (as in training) the network must get float32 x_t: a float64 one is the schedule's
    coefficients leaking in, and a real float32 network fails on it."""
    probe = _RecordingModel()
    with torch.random.fork_rng():
        call_student(fn, probe, _SCHEDULE, x0.clone(), torch.Generator().manual_seed(8))
    if probe.calls:
        require_dtype(probe.calls[-1][0], x0, "for float32 x0, the x_t you gave the model")


def _check_loss(fn) -> None:
    require_callable(fn, "q4.check(simple_loss)")
    sch, model = _SCHEDULE, _RecordingModel()
    gen = torch.Generator().manual_seed(7)
    x0 = torch.randn(LOSS_BATCH, 2, generator=gen, dtype=torch.float64) * 0.5 + 1.0
    try:
        with torch.random.fork_rng():              # a student who ignores `generator` leaves no trace either
            out = call_student(fn, model, sch, x0.clone(), gen)
    except Incorrect as err:
        if "out of bounds" in str(err):
            raise Incorrect(tr("{err}. Code indices run k = 0..T−1 (the papers' t = 1..T, k = t − 1): draw them with "
                               "torch.randint(0, T, ...), whose upper bound is exclusive.", err=err)) from None
        raise
    if isinstance(out, torch.Tensor) and out.numel() != 1:
        raise Incorrect(tr("the loss must be ONE number (a 0-dim tensor), got shape {shape}: average over the batch "
                           "and the coordinates with .mean().", shape=tuple(out.shape)))
    value = as_float64(out, "the loss")
    if not model.calls:
        raise Incorrect(tr("your loss never called model(x_t, t): the network's ε̂ = model(x_t, t) is what it trains."))
    x_t, t, eps_hat = model.calls[-1]
    x_t = as_float64(x_t, "the x_t you gave the model", x0.shape)
    if close(x_t, x0):
        raise Incorrect(tr("you fed the clean x0 to the network. It must see the noisy x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε "
                           "(with the same t): that is the input it will get during sampling."))
    _check_t(t, LOSS_BATCH, sch.T)
    eps, mistakes = _loss_candidates(x0, x_t, t.long(), eps_hat.double(), sch)
    if close(value, ((eps - eps_hat) ** 2).mean()):
        n = eps.numel()
        mean, var = float(eps.mean()), float(eps.var())
        if abs(mean) > LOSS_Z / math.sqrt(n) or abs(var - 1) > LOSS_Z * math.sqrt(2 / n):
            raise Incorrect(tr("your ε is not standard normal noise (mean {mean:.3f}, variance {var:.3f}; N(0, 1) "
                               "gives 0 and 1): use torch.randn(x0.shape, generator=generator).", mean=mean, var=var))
        _check_loss_dtype(fn, x0[:64].float())
        return
    diagnose(value, mistakes)
    raise Incorrect(tr("your loss is {got:.5g}, but (ε − model(x_t, t))² averaged over this batch gives "
                       "{want:.5g}. Build x_t in closed form, call model(x_t, t), and average (ε − ε̂)².",
                       got=float(value), want=float(((eps - eps_hat) ** 2).mean())))


q4 = Exercise(
    "Exercise 4.4 — L_simple for one batch",
    _check_loss,
    hints=[
        "One training step on a batch: draw a step (a code index) and noise ε for every example, make x_t in closed "
        "form, and compare the network's ε̂ = model(x_t, t) with ε.",
        "Exercise 4.1's noisy_batch already makes x_t, t and ε for a batch: reuse it (or write the same draws "
        "here, with the generator). Then ask the network for its guess at that x_t and that t, and reduce the "
        "squared differences to ε to ONE number.",
        "The loss is the mean of (ε − ε̂)² over every entry, examples and coordinates alike: not the sum (it would "
        "grow with the batch), not the square of the mean error. The network sees x_t, never x0, with the same "
        "t that made x_t; its output is compared with ε, not with x0.",
    ],
    solution=source_of(reference_simple_loss),
    reference=reference_simple_loss,
)


# ---------------------------------------------------------------------------------------------
# q5 — the whole training loop for the 2D MLP
# ---------------------------------------------------------------------------------------------
#: Training steps the checker gives the student's loop: a few hundred batches of 256 train the small
#: TimeMLP far enough to sample the ring recognisably in a few seconds on a CPU.
LOOP_STEPS = 300
#: The mean of the last 50 returned losses must be below this. The exact ε* of the ring scores about
#: 0.25 averaged over t (the floor: no loop's mean gets far under it); the reference loop reaches 0.28–0.29
#: after 300 steps (generator seeds 3–6); a network that answers 0 scores 1, and a loop that does not learn
#: stays near or above that.
LOOP_LOSS_MAX = 0.40
#: MMD² (V-statistic, n = 500, the ring's bandwidths) of 50-step DDIM samples against fresh data must
#: be below this. Two data sets sit at about 0.002 and the exact ε* at about 0.002; the reference loop
#: reaches 0.025 with the check's own seeds and 0.013–0.025 over generator seeds 3–8 (a 2× margin to 0.05;
#: tests/test_exercises_ch4.py measures it); loops that learn the wrong target or never zero their
#: gradients give ≥ 0.15.
LOOP_MMD_MAX = 0.05
#: Steps whose x_t the noising check reads (the papers' t = 251 … 351): there ᾱ_t ≈ 0.45 … 0.7, where
#: √ᾱ_t and ᾱ_t give clearly different spreads.
_NOISING_WINDOW = (250, 350)


class _TrainingRecorder(nn.Module):
    """The student's model as it trains: forwards to a TimeMLP and records, for calls with gradients,
    the smallest and largest t and the second moment of x_t inside :data:`_NOISING_WINDOW`."""

    def __init__(self, inner: nn.Module, schedule):
        super().__init__()
        self.inner = inner
        self.abar = schedule.alphas_cumprod
        self.t_min, self.t_max, self.calls, self.one_t_calls = None, None, 0, 0
        self.window_sq, self.window_abar, self.window_n = 0.0, 0.0, 0

    def forward(self, x_t, t):
        weights = next(self.inner.parameters())
        if isinstance(x_t, torch.Tensor) and x_t.dtype != weights.dtype:
            raise Incorrect(tr("the network got x_t as {got}, but its weights are {want}: this is what makes a "
                               "network fail with \"mat1 and mat2 must have the same dtype\". schedule.alphas_cumprod "
                               "is float64; for a batch of steps its entries turn float32 x0 into float64 x_t. Cast "
                               "them to x0's dtype (.to(x0.dtype)), as in exercise 4.1.",
                               got=str(x_t.dtype).replace("torch.", ""),
                               want=str(weights.dtype).replace("torch.", "")), kind="dtype")
        if torch.is_grad_enabled():
            tt = torch.as_tensor(t).reshape(-1).long()
            self.calls += 1
            if tt.numel() > 1 and bool((tt == tt[0]).all()) or (tt.numel() == 1 and x_t.shape[0] > 1):
                self.one_t_calls += 1
            lo, hi = int(tt.min()), int(tt.max())
            self.t_min = lo if self.t_min is None else min(self.t_min, lo)
            self.t_max = hi if self.t_max is None else max(self.t_max, hi)
            if tt.numel() == x_t.shape[0]:
                inside = (tt >= _NOISING_WINDOW[0]) & (tt <= _NOISING_WINDOW[1])
                if bool(inside.any()):
                    self.window_sq += float(x_t.detach()[inside].double().pow(2).mean(-1).sum())
                    self.window_abar += float(self.abar[tt[inside]].sum())
                    self.window_n += int(inside.sum())
        return self.inner(x_t, t)


def reference_train_loop(model, schedule, sample_data, steps, generator):
    """Adam on L_simple for ``steps`` batches of 256: t ~ U{0..T−1} and ε ~ N(0, I) per example, x_t in
    closed form; returns the loss of every step (a list of floats)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        x0 = sample_data(256)
        t = torch.randint(0, schedule.T, (x0.shape[0],), generator=generator)   # code indices 0 … T−1
        eps = torch.randn(x0.shape, generator=generator)
        abar = schedule.alphas_cumprod[t].float().reshape(-1, 1)
        x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
        loss = ((eps - model(x_t, t)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


class _OptimiserWatch:
    """While active, sees every optimiser step over the model's parameters (a global pre-step hook): how
    many different optimisers stepped them, and whether a step's gradient held more than the last
    backward's (no zero_grad). Clipping only rescales the gradient, so "more" means a different direction."""

    def __init__(self, model: nn.Module):
        self.param = next(model.parameters())
        self.optimisers, self.accumulated, self._last = 0, False, None

    def _grad_hook(self, grad):
        self._last = grad.detach().clone()

    def _pre_step(self, optimizer, args, kwargs):
        if not any(p is self.param for group in optimizer.param_groups for p in group["params"]):
            return
        if not getattr(optimizer, "_diffusion_lab_seen", False):
            optimizer._diffusion_lab_seen = True
            self.optimisers += 1
        grad, last = self.param.grad, self._last
        if grad is not None and last is not None and float(last.norm()) > 0:
            cos = float((grad * last).sum() / (grad.norm() * last.norm() + 1e-30))
            self.accumulated = self.accumulated or cos < 0.999

    def __enter__(self):
        from torch.optim.optimizer import register_optimizer_step_pre_hook
        self._handles = [self.param.register_hook(self._grad_hook), register_optimizer_step_pre_hook(self._pre_step)]
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        return False


def _loop_setup(seed: int = 0):
    """A fresh TimeMLP (fixed initial weights) wrapped in the recorder, the ring, its data source."""
    from ..distributions import make_distribution
    from ..models import TimeMLP

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        inner = TimeMLP(data_dim=2, hidden=64, depth=2, time_dim=32, T=_SCHEDULE.T)
    ring = make_distribution("ring")
    data_gen = torch.Generator().manual_seed(seed + 1)
    return _TrainingRecorder(inner, _SCHEDULE), ring, (lambda n: ring.sample(int(n), generator=data_gen))


def _held_out_errors(model, schedule, x0) -> tuple[float, float]:
    """(L_simple, mean (x0 − output)²) of the trained model on fresh data, one random t per example."""
    gen = torch.Generator().manual_seed(5)
    t = torch.randint(0, schedule.T, (x0.shape[0],), generator=gen)
    eps = torch.randn(x0.shape, generator=gen, dtype=x0.dtype)
    abar = schedule.alphas_cumprod[t].to(x0.dtype).reshape(-1, 1)
    with torch.no_grad():
        out = model(abar.sqrt() * x0 + (1 - abar).sqrt() * eps, t)
    return float(((eps - out) ** 2).mean()), float(((x0 - out) ** 2).mean())


def _check_train_loop(fn) -> None:
    from ..metrics import sample_quality
    from ..sampling import ddim_sample

    require_callable(fn, "q5.check(train_loop)")
    sch = _SCHEDULE
    model, ring, sample_data = _loop_setup()
    before = [p.detach().clone() for p in model.parameters()]
    with torch.random.fork_rng(), _OptimiserWatch(model) as watch:
        losses = call_student(fn, model, sch, sample_data, LOOP_STEPS, torch.Generator().manual_seed(3))
    if isinstance(losses, torch.Tensor):
        losses = losses.detach().reshape(-1).tolist()
    if not isinstance(losses, (list, tuple)) or len(losses) != LOOP_STEPS:
        raise Incorrect(tr("return the loss of every step: a list of {loop_steps} numbers "
                           "(each step's loss as a plain number, with .item()).", loop_steps=LOOP_STEPS))
    values = as_float64(torch.as_tensor([float(v) for v in losses]), "the losses", finite=False)
    if model.calls == 0:
        raise Incorrect(tr("your loop never called model(x_t, t) with gradients on: the loss must come from the "
                           "model."))
    if all(torch.equal(a, b) for a, b in zip(before, model.parameters())):
        raise Incorrect(tr("the weights never changed: make an optimiser over model.parameters() (torch.optim.Adam) "
                           "and call optimizer.step() after loss.backward() in every step."))
    if watch.optimisers > 1:
        raise Incorrect(tr("you made {n} optimisers for {steps} steps: a new one in every step. Adam keeps running "
                           "averages of the gradients (and their squares) from step to step; a new optimiser forgets "
                           "them, so every step is Adam's cautious first step. Make it once, before the loop.",
                           n=watch.optimisers, steps=LOOP_STEPS))
    if watch.accumulated:
        raise Incorrect(tr("the gradients pile up: when the optimiser stepped, the weights' .grad held the sum of this "
                           "step's gradient and earlier ones. Clear the old gradients (the optimiser's zero_grad) "
                           "before every backward pass."))
    if model.one_t_calls > model.calls // 2:
        raise Incorrect(tr("in {n} of {calls} steps all examples of the batch got the same step t: draw one step per "
                           "example (a tensor of shape (256,)), as in exercise 4.1.", n=model.one_t_calls,
                           calls=model.calls))
    if model.t_min >= 1:
        raise Incorrect(tr("no batch was ever drawn at code index 0 (the papers' t = 1): torch.randint(1, T, ...) "
                           "carries the papers' t ≥ 1 into code and never trains the step the sampler's last move "
                           "uses. Draw torch.randint(0, T, ...)."))
    if model.t_max < sch.T - 1:
        raise Incorrect(tr("no batch was ever drawn at the last code index {last} (the papers' t = T, where "
                           "sampling starts). torch.randint's upper bound is exclusive: torch.randint(0, T, ...).",
                           last=sch.T - 1))
    if model.window_n:
        m2 = float(ring.sample(20_000, generator=torch.Generator().manual_seed(9)).pow(2).mean())   # E x0²
        mean_abar = model.window_abar / model.window_n
        got = model.window_sq / model.window_n
        right, template = mean_abar * m2 + 1 - mean_abar, mean_abar ** 2 * m2 + 1 - mean_abar
        if abs(got - template) < abs(got - right):
            raise Incorrect(tr("your x_t are too close to the middle (mean x_t² {got:.3f} where √ᾱ_t x0 + √(1−ᾱ_t) ε "
                               "gives {right:.3f}): that is the template's ᾱ_t x0. The signal's coefficient is √ᾱ_t "
                               "(exercise 4.1).", got=got, right=right))
    final = float(values[-50:].mean())
    if not math.isfinite(final) or final > 10:
        raise Incorrect(tr("your loss grew to {final:.3g}: the gradients pile up from step to step. Clear the old "
                           "gradients (the optimiser's zero_grad) before every backward pass.", final=final))
    model.eval()
    x0_fresh = sample_data(4096)
    held_out, x0_error = _held_out_errors(model, sch, x0_fresh)
    if held_out > 0.9:
        if x0_error < 0.8 * float(x0_fresh.pow(2).mean()):     # it learned something of x0 (answering 0 scores E x0²)
            raise Incorrect(tr("the trained network's L_simple on fresh data is {held_out:.2f}, no better than "
                               "answering 0 (which scores 1), while it predicts x0 with error {x0_error:.2f}: your "
                               "loss compares the output with x0. In ε-prediction the target is the noise ε that "
                               "made x_t: average the squared differences between ε and the network's "
                               "output.", held_out=held_out, x0_error=x0_error))
        raise Incorrect(tr("the trained network's L_simple on fresh data is {held_out:.2f}, no better than answering "
                           "0 (which scores 1). If the target is ε, the gradients probably pile up: clear "
                           "the old gradients (the optimiser's zero_grad) before every backward "
                           "pass.", held_out=held_out))
    if final > LOOP_LOSS_MAX:
        raise Incorrect(tr("the mean of your last 50 losses is {final:.3f}; after {loop_steps} steps it should be "
                           "below {loop_loss_max}. Why that bound: the exact ε* scores about 0.25 (the floor: no "
                           "loop's mean gets far under it), the reference loop reaches 0.28–0.29, and a network that "
                           "answers 0 scores 1. Use batches of 256 and one Adam optimiser with learning rate 3·10⁻³.",
                           final=final, loop_steps=LOOP_STEPS, loop_loss_max=LOOP_LOSS_MAX))
    with torch.no_grad():
        x_T = torch.randn(500, 2, generator=torch.Generator().manual_seed(6))
        samples = ddim_sample(model, sch, x_T, num_steps=50)
    quality = sample_quality(samples, ring, ring.sample(500, generator=torch.Generator().manual_seed(7)))
    if quality.mmd2 > LOOP_MMD_MAX:
        raise Incorrect(tr("the loss is fine but the samples are not: MMD² {mmd2:.3g} to fresh data (should be below "
                           "{loop_mmd_max}). Why that bound: two data sets score about 0.002 and the reference loop "
                           "0.013–0.025 (depending on the seed), so it leaves a 2× margin; loops that learn a wrong "
                           "target or never clear their gradients score 0.15 or more. Check that the model gets the "
                           "same t the noise level was made with.",
                           mmd2=quality.mmd2, loop_mmd_max=LOOP_MMD_MAX))


q5 = Exercise(
    "Exercise 4.5 — the whole training loop",
    _check_train_loop,
    hints=[
        "Each step: a batch of clean points and the loss of exercise 4.4 on it (which draws one random step and "
        "fresh noise per point and makes x_t), then the usual three optimiser lines. Return the list of losses.",
        "Make the Adam optimiser ONCE, before the loop, over the model's parameters, with learning rate 3·10⁻³: "
        "it keeps running averages of the gradients from step to step, which a new optimiser would forget. Each "
        "step: 256 clean points from sample_data, then exercise 4.4's loss on them with the generator — it makes "
        "exercise 4.1's batch itself, so draw t and ε once per step, not a second time.",
        "The three optimiser calls, in order: clear the old gradients (without zero_grad each step adds its "
        "gradient to all earlier ones), backpropagate the loss, step. Append the loss as a plain number (.item()) "
        "and return the list.",
    ],
    solution=source_of(reference_train_loop),
    reference=reference_train_loop,
)
