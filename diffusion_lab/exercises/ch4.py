r"""Chapter 4 exercises — ε-prediction training, and two bugs from the course texts' templates.

q1  noisy_sample(x0, t, eps, schedule): fix the template that noises with ᾱ_t where √ᾱ_t belongs
q2  simple_loss(model, x0, t, eps, schedule): the training loss L_simple for one batch
q3  uses_time(model, x_t): detect a network that ignores t (the sketched "U-Nets" of the texts)
q4  FixedSketch: make the sketch actually use its time embedding

Code steps run t = 0..T−1 (the papers' 1..T). ``t`` is an int or a LongTensor (batch,).
"""
from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from ..models import SinusoidalTimeEmbedding
from ..schedules import make_schedule
from .base import Exercise, Incorrect, call_student, source_of

__all__ = ["q1", "q2", "q3", "q4", "buggy_noisy_sample", "reference_noisy_sample", "reference_simple_loss",
           "reference_uses_time", "SketchDenoiser", "ReferenceFixedSketch", "BUGGY_TEMPLATE"]

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
def buggy_noisy_sample(x0, t, eps, schedule):
    """The template's version (WRONG): the signal is scaled by ᾱ_t instead of √ᾱ_t."""
    abar = _coef(schedule.alphas_cumprod, t, x0)
    return abar * x0 + torch.sqrt(1 - abar) * eps


#: The buggy template as the notebook shows it.
BUGGY_TEMPLATE = inspect.getsource(buggy_noisy_sample)


