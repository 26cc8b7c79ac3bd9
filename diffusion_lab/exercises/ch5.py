r"""Chapter 5 exercises — sampling.

q1  posterior_variance(betas): β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t for every step (β̃_1 = 0)
q2  ddpm_step(schedule, x_t, t, eps_hat, z, clip=None): one ancestral DDPM step with σ_t² = β̃_t; with ``clip``
    x̂0 is clipped first, so the mean must come from μ̃_t(x_t, x̂0), not from the ε̂-only form
q3  ddim_update(x_t, abar_t, abar_s, x0_hat): one deterministic DDIM step (η = 0) from t to s for a network
    that predicts x̂0 (ε̂ must be recovered from x_t first)
q4  sampling_loop(eps_model, schedule, x_T, generator): the whole DDPM loop, checked state by state
q5  ddim_eta(abar_t, abar_s, sigma2): the η that gives a DDIM step the variance σ², and the derivation
    s = t − 1, σ² = β̃_t ⇒ η = 1

The maths' steps are t = 1..T; code indexes them k = t − 1 = 0..T−1 (a function argument named ``t``
holds that code index, as in the package's samplers). ᾱ_0 = 1: before the first step nothing is noised.
"""
from __future__ import annotations

import math

import torch

from ..schedules import make_schedule
from ..i18n import tr
from .base import (ATOL, RTOL, Exercise, Incorrect, Mistake, as_float64, call_student, check_close, close,
                   diagnose, max_abs_diff, require_callable, source_of)

__all__ = ["q1", "q2", "q3", "q4", "q5", "reference_posterior_variance", "reference_ddpm_step",
           "reference_ddim_update", "reference_sampling_loop", "reference_ddim_eta"]

_SCHEDULE = make_schedule("linear", 1000)


# ---------------------------------------------------------------------------------------------
# q1 — β̃_t
# ---------------------------------------------------------------------------------------------
def reference_posterior_variance(betas):
    """β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t for t = 1..T (entry k = t − 1), with ᾱ_0 = 1 (so β̃_1 = 0)."""
    abar = torch.cumprod(1 - betas, dim=0)
    abar_prev = torch.cat([torch.ones(1, dtype=betas.dtype), abar[:-1]])
    return (1 - abar_prev) / (1 - abar) * betas


def _abar_and_prev(betas, first=None):
    """(ᾱ_t, ᾱ_{t−1}) for all t; ᾱ_0 = 1, or ``first`` (a mistake) in its place."""
    abar = torch.cumprod(1 - betas, 0)
    head = torch.ones(1, dtype=betas.dtype) if first is None else first(abar)
    return abar, torch.cat([head, abar[:-1]])


def _shifted_right(betas):
    ref = reference_posterior_variance(betas)
    return torch.cat([torch.zeros(1, dtype=ref.dtype), ref[:-1]])


def _shifted_left(betas):
    ref = reference_posterior_variance(betas)
    return torch.cat([ref[1:], ref[-1:]])


POSTERIOR_VARIANCE_MISTAKES = (
    Mistake(lambda betas: betas.clone(),
            "you got β_t back: the ratio uses ᾱ_{t−1} on top and ᾱ_t below, (1 − ᾱ_{t−1})/(1 − ᾱ_t) < 1, so β̃_t "
            "is a bit smaller than β_t."),
    Mistake(lambda betas: (lambda a, p: (1 - p) / (1 - a) * betas)(*_abar_and_prev(betas, lambda a: a[:1])),
            "all right except the first entry (k = 0, the maths' t = 1): your β̃_1 is not 0. Before the first step "
            "nothing is noised (ᾱ_0 = 1), so 1 − ᾱ_0 = 0 and β̃_1 = 0: the last step of sampling adds no noise. Put "
            "a 1 in front of the ᾱ that stand for ᾱ_{t−1}."),
    Mistake(lambda betas: (lambda a, p: (1 - p) / (1 - a))(*_abar_and_prev(betas)),
            "the factor β_t is missing: β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) · β_t."),
    Mistake(lambda betas: (lambda a, p: (1 - a) / (1 - p).clamp(min=1e-300) * betas)(*_abar_and_prev(betas)),
            "the ratio is upside down (or divides by 1 − ᾱ_0 = 0): it is (1 − ᾱ_{t−1}) / (1 − ᾱ_t), previous "
            "step on top."),
    Mistake(_shifted_right,
            "off by one step: for code index k, ᾱ_{t−1} is alphas_cumprod[k − 1] when k ≥ 1 and ᾱ_0 = 1 when "
            "k = 0; your values are shifted by one index."),
    Mistake(_shifted_left,
            "off by one step: for code index k, ᾱ_{t−1} is alphas_cumprod[k − 1] when k ≥ 1 and ᾱ_0 = 1 when "
            "k = 0; your values are shifted by one index."),
)