def reference_noisy_sample(x0, t, eps, schedule):
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε; t an int or a LongTensor (batch,)."""
    abar = schedule.alphas_cumprod[t].to(x0.dtype)
    if isinstance(t, torch.Tensor) and t.dim() == 1:
        abar = abar.reshape(-1, *([1] * (x0.dim() - 1)))   # (batch, 1, ...) to broadcast over x0
    return abar.sqrt() * x0 + (1 - abar).sqrt() * eps


def _variants_noisy(x0, t, eps, schedule) -> dict[str, torch.Tensor]:
    """Typical wrong answers, each with the hint that explains it."""
    abar = _coef(schedule.alphas_cumprod, t, x0)
    prev = _coef(schedule.alphas_cumprod_prev, t, x0)
    nxt = _coef(torch.cat([schedule.alphas_cumprod[1:], schedule.alphas_cumprod[-1:]]), t, x0)
    alpha = _coef(schedule.alphas, t, x0)
    beta = _coef(schedule.betas, t, x0)
    return {
        "the template's bug is still there: the signal is scaled by ᾱ_t, but it must be √ᾱ_t. With ᾱ_t the "
        "variance of x_t is ᾱ_t²·Var(x0) + (1 − ᾱ_t), not 1 for unit-variance data, and x_t has the wrong "
        "distribution at every t, so the network trains on inputs that sampling never produces.":
            abar * x0 + (1 - abar).sqrt() * eps,
        "the noise is scaled by (1 − ᾱ_t); it must be √(1 − ᾱ_t). The closed form gives x_t VARIANCE "
        "ᾱ_t·Var(x0) + (1 − ᾱ_t): the square roots are the standard deviations.":
            abar.sqrt() * x0 + (1 - abar) * eps,
        "both ᾱ_t and 1 − ᾱ_t appear without square roots: they are variances, the multipliers are their "
        "square roots √ᾱ_t and √(1 − ᾱ_t).":
            abar * x0 + (1 - abar) * eps,
        "the signal and noise coefficients are swapped: x0 gets √ᾱ_t (≈ 1 at small t), ε gets √(1 − ᾱ_t).":
            (1 - abar).sqrt() * x0 + abar.sqrt() * eps,
        "that is ONE noising step q(x_t | x_{t−1}) with α_t and β_t. To jump from x0 straight to x_t use the "
        "cumulative product ᾱ_t = α_0·α_1⋯α_t (schedule.alphas_cumprod).":
            alpha.sqrt() * x0 + beta.sqrt() * eps,
        "off by one step: you used ᾱ_{t−1} (alphas_cumprod_prev). In code, alphas_cumprod[t] is the ᾱ after "
        "step t, the one x_t needs.":
            prev.sqrt() * x0 + (1 - prev).sqrt() * eps,
        "off by one step: you used ᾱ_{t+1}. In code, alphas_cumprod[t] is the ᾱ after step t, the one x_t "
        "needs.":
            nxt.sqrt() * x0 + (1 - nxt).sqrt() * eps,
        "you only scaled x0: the noise term √(1 − ᾱ_t)·ε is missing.": abar.sqrt() * x0,
        "the x0 term is not scaled: it must shrink as √ᾱ_t (x0 + noise only grows the variance).":
            x0 + (1 - abar).sqrt() * eps,
    }


def _as_tensor_out(out, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        try:
            out = torch.as_tensor(out)
        except Exception:
            raise Incorrect(f"{what} should return a torch tensor, got {type(out).__name__}.") from None
    return out.detach().to(torch.float64)


def _check_noisy(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q1.check(noisy_sample) (no brackets).")
    gen = torch.Generator().manual_seed(4)
    sch = _SCHEDULE
    cases = [(torch.randn(6, 2, generator=gen), 300), (torch.randn(6, 2, generator=gen), 0),
             (torch.randn(6, 2, generator=gen), 999)]
    for x0, t in cases:
        eps = torch.randn(x0.shape, generator=gen)
        _compare_noisy(fn, x0, t, eps, sch, f"t = {t}")
    # a batch of different t, on image-shaped data: the coefficients must broadcast over (B, 1, H, W)
    x0 = torch.randn(5, 1, 4, 4, generator=gen)
    eps = torch.randn(x0.shape, generator=gen)
    t = torch.tensor([0, 10, 250, 600, 999])
    try:
        _compare_noisy(fn, x0, t, eps, sch, "a LongTensor t of shape (5,) and images (5, 1, 4, 4)")
    except Incorrect as err:
        if "raised" in str(err) or "shape" in str(err):
            raise Incorrect(f"{err}. It works for one int t, but for a batch of t (shape (B,)) "
                            "schedule.alphas_cumprod[t] has shape (B,), which does not broadcast against "
                            "x0 of shape (B, 1, H, W): reshape it to (B, 1, 1, 1), e.g. "
                            ".reshape(-1, *[1] * (x0.dim() - 1)).") from None
        raise


def _compare_noisy(fn, x0, t, eps, sch, label) -> None:
    out = _as_tensor_out(call_student(fn, x0.clone(), t, eps.clone(), sch), "noisy_sample")
    ref = reference_noisy_sample(x0.double(), t, eps.double(), sch)
    if tuple(out.shape) != tuple(ref.shape):
        raise Incorrect(f"for {label} expected x_t with x0's shape {tuple(ref.shape)}, got shape {tuple(out.shape)}.")
    if torch.allclose(out, ref, rtol=1e-5, atol=1e-6):
        return
    for hint, wrong in _variants_noisy(x0.double(), t, eps.double(), sch).items():
        if torch.allclose(out, wrong, rtol=1e-5, atol=1e-6):
            raise Incorrect(hint)
    raise Incorrect(f"for {label} your x_t differs from √ᾱ_t·x0 + √(1 − ᾱ_t)·ε by up to "
                    f"{float((out - ref).abs().max()):.3g}.")


q1 = Exercise(
    "Exercise 4.1 — spot the bug: noising in one step",
    _check_noisy,
    hint="x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε with ᾱ_t = schedule.alphas_cumprod[t]. The template multiplies x0 by "
         "ᾱ_t itself. For a batch of t, reshape the coefficient to (B, 1, ...) so it broadcasts over x0.",
    solution=source_of(reference_noisy_sample),
    reference=reference_noisy_sample,
)


# ---------------------------------------------------------------------------------------------
# q2 — the training loss for one batch
# ---------------------------------------------------------------------------------------------
def reference_simple_loss(model, x0, t, eps, schedule):
    """L_simple = mean over batch and coordinates of (ε − ε_θ(x_t, t))², x_t in closed form."""
    abar = schedule.alphas_cumprod[t].to(x0.dtype).reshape(-1, *([1] * (x0.dim() - 1)))
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    return ((eps - model(x_t, t)) ** 2).mean()


class _CheckModel(nn.Module):
    """A fixed toy ε-model for checking: depends on x_t and (mildly) on t."""

    def forward(self, x_t, t):
        return 0.6 * x_t + 0.3 * torch.tanh(x_t.flip(-1)) + 4e-4 * t.to(x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1)))


def _check_loss(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q2.check(simple_loss) (no brackets).")
    gen = torch.Generator().manual_seed(7)
    sch, model = _SCHEDULE, _CheckModel()
    x0 = torch.randn(64, 2, generator=gen)
    t = torch.randint(0, T_CHECK, (64,), generator=gen)
    eps = torch.randn(x0.shape, generator=gen)
    out = call_student(fn, model, x0.clone(), t.clone(), eps.clone(), sch)
    out_t = _as_tensor_out(out, "simple_loss")
    if out_t.numel() != 1:
        raise Incorrect(f"the loss must be ONE number (a 0-dim tensor), got shape {tuple(out_t.shape)}: "
                        "average over the batch and the coordinates with .mean().")
    value = float(out_t)
    ref = float(reference_simple_loss(model, x0, t, eps, sch))
    if abs(value - ref) <= 1e-5 * max(1.0, abs(ref)):
        return
    abar = sch.alphas_cumprod[t].float()[:, None]
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    x_t_bug = abar * x0 + (1 - abar).sqrt() * eps
    wrong = {
        "you summed the squared errors; L_simple is their MEAN (over the batch and the coordinates), so its "
        "size does not depend on the batch size: use .mean().": float(((eps - model(x_t, t)) ** 2).sum()),
        "your loss compares the network's output with x0. In ε-prediction the target is the noise ε that "
        "made x_t: ((ε − model(x_t, t))²).mean().": float(((x0 - model(x_t, t)) ** 2).mean()),
        "you fed the clean x0 to the network. It must see the noisy x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε (with the "
        "same t): that is the input it will get during sampling.": float(((eps - model(x0, t)) ** 2).mean()),
        "x_t is built with the template's bug (ᾱ_t instead of √ᾱ_t): fix it as in exercise 4.1.":
            float(((eps - model(x_t_bug, t)) ** 2).mean()),
        "you compared the output with x_t; the target is the noise ε.": float(((x_t - model(x_t, t)) ** 2).mean()),
        "the mean of the errors is not squared per element: use ((ε − ε̂)**2).mean(), not (ε − ε̂).mean()**2.":
            float((eps - model(x_t, t)).mean() ** 2),
        "you averaged the errors without squaring them.": float((eps - model(x_t, t)).mean()),
    }
    for hint, w in wrong.items():
        if abs(value - w) <= 1e-5 * max(1.0, abs(w)):
            raise Incorrect(hint)
    raise Incorrect(f"your loss is {value:.5g}, expected {ref:.5g} for this batch. Build x_t in closed form, "
                    "call model(x_t, t), and average (ε − ε̂)².")


q2 = Exercise(
    "Exercise 4.2 — L_simple for one batch",
    _check_loss,
    hint="Three lines: ᾱ = schedule.alphas_cumprod[t] reshaped to (B, 1); x_t = √ᾱ·x0 + √(1−ᾱ)·ε; "
         "return ((ε − model(x_t, t))**2).mean().",
    solution=source_of(reference_simple_loss),
    reference=reference_simple_loss,
)


# ---------------------------------------------------------------------------------------------
# q3, q4 — spot the bug: a time embedding that is computed and never used
# ---------------------------------------------------------------------------------------------
class SketchDenoiser(nn.Module):
    """A sketch like the course texts' "U-Nets": it computes a time embedding and never uses it.

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
        emb = self.time_proj(self.time_embed(t))     # (B, width): computed ...
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