def _check_posterior_variance(fn) -> None:
    require_callable(fn, "q1.check(posterior_variance)")
    for sched in (_SCHEDULE, make_schedule("cosine", 200)):
        betas = sched.betas.clone()
        out = as_float64(call_student(fn, betas.clone()), "β̃", (sched.T,), finite=False,
                         shape_fix="Return one β̃ per step.")
        if not bool(torch.isfinite(out).all()):
            raise Incorrect(tr("your β̃ contains NaN or inf: the ratio is probably upside down and divides by 1 − "
                               "ᾱ_0 = 0. It is (1 − ᾱ_{t−1}) / (1 − ᾱ_t), previous step on top."))
        ref = reference_posterior_variance(betas)
        bad = int(torch.argmax((out - ref).abs()))
        check_close(out, ref, POSTERIOR_VARIANCE_MISTAKES, betas,
                    otherwise=tr("for {name} (T = {T}) your β̃ is farthest off at index k = {bad} (β̃_t for t = {t}): "
                                 "expected {want:.6g}, got {got:.6g}.",
                                 name=sched.name, T=sched.T, bad=bad, t=bad + 1,
                                 want=float(ref[bad]), got=float(out[bad])))


q1 = Exercise(
    "Exercise 5.1 — the posterior variance β̃_t",
    _check_posterior_variance,
    hints=[
        "β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t: you need ᾱ_t and ᾱ_{t−1} for every t, both made from betas.",
        "ᾱ = torch.cumprod(1 − betas, 0). ᾱ_{t−1} is the same tensor shifted right by one, with ᾱ_0 = 1 in "
        "front (before the first step nothing is noised), so β̃_1 = 0.",
        'Build ᾱ as the cumulative product of 1 − β along the steps. For ᾱ_{t−1}, put a 1 in front and drop the '
        "last entry (torch.cat joins the two pieces; keep betas' dtype). Then β̃ is the elementwise ratio times "
        'betas, as in the formula.',
    ],
    solution=source_of(reference_posterior_variance),
    reference=reference_posterior_variance,
    mistakes=POSTERIOR_VARIANCE_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2 — one DDPM step
# ---------------------------------------------------------------------------------------------
def reference_ddpm_step(schedule, x_t, t, eps_hat, z, clip=None):
    """x_{t−1} = μ̃_t(x_t, x̂0) + σ_t z with σ_t² = β̃_t, x̂0 from ε̂ (clipped to [−clip, clip] if given);
    ``t`` holds the code index k (step k + 1), and the last step (k = 0) adds no noise."""
    beta = float(schedule.betas[t])
    alpha = float(schedule.alphas[t])
    abar = float(schedule.alphas_cumprod[t])
    abar_prev = float(schedule.alphas_cumprod_prev[t])
    x0_hat = (x_t - math.sqrt(1 - abar) * eps_hat) / math.sqrt(abar)
    if clip is not None:
        x0_hat = x0_hat.clamp(-clip, clip)
    mean = (math.sqrt(abar_prev) * beta * x0_hat + math.sqrt(alpha) * (1 - abar_prev) * x_t) / (1 - abar)
    if t == 0:
        return mean
    sigma = math.sqrt(float(schedule.posterior_variance[t]))
    return mean + sigma * z


def _floats(schedule, t):
    """β_t, α_t, ᾱ_t, ᾱ_{t−1}, β̃_t as python floats."""
    return (float(schedule.betas[t]), float(schedule.alphas[t]), float(schedule.alphas_cumprod[t]),
            float(schedule.alphas_cumprod_prev[t]), float(schedule.posterior_variance[t]))


def _ddpm_mean(schedule, x_t, t, eps_hat):
    b, a, ab, _, _ = _floats(schedule, t)
    return (x_t - b / math.sqrt(1 - ab) * eps_hat) / math.sqrt(a)


def _x0_hat(schedule, x_t, t, eps_hat):
    ab = float(schedule.alphas_cumprod[t])
    return (x_t - math.sqrt(1 - ab) * eps_hat) / math.sqrt(ab)


def _plus_noise(mean_of, scale_of):
    """A wrong step: ``mean_of(...)`` plus ``scale_of(β_t, α_t, ᾱ_t, ᾱ_{t−1}, β̃_t)``·z for t > 0."""
    def wrong(schedule, x_t, t, eps_hat, z):
        mean = mean_of(schedule, x_t, t, eps_hat)
        return mean + scale_of(*_floats(schedule, t)) * z if t > 0 else mean
    return wrong


def _sqrt_beta_tilde(b, a, ab, abp, bt):
    return math.sqrt(bt)


def _template_step(schedule, x_t, t, eps_hat, z):
    abp = float(schedule.alphas_cumprod_prev[t])
    return math.sqrt(abp) * _x0_hat(schedule, x_t, t, eps_hat) + math.sqrt(1 - abp) * z


def _per_step_noise_mean(schedule, x_t, t, eps_hat):
    b = float(schedule.betas[t])
    return (x_t - math.sqrt(b) * eps_hat) / math.sqrt(1 - b)


_PER_STEP_NOISE_HINT = (
    "you wrote x_{t−1} = (x_t − √β_t·ε̂)/√(1 − β_t): that undoes ONE forward step x_t = √(1 − β_t)·x_{t−1} + "
    "√β_t·ε as if ε̂ were the noise added in that step alone. But ε̂ estimates the TOTAL noise in x_t "
    "(x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε), of which the last step added only a part, so its coefficient is "
    "β_t/√(1 − ᾱ_t) (≈ 0.0105 at t = 500, against √β_t ≈ 0.1): the mean is (x_t − β_t/√(1 − ᾱ_t)·ε̂)/√α_t, "
    "and then σ_t·z is added.")

DDPM_STEP_MISTAKES = (
    Mistake(lambda schedule, x_t, t, eps_hat, z: reference_ddpm_step(schedule, x_t, t, eps_hat, z) if t > 0
            else _ddpm_mean(schedule, x_t, t, eps_hat) + math.sqrt(float(schedule.betas[t])) * z,
            "at k = 0 (the maths' t = 1, the last step) add no noise: the result is the sample x_0 itself, "
            "σ_1 = 0 (β̃_1 = 0 anyway)."),
    Mistake(_template_step,
            "that is the template's update √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z: the predicted x̂0 put back at noise "
            "level t − 1 with all-fresh noise. It is a valid sampler — a DDIM step with the largest σ the family "
            "allows, σ² = 1 − ᾱ_{t−1} (η far above 1), which keeps nothing of x_t's noise — but not the DDPM "
            "step this exercise asks "
            "for. DDPM keeps part of x_t through the posterior mean (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t and adds only "
            "σ_t·z with σ_t² = β̃_t."),
    Mistake(_plus_noise(_ddpm_mean, lambda b, a, ab, abp, bt: math.sqrt(b)),
            "your noise has σ_t² = β_t; this exercise asks for σ_t² = β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t "
            "(schedule.posterior_variance[k] at code index k = t − 1). Both are valid choices, but they differ — "
            "mostly at small t."),
    Mistake(_plus_noise(_ddpm_mean, lambda b, a, ab, abp, bt: bt),
            "you used the variance as the noise scale: multiply z by σ_t = √β̃_t, not by β̃_t."),
    Mistake(_plus_noise(_per_step_noise_mean, _sqrt_beta_tilde), _PER_STEP_NOISE_HINT),
    Mistake(lambda schedule, x_t, t, eps_hat, z: _per_step_noise_mean(schedule, x_t, t, eps_hat),
            _PER_STEP_NOISE_HINT),
    Mistake(_plus_noise(lambda s, x_t, t, e: (x_t - float(s.betas[t]) * e) / math.sqrt(float(s.alphas[t])),
                        _sqrt_beta_tilde),
            "the ε̂ coefficient must be β_t/√(1 − ᾱ_t), not β_t: the network predicts the TOTAL noise in x_t, of "
            "which only a part was added in the last step."),
    Mistake(_plus_noise(lambda s, x_t, t, e: _ddpm_mean(s, x_t, t, e) * math.sqrt(float(s.alphas[t])),
                        _sqrt_beta_tilde),
            "the division by √α_t is missing: μ = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t."),
    Mistake(lambda schedule, x_t, t, eps_hat, z: _x0_hat(schedule, x_t, t, eps_hat),
            "you returned the predicted x̂0 = (x_t − √(1−ᾱ_t)ε̂)/√ᾱ_t — a jump straight to the end, which is only "
            "E[x0 | x_t], a blurry average. One step goes from t to t − 1 only."),
    Mistake(lambda schedule, x_t, t, eps_hat, z: _ddpm_mean(schedule, x_t, t, eps_hat),
            "you forgot to add the noise σ_t·z (at every step but the last, k > 0). Without it every step lands "
            "on the average of x_{t−1}: "
            "the samples shrink together."),
)


def _clip_ignored(schedule, x_t, t, eps_hat, z, clip):
    return reference_ddpm_step(schedule, x_t, t, eps_hat, z)


def _output_clipped(schedule, x_t, t, eps_hat, z, clip):
    return reference_ddpm_step(schedule, x_t, t, eps_hat, z).clamp(-clip, clip)


CLIPPED_STEP_MISTAKES = (
    Mistake(_clip_ignored,
            "with clip = 1.0 your step is the unclipped one. The ε̂-only form of the mean, "
            "(x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t, is μ̃_t(x_t, x̂0) with the UNCLIPPED x̂0 plugged in: once x̂0 is clipped it "
            "no longer applies. Compute x̂0, clip it to [−clip, clip], and take the posterior mean μ̃_t(x_t, x̂0) of "
            "section 1."),
    Mistake(_output_clipped,
            "you clipped the result x_{t−1}. Clip the guess x̂0 instead: x_{t−1} still carries noise and may lie "
            "outside [−1, 1]; only the clean image x0 is known to lie inside."),
)


def _check_ddpm_step(fn) -> None:
    require_callable(fn, "q2.check(ddpm_step)")
    sch = _SCHEDULE
    gen = torch.Generator().manual_seed(5)
    for k, clip in ((500, None), (10, None), (999, None), (1, None), (0, None), (999, 1.0), (500, 1.0), (0, 1.0)):
        x_t = torch.randn(8, 2, generator=gen, dtype=torch.float64) * (1.0 if clip is None else 2.0)
        eps_hat = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        z = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        extra = () if clip is None else (clip,)
        out = as_float64(call_student(fn, sch, x_t.clone(), k, eps_hat.clone(), z.clone(), *extra), "x_(t−1)",
                         x_t.shape, shape_fix="One step keeps x_t's shape.")
        ref = reference_ddpm_step(sch, x_t, k, eps_hat, z, clip)
        check_close(out, ref, DDPM_STEP_MISTAKES if clip is None else CLIPPED_STEP_MISTAKES, sch, x_t, k, eps_hat,
                    z, *extra,
                    otherwise=tr("at k = {k} (the maths' t = {t}), clip = {clip}, your x_(t−1) differs from the "
                                 "reference by up to {max_abs_diff:.3g}.",
                                 k=k, t=k + 1, clip=clip, max_abs_diff=max_abs_diff(out, ref)))


q2 = Exercise(
    "Exercise 5.2 — one DDPM step",
    _check_ddpm_step,
    hints=[
        "One DDPM step is the posterior mean of x_{t−1} given x_t and the guess x̂0, plus fresh noise σ_t·z — "
        "except at the last step (code index k = 0), which adds none. With clip, the guess x̂0 is clipped to "
        "[−clip, clip] before it is used.",
        "Section 1 writes the mean two ways: μ̃_t(x_t, x̂0), and a form in ε̂ alone that follows when the "
        "unclipped x̂0 is plugged in. Only the first survives clipping: x̂0 from ε̂ (the inverted closed form), "
        "clipped, then μ̃_t's two coefficients. σ_t² = β̃_t is schedule.posterior_variance at the index.",
        'Read β, α, ᾱ_t and ᾱ_{t−1} (alphas_cumprod_prev) at the index as python floats, square roots with '
        'math.sqrt; clamp x̂0 only when clip is not None. Form μ̃_t; at k = 0 return it as it is, otherwise add '
        '√β̃_t times z.',
    ],
    solution=source_of(reference_ddpm_step),
    reference=reference_ddpm_step,
    mistakes=DDPM_STEP_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3 — one DDIM step (η = 0)
# ---------------------------------------------------------------------------------------------
def reference_ddim_update(x_t, abar_t, abar_s, x0_hat):
    """DDIM (η = 0) from t to s for a network that predicts x̂0: ε̂ = (x_t − √ᾱ_t·x̂0)/√(1−ᾱ_t) inverts the
    closed form, then x_s = √ᾱ_s·x̂0 + √(1−ᾱ_s)·ε̂ (no fresh noise)."""
    eps_hat = (x_t - math.sqrt(abar_t) * x0_hat) / math.sqrt(1 - abar_t)
    return math.sqrt(abar_s) * x0_hat + math.sqrt(1 - abar_s) * eps_hat


def _eps_from(x_t, a, x0):
    return (x_t - math.sqrt(a) * x0) / math.sqrt(1 - a)


def _x0_from(x_t, a, e):
    return (x_t - math.sqrt(1 - a) * e) / math.sqrt(a)


DDIM_MISTAKES = (
    Mistake(lambda x_t, a_t, a_s, x0: math.sqrt(a_s) * _x0_from(x_t, a_t, x0) + math.sqrt(1 - a_s) * x0,
            "you used the network's output as ε̂ in section 4's formula. This network predicts the clean x̂0, not "
            "the noise: the noise that goes with it follows from the closed form x_t = √ᾱ_t·x̂0 + √(1 − ᾱ_t)·ε̂, "
            "solved for ε̂."),
    Mistake(lambda x_t, a_t, a_s, x0: math.sqrt(a_s) * x0,
            "you dropped the direction term √(1 − ᾱ_s)·ε̂: x_s is not clean yet, it must keep the noise level of "
            "step s, and with η = 0 that noise is the one x_t already holds (ε̂), not fresh noise."),
    Mistake(lambda x_t, a_t, a_s, x0: x0 + 0 * x_t,
            "you returned x̂0 (a jump to the end). DDIM goes to the next visited step s: "
            "√ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂, with ε̂ recovered from x_t and x̂0."),
    Mistake(lambda x_t, a_t, a_s, x0: a_s * x0 + (1 - a_s) * (x_t - a_t * x0) / (1 - a_t),
            "the square roots are missing: the coefficients are √ᾱ_s and √(1 − ᾱ_s) (standard deviations), and "
            "recovering ε̂ uses √ᾱ_t and √(1 − ᾱ_t)."),
    Mistake(lambda x_t, a_t, a_s, x0: math.sqrt(a_s) * x0 + math.sqrt(1 - a_s) * _eps_from(x_t, a_s, x0),
            "ε̂ is wrong: x_t was made at step t, so ε̂ = (x_t − √ᾱ_t·x̂0)/√(1 − ᾱ_t), with ᾱ_t of the CURRENT step."),
    Mistake(lambda x_t, a_t, a_s, x0: reference_ddim_update(x_t, a_s, a_t, x0),
            "ᾱ_t and ᾱ_s are swapped."),
)


def _check_ddim(fn) -> None:
    require_callable(fn, "q3.check(ddim_update)")
    abar = _SCHEDULE.alphas_cumprod
    gen = torch.Generator().manual_seed(6)
    # code indices (k_t, k_s); k_s = −1 stands for the maths' s = 0 (x_0, ᾱ_0 = 1)
    for k_t, k_s in ((999, 979), (500, 300), (40, 0), (20, -1)):
        a_t = float(abar[k_t])
        a_s = float(abar[k_s]) if k_s >= 0 else 1.0
        x_t = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        x0_hat = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        out = as_float64(call_student(fn, x_t.clone(), a_t, a_s, x0_hat.clone()), "x_s", x_t.shape,
                         shape_fix="One step keeps x_t's shape.")
        ref = reference_ddim_update(x_t, a_t, a_s, x0_hat)
        check_close(out, ref, DDIM_MISTAKES, x_t, a_t, a_s, x0_hat,
                    otherwise=tr("from t = {t} to s = {s} your x_s differs from √ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂ by up to "
                                 "{max_abs_diff:.3g}.", t=k_t + 1, s=k_s + 1,
                                 max_abs_diff=max_abs_diff(out, ref)))


q3 = Exercise(
    "Exercise 5.3 — one DDIM step (η = 0) from a network that predicts x̂0",
    _check_ddim,
    hints=[
        "DDIM with η = 0 puts x̂0 back at the noise level of step s, reusing the noise x_t already holds. Here "
        "the network hands you x̂0; what you lack is that noise.",
        "x_t = √ᾱ_t x̂0 + √(1 − ᾱ_t) ε̂ ties x_t, x̂0 and ε̂ together: given two, solve for the third. Then section "
        "4's step with σ = 0.",
        "Recover ε̂ from the closed form, with ᾱ_t of the current step (x_t was made at step t); then take "
        "section 4's step to the noise level of step s. ᾱ_t and ᾱ_s are python floats (math.sqrt). Check: at s = 0 "
        "(ᾱ_0 = 1) the step returns x̂0 itself.",
    ],
    solution=source_of(reference_ddim_update),
    reference=reference_ddim_update,
    mistakes=DDIM_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q4 — the whole DDPM sampling loop
# ---------------------------------------------------------------------------------------------
#: A short schedule for the loop exercise: 100 steps keep the check (and each typical mistake it
#: replays) to a fraction of a second; the cosine schedule reaches ᾱ ≈ 0 at T = 100.
_LOOP_SCHEDULE = make_schedule("cosine", 100)


def reference_sampling_loop(eps_model, schedule, x_T, generator):
    """DDPM (σ_t² = β̃_t) from x_T down to x_0; returns [x_T, x_{T−1}, …, x_0] (T + 1 tensors).

    Code indices k = T−1 … 0 stand for the papers' t = T … 1; fresh noise z (drawn with ``generator``)
    at every step except the last."""
    xs = [x_T]
    x = x_T
    for k in range(schedule.T - 1, -1, -1):
        t_batch = torch.full((x.shape[0],), k, dtype=torch.long)
        eps_hat = eps_model(x, t_batch)
        beta, alpha = float(schedule.betas[k]), float(schedule.alphas[k])
        abar = float(schedule.alphas_cumprod[k])
        mean = (x - beta / math.sqrt(1 - abar) * eps_hat) / math.sqrt(alpha)
        if k > 0:
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
            x = mean + math.sqrt(float(schedule.posterior_variance[k])) * z
        else:
            x = mean
        xs.append(x)
    return xs


def _loop_with(step, noise_at_last=False, papers_t=False):
    """A loop written the way a student might: ``step(schedule, x, k, eps_hat, z)`` for each k, z drawn
    as the reference does (and at k = 0 too with ``noise_at_last``); ``papers_t`` calls the network with
    the papers' t = k + 1 (the checker's network refuses it, naming the fix)."""
    def wrong(eps_model, schedule, x_T, generator):
        xs, x = [x_T], x_T
        for k in range(schedule.T - 1, -1, -1):
            eps_hat = eps_model(x, torch.full((x.shape[0],), k + 1 if papers_t else k, dtype=torch.long))
            draw = k > 0 or noise_at_last
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype) if draw else torch.zeros_like(x)
            x = step(schedule, x, k, eps_hat, z)
            xs.append(x)
        return xs
    return wrong


def _step_sigma_at_last(schedule, x_t, t, eps_hat, z):
    return _ddpm_mean(schedule, x_t, t, eps_hat) + math.sqrt(float(schedule.betas[t])) * z


SAMPLING_LOOP_MISTAKES = (
    Mistake(_loop_with(lambda s, x, k, e, z: _ddpm_mean(s, x, k, e)),
            "every step lands on the mean: no fresh noise σ_t·z is added, so the samples lose their spread "
            "(chapter 5, section 2). Add √β̃_t·z at every step but the last, with z drawn from the generator you "
            "are given, in x's shape and dtype."),
    Mistake(_loop_with(_step_sigma_at_last, noise_at_last=True),
            "the last step (code index 0, the papers' t = 1) must add no noise: its result is the sample x_0. "
            "Draw z only for k > 0, so your random numbers also stay in step with the reference's."),
    Mistake(_loop_with(_plus_noise(_per_step_noise_mean, _sqrt_beta_tilde)),
            _PER_STEP_NOISE_HINT),
    Mistake(_loop_with(lambda s, x, k, e, z: _template_step(s, x, k, e, z)),
            "that is the update √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z at every step: a valid sampler (a DDIM step with the "
            "largest σ the family allows, η > 1: all-fresh noise), but not DDPM. DDPM's step is the posterior mean "
            "(x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t plus √β̃_t·z."),
    Mistake(_loop_with(lambda s, x, k, e, z: _ddpm_mean(s, x, k, e) + math.sqrt(float(s.betas[k])) * z
                       if k > 0 else _ddpm_mean(s, x, k, e)),
            "your noise has σ_t² = β_t; this exercise asks for σ_t² = β̃_t (schedule.posterior_variance[k]). Both are "
            "valid DDPM samplers, but only β̃_t reproduces the reference step by step."),
)


def _loop_model():
    """The ring's exact ε* for the loop schedule: a cheap, deterministic eps_model(x_t, t) that refuses a
    step index outside 0 … T − 1 with the reason (the papers' t passed where code wants t − 1)."""
    from ..distributions import make_distribution

    exact = make_distribution("ring").eps_model(_LOOP_SCHEDULE)
    T = _LOOP_SCHEDULE.T

    def eps_model(x_t, t):
        t_max, t_min = int(torch.as_tensor(t).max()), int(torch.as_tensor(t).min())
        if t_max > T - 1 or t_min < 0:
            raise ValueError(tr("the network was called with step {step}, but code indices run 0 … T − 1 = {last}: "
                                "the papers' t = 1 … T is index k = t − 1. Loop `for k in range(schedule.T - 1, -1, "
                                "-1)` and pass k.", step=t_max if t_max > T - 1 else t_min, last=T - 1))
        return exact(x_t, t)
    return eps_model


def _stack_states(states, T: int, what: str) -> torch.Tensor:
    if isinstance(states, torch.Tensor) and states.ndim >= 2:
        states = list(states)
    if not isinstance(states, (list, tuple)):
        raise Incorrect(tr("return a list of the states [x_T, x_(T−1), …, x_0], got {type_name}.",
                           type_name=type(states).__name__))
    if len(states) != T + 1:
        raise Incorrect(tr("your list has {n} states; x_T plus one state after each of the T = {T} steps makes "
                           "{n_want}. The loop runs over the code indices k = T − 1, …, 0: `for k in range(schedule.T "
                           "- 1, -1, -1)` (range(T − 1, 0, −1) skips the last step).",
                           n=len(states), T=T, n_want=T + 1))
    return torch.stack([as_float64(s, what) for s in states])


def _check_sampling_loop(fn) -> None:
    require_callable(fn, "q4.check(sampling_loop)")
    sch, model = _LOOP_SCHEDULE, _loop_model()
    x_T = torch.randn(16, 2, generator=torch.Generator().manual_seed(11), dtype=torch.float64)

    def run(loop):
        return _stack_states(loop(model, sch, x_T.clone(), torch.Generator().manual_seed(12)), sch.T, "a state")

    got = run(lambda *a: call_student(fn, *a))
    want = run(reference_sampling_loop)
    if got.shape != want.shape:
        raise Incorrect(tr("each state must keep x_T's shape {shape}; yours have {got}.",
                           shape=tuple(x_T.shape), got=tuple(got.shape[1:])))
    if close(got, want):
        return
    diagnose(got, SAMPLING_LOOP_MISTAKES, run=run)
    differs = ((got - want).abs().flatten(1).amax(1) > ATOL + RTOL * want.abs().flatten(1).amax(1)).nonzero()
    j = int(differs[0])
    k = sch.T - j
    raise Incorrect(tr("your loop first differs from the package's DDPM after step k = {k} (the papers' t = {t}; "
                       "state {j} of your list), by up to {max_abs_diff:.3g}. Same x_T and the same generator give "
                       "the same noise only if z is drawn once per step, with torch.randn(x.shape, "
                       "generator=generator, dtype=x.dtype), for k > 0 only.",
                       k=k, t=k + 1, j=j, max_abs_diff=max_abs_diff(got[j], want[j])))


q4 = Exercise(
    "Exercise 5.4 — the whole sampling loop",
    _check_sampling_loop,
    hints=[
        "Start from x = x_T and keep a list of states. For each step from the noisiest to the last: ask the "
        "network for ε̂, take one DDPM step (exercise 5.2), append the result.",
        "Loop over the code indices from T − 1 down to 0 (code index k is the papers' t = k + 1). Call the "
        "network with a LongTensor that holds k once per example. Draw z only when k > 0, with torch.randn on x's "
        'shape and dtype and the generator you are given: the check replays the same generator, so the number and '
        'order of the draws must match.',
        "Inside the loop the step is exercise 5.2's: the mean from ε̂ with β, α and ᾱ at index k, plus √β̃ at "
        'index k times z, except at k = 0. Append each new x to the list that started with x_T and return it: T + '
        '1 states.',
    ],
    solution=source_of(reference_sampling_loop),
    reference=reference_sampling_loop,
    mistakes=SAMPLING_LOOP_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q5 — the η of a given step variance, and the derivation: s = t − 1, σ² = β̃_t ⇒ η = 1
# ---------------------------------------------------------------------------------------------
def reference_ddim_eta(abar_t, abar_s, sigma2):
    """The η ≥ 0 that gives a DDIM step from t to s the noise variance σ²: section 4's
    σ = η·√((1 − ᾱ_s)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_s), solved for η."""
    return math.sqrt(sigma2 / ((1 - abar_s) / (1 - abar_t) * (1 - abar_t / abar_s)))


def _ddim_factor(a_t, a_s):
    return (1 - a_s) / (1 - a_t) * (1 - a_t / a_s)


DDIM_ETA_MISTAKES = (
    Mistake(lambda a_t, a_s, s2: s2 / _ddim_factor(a_t, a_s),
            "that is η², not η: σ grows linearly with η, so σ² grows with η²; take the square root at the end."),
    Mistake(lambda a_t, a_s, s2: math.sqrt(s2) / _ddim_factor(a_t, a_s),
            "you divided σ by the factor's square: σ is η times the factor itself (a product of two square roots), "
            "so solve σ = η·f for η with f, not f²."),
    Mistake(lambda a_t, a_s, s2: s2 / math.sqrt(_ddim_factor(a_t, a_s)),
            "the argument is the variance σ², not σ: take its square root (or divide σ² by the factor itself, "
            "not by its square root, and take the square root of the result)."),
    Mistake(lambda a_t, a_s, s2: math.sqrt(s2 * _ddim_factor(a_t, a_s)),
            "you multiplied by the factor: solving σ = η·f for η divides by f."),
    Mistake(lambda a_t, a_s, s2: math.sqrt(s2 / ((1 - a_t) / (1 - a_s) * (1 - a_t / a_s))),
            "the ratio is upside down: (1 − ᾱ_s)/(1 − ᾱ_t), the earlier (less noisy) step s on top, which is < 1."),
    Mistake(lambda a_t, a_s, s2: math.sqrt(s2 / (1 - a_t / a_s)),
            "the factor (1 − ᾱ_s)/(1 − ᾱ_t) is missing: without it, s = t − 1 and σ² = β̃_t would not give η = 1."),
)


def _check_ddim_eta(fn) -> None:
    require_callable(fn, "q5.check(ddim_eta)")
    abar = _SCHEDULE.alphas_cumprod.tolist()
    # code indices (k_t, k_s) and the η whose σ² the check passes; the last one is DDPM's σ² = β_t, η > 1
    for k_t, k_s, eta in ((999, 979, 1.0), (500, 300, 0.5), (200, 100, 0.3), (40, 39, None)):
        a_t, a_s = abar[k_t], abar[k_s]
        sigma2 = float(_SCHEDULE.betas[k_t]) if eta is None else eta ** 2 * _ddim_factor(a_t, a_s)
        ref = reference_ddim_eta(a_t, a_s, sigma2)
        try:
            out = as_float64(call_student(fn, a_t, a_s, sigma2), "η", ())
        except Incorrect as err:
            if "math domain error" not in str(err):
                raise
            raise Incorrect(tr("{err}: a square root of a negative number. With s < t every factor is positive if "
                               "the last one is 1 − ᾱ_t/ᾱ_s (the current step's ᾱ on top; = β_t when s = t − 1).",
                               err=err)) from None
        check_close(out, torch.tensor(ref, dtype=torch.float64), DDIM_ETA_MISTAKES, a_t, a_s, sigma2,
                    otherwise=tr("from t = {t} to s = {s} with σ² = {sigma2:.6g}: expected η = {ref:.6g}, got "
                                 "{out:.6g}.", t=k_t + 1, s=k_s + 1, sigma2=sigma2, ref=ref, out=float(out)))
    # the derivation, checked at every step: s = t − 1 and σ² = β̃_t give η = 1
    prev, post = _SCHEDULE.alphas_cumprod_prev.tolist(), _SCHEDULE.posterior_variance.tolist()
    got = torch.tensor([float(call_student(fn, abar[k], prev[k], post[k])) for k in range(1, _SCHEDULE.T)],
                       dtype=torch.float64)
    if not close(got, torch.ones_like(got)):
        raise Incorrect(tr("with s = t − 1 and σ² = β̃_t your η should be 1 at every step, and is not."))


q5 = Exercise(
    "Exercise 5.5 — which η is DDPM?",
    _check_ddim_eta,
    hints=[
        "Section 4's σ is η times a factor that depends on ᾱ_t and ᾱ_s only. Given σ², solve for η (η ≥ 0).",
        "Square both sides first: σ² is η² times the square of that factor, so no square root is left inside. For "
        "the paper part, put s = t − 1: what is 1 − ᾱ_t/ᾱ_{t−1}? Then compare what remains with β̃_t of section 1.",
        "Solve σ = η·f for η, where f is section 4's factor (a product of two square roots, written with ᾱ_t and "
        "ᾱ_s). All are python floats (math.sqrt); η comes out ≥ 0.",
    ],
    solution=source_of(reference_ddim_eta),
    reference=reference_ddim_eta,
    mistakes=DDIM_ETA_MISTAKES,
)