def reference_uses_time(model, x_t) -> bool:
    """True when the model's output changes between t = 0 and t = 999 for the same x_t."""
    b = x_t.shape[0]
    with torch.no_grad():
        early = model(x_t, torch.zeros(b, dtype=torch.long))
        late = model(x_t, torch.full((b,), T_CHECK - 1, dtype=torch.long))
    return not torch.equal(early, late)


class _LateOnly(nn.Module):
    """Uses t, but only for t ≥ 500 (so comparing t = 0 with t = 1 misses it)."""

    def forward(self, x, t):
        return 0.5 * x + (t >= 500).to(x.dtype).reshape(-1, 1, 1, 1)


class _Weak(nn.Module):
    """Uses t, but only a little (a 1e-4 shift): a tolerance-based comparison misses it."""

    def forward(self, x, t):
        return 0.5 * x + 1e-4 * torch.cos(t.to(x.dtype) / 100).reshape(-1, 1, 1, 1)


def _as_bool(out, label: str) -> bool:
    if isinstance(out, torch.Tensor) and out.numel() == 1:
        return bool(out)
    if isinstance(out, bool) or type(out).__name__ == "bool_":
        return bool(out)
    raise Incorrect(f"uses_time should return True or False, got {type(out).__name__} {out!r} for {label}.")


def _check_uses_time(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q3.check(uses_time) (no brackets).")
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.random.fork_rng():                  # fixed weights, without touching the student's RNG state
        torch.manual_seed(0)
        sketch, fixed = SketchDenoiser().eval(), ReferenceFixedSketch().eval()
    cases = [("the sketch (it ignores t)", sketch, False),
             ("the fixed sketch (it uses t)", fixed, True),
             ("a model that reacts to t only for t ≥ 500", _LateOnly(), True),
             ("a model whose output moves only 1e-4 with t", _Weak(), True)]
    answers = [_as_bool(call_student(fn, model, x.clone()), label) for label, model, _ in cases]
    if all(answers):
        raise Incorrect("you answered True for every model, also for the sketch, whose output is identical for "
                        "every t (the embedding is never added to anything). Compare model(x_t, t1) with "
                        "model(x_t, t2) for the SAME x_t and two different t — are they exactly equal?")
    if not any(answers):
        raise Incorrect("you answered False for every model, also for ones that do use t. Compare "
                        "model(x_t, t) for two different t (e.g. all 0 and all 999) on the same x_t.")
    for (label, _, expected), got in zip(cases, answers):
        if got == expected:
            continue
        if label.startswith("the sketch"):
            raise Incorrect("you said the sketch uses t, but its output is identical for every t (the embedding "
                            "is never added to anything). Did you compare the same t twice, or different x_t?")
        if "t ≥ 500" in label:
            raise Incorrect("you missed a model that changes its output only for large t. Compare two t that are "
                            "far apart — t = 0 and t = T−1 = 999 — not neighbours like 0 and 1.")
        if "1e-4" in label:
            raise Incorrect("you missed a model whose output changes only slightly (1e-4) with t: a tolerance such "
                            "as torch.allclose(..., atol=1e-3) hides it. Ask whether the outputs are exactly "
                            "equal: torch.equal(a, b).")
        raise Incorrect(f"wrong answer for {label}: expected {expected}.")


q3 = Exercise(
    "Exercise 4.3 — spot the bug: does the network look at t?",
    _check_uses_time,
    hint="Feed the SAME x_t twice with two far-apart times, t = torch.zeros(B, dtype=torch.long) and "
         "torch.full((B,), 999), inside torch.no_grad(); the model uses t exactly when the outputs differ "
         "(torch.equal).",
    solution=source_of(reference_uses_time),
    reference=reference_uses_time,
)


def _check_fixed_sketch(cls) -> None:
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise Incorrect("pass your class itself (a subclass of SketchDenoiser): q4.check(FixedSketch).")
    try:
        with torch.random.fork_rng():              # fixed weights, without touching the student's RNG state
            torch.manual_seed(0)
            model = cls()
    except Exception as err:
        raise Incorrect(f"FixedSketch() raised {type(err).__name__}: {err}. Keep the sketch's __init__ "
                        "(subclass SketchDenoiser and only write forward).") from None
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([0, 300, 600, 999])
    out = call_student(model, x, t)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise Incorrect(f"forward must return ε̂ with x's shape {tuple(x.shape)}, got {shape}.")
    if not reference_uses_time(model.eval(), x):
        raise Incorrect("the output still does not change with t: add the embedding to the features, "
                        "h = h + emb[:, :, None, None], between two layers (before the last convolution).")
    proj = getattr(model, "time_proj", None)
    if proj is None:
        raise Incorrect("keep the sketch's layers: subclass SketchDenoiser so self.time_proj exists.")
    model.zero_grad()
    model(x, t).pow(2).mean().backward()
    if proj.weight.grad is None or float(proj.weight.grad.abs().sum()) == 0.0:
        raise Incorrect("your output depends on t, but not through the embedding (time_proj gets no gradient), "
                        "e.g. raw t added to the features. Raw t runs up to 999 and would swamp them; use "
                        "emb = self.time_proj(self.time_embed(t)) and add emb[:, :, None, None].")
    x2 = x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        if torch.allclose(model(x, t), model(x2, t)):
            raise Incorrect("the output no longer depends on the image x: keep the convolutions on x and ADD "
                            "the embedding to their features.")
    if not isinstance(model, SketchDenoiser):
        raise Incorrect("subclass SketchDenoiser (class FixedSketch(SketchDenoiser): ...) and only write forward.")


q4 = Exercise(
    "Exercise 4.4 — fix the sketch so it uses t",
    _check_fixed_sketch,
    hint="Write forward(self, x, t) like the sketch's, and after the first convolution add the embedding to "
         "every pixel: h = h + emb[:, :, None, None] (emb is (B, width), h is (B, width, H, W)).",
    solution=source_of(ReferenceFixedSketch),
    reference=ReferenceFixedSketch,
)
