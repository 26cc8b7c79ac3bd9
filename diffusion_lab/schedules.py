r"""Noise schedules: β_t and every coefficient derived from it.

Forward process, in the maths' steps t = 1..T (stored at code indices k = t − 1 = 0..T−1)::

    q(x_t | x_{t-1}) = N(√α_t x_{t-1}, β_t I),      α_t = 1 − β_t
    q(x_t | x0)      = N(√ᾱ_t x0, (1 − ᾱ_t) I),    ᾱ_t = α_1 α_2 ⋯ α_t   (alphas_cumprod[t - 1])

Everything is computed once in float64 and cast to the caller's dtype and device by
:meth:`NoiseSchedule.gather`. Schedules are built by name with :func:`make_schedule`; the names
``scaled_linear`` and ``squaredcos_cap_v2`` are accepted as the aliases students meet in diffusers.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import torch

from .i18n import tr
from .validation import check_betas, check_num_steps, check_timestep, unknown_name

#: ᾱ_T (index T − 1) above this means x_T still carries visible signal: sampling from N(0, I) then
#: starts from the wrong distribution. make_schedule warns.
SIGNAL_LEFT_WARNING = 0.01


class ScheduleWarning(UserWarning):
    """A schedule leaves too much signal at its last step t = T (ᾱ_T too large: x_T is not close to N(0, I))."""


# ---------------------------------------------------------------------------------------------
# β_t recipes. Each returns a float64 tensor of shape (T,): β_t at code index k = t − 1 = 0..T−1.
# ---------------------------------------------------------------------------------------------
def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """β_t evenly spaced from β_1 = ``beta_start`` (index 0) to β_T = ``beta_end`` (index T − 1) (Ho et al., 2020)."""
    T = check_num_steps(T)
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)


def quadratic_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """√β_t evenly spaced, then squared (diffusers' ``scaled_linear``, Stable Diffusion)."""
    T = check_num_steps(T)
    return torch.linspace(beta_start**0.5, beta_end**0.5, T, dtype=torch.float64) ** 2


def quadratic_ramp_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """The course texts' quadratic: β_t = β_start + (t/T)² (β_end − β_start), papers' t = 1..T."""
    T = check_num_steps(T)
    frac = torch.arange(1, T + 1, dtype=torch.float64) / T
    return beta_start + frac**2 * (beta_end - beta_start)


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal (2021): ᾱ(τ) ∝ cos²(((τ/T + s)/(1 + s))·π/2), β_t = 1 − ᾱ_t/ᾱ_{t−1}, capped at ``max_beta``."""
    T = check_num_steps(T)
    tau = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((tau + s) / (1 + s) * math.pi / 2) ** 2
    betas = 1.0 - f[1:] / f[:-1]
    return betas.clamp(max=max_beta)


def sigmoid_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02,
                  start: float = -6.0, end: float = 6.0) -> torch.Tensor:
    """β_t = β_start + sigmoid(u_t)(β_end − β_start), u_t evenly spaced in [start, end] (GeoDiff)."""
    T = check_num_steps(T)
    u = torch.linspace(start, end, T, dtype=torch.float64)
    return beta_start + torch.sigmoid(u) * (beta_end - beta_start)


_RECIPES: dict[str, Callable[..., torch.Tensor]] = {
    "linear": linear_betas,
    "cosine": cosine_betas,
    "quadratic": quadratic_betas,
    "quadratic_ramp": quadratic_ramp_betas,
    "sigmoid": sigmoid_betas,
}
_ALIASES = {"scaled_linear": "quadratic", "squaredcos_cap_v2": "cosine"}
#: Names accepted by :func:`make_schedule`.
SCHEDULE_NAMES: tuple[str, ...] = tuple(_RECIPES) + tuple(_ALIASES)

#: Every per-step coefficient a NoiseSchedule holds (all shape (T,), float64).
COEFFICIENTS = (
    "betas", "alphas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas", "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
    "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1",
    "posterior_mean_coef2", "snr", "log_snr",
)


class NoiseSchedule:
    r"""β_1..β_T and everything derived from them, stored at code indices k = t − 1 = 0..T−1.

    Attributes (float64 tensors of shape (T,)):
        betas β_t, alphas α_t = 1 − β_t, alphas_cumprod ᾱ_t = ∏_{s≤t} α_s,
        alphas_cumprod_prev ᾱ_{t−1} (with ᾱ_0 = 1 at index 0: before the first step x is x0),
        sqrt_alphas √α_t, sqrt_alphas_cumprod √ᾱ_t, sqrt_one_minus_alphas_cumprod √(1−ᾱ_t),
        sqrt_recip_alphas_cumprod 1/√ᾱ_t, sqrt_recipm1_alphas_cumprod √(1/ᾱ_t − 1),
        posterior_variance β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t)·β_t (β̃_1 = 0 at index 0: the last step back is exact),
        posterior_log_variance_clipped log β̃_t with β̃_1 (index 0) replaced by β̃_2,
        posterior_mean_coef1 = β_t √ᾱ_{t−1}/(1−ᾱ_t)  (multiplies x0),
        posterior_mean_coef2 = (1−ᾱ_{t−1}) √α_t/(1−ᾱ_t)  (multiplies x_t),
        snr ᾱ_t/(1−ᾱ_t) and log_snr.
    """

    def __init__(self, betas, name: str = "custom", config: dict | None = None):
        betas = torch.as_tensor(betas, dtype=torch.float64).detach().cpu().clone()
        check_betas(betas)
        self.name = name
        self.T = int(betas.shape[0])
        self.config = dict(config) if config else {"name": name, "T": self.T, "betas": betas.tolist()}
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]])
        self.sqrt_alphas = self.alphas.sqrt()
        self.sqrt_alphas_cumprod = self.alphas_cumprod.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1.0 - self.alphas_cumprod).sqrt()
        self.sqrt_recip_alphas_cumprod = self.alphas_cumprod.rsqrt()
        self.sqrt_recipm1_alphas_cumprod = (1.0 / self.alphas_cumprod - 1.0).sqrt()
        one_minus = 1.0 - self.alphas_cumprod
        self.posterior_variance = betas * (1.0 - self.alphas_cumprod_prev) / one_minus
        clipped = self.posterior_variance.clone()
        if self.T > 1:
            clipped[0] = self.posterior_variance[1]
        else:
            clipped[0] = betas[0]
        self.posterior_log_variance_clipped = clipped.log()
        self.posterior_mean_coef1 = betas * self.alphas_cumprod_prev.sqrt() / one_minus
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * self.sqrt_alphas / one_minus
        self.snr = self.alphas_cumprod / one_minus
        self.log_snr = self.snr.log()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: dict) -> "NoiseSchedule":
        """Rebuild a schedule from ``schedule.config`` (as stored in checkpoints)."""
        config = dict(config)
        if "betas" in config:
            return cls(config["betas"], name=config.get("name", "custom"))
        name, T = config.pop("name"), config.pop("T")
        return make_schedule(name, T, warn=False, **config.get("kwargs", {}))

    # -- use ----------------------------------------------------------------------------------
    def gather(self, name: str, t, like: torch.Tensor) -> torch.Tensor:
        """Coefficient ``name`` at step(s) ``t``, shaped to broadcast against ``like`` (batch, ...).

        ``t`` is an int (one value for the whole batch: a 0-dim tensor) or a LongTensor (batch,)
        (returned with shape (batch, 1, ..., 1)). The result has ``like``'s dtype and device.
        """
        if name not in COEFFICIENTS:
            raise unknown_name("schedule coefficient", name, COEFFICIENTS)
        t = check_timestep(t, self.T)
        values: torch.Tensor = getattr(self, name)
        dtype = like.dtype if like.is_floating_point() else torch.float32
        if isinstance(t, int):
            return values[t].to(dtype=dtype, device=like.device)
        out = values[t.detach().cpu().long()].to(dtype=dtype, device=like.device)
        if t.dim() == 1:
            out = out.reshape(t.shape[0], *([1] * (like.dim() - 1)))
        return out

    def signal_left(self) -> float:
        """ᾱ_T (at index T − 1): the factor on x0's variance that x_T still carries."""
        return float(self.alphas_cumprod[-1])

    def t_half(self) -> int:
        """The code index k = t − 1 of the first step t with ᾱ_t < 0.5 (signal and noise variance cross, for
        unit-variance data); T if ᾱ never drops below 0.5."""
        below = torch.nonzero(self.alphas_cumprod < 0.5)
        return int(below[0]) if below.numel() else self.T

    def describe(self) -> str:
        """One line with the numbers that matter, in the maths' steps t = 1..T: β_1 and β_T, the first t with
        ᾱ_t < 0.5 (and its code index), ᾱ_T left at the end."""
        return (f"{self.name} schedule, T = {self.T}: β from {float(self.betas[0]):.3g} to "
                f"{float(self.betas[-1]):.3g}; ᾱ_t drops below 0.5 at t = {self.t_half() + 1} (code index "
                f"{self.t_half()}); ᾱ_T = {self.signal_left():.3g} (x_T keeps {math.sqrt(self.signal_left()):.1%} "
                f"of x0's scale)")

    def __len__(self) -> int:
        return self.T

    def __repr__(self) -> str:
        return f"NoiseSchedule({self.name!r}, T={self.T}, ᾱ_T={self.signal_left():.3g})"


def make_schedule(name: str = "linear", T: int = 1000, *, warn: bool = True, **kwargs) -> NoiseSchedule:
    """Build a schedule by name: ``linear``, ``cosine``, ``quadratic``, ``quadratic_ramp``, ``sigmoid``.

    ``kwargs`` go to the recipe (``beta_start``/``beta_end`` for linear, quadratic, quadratic_ramp and
    sigmoid; ``s``/``max_beta`` for cosine). Aliases: ``scaled_linear`` → quadratic,
    ``squaredcos_cap_v2`` → cosine. Warns with :class:`ScheduleWarning` when ᾱ_T (index T − 1) exceeds
    ``SIGNAL_LEFT_WARNING``: x_T would still hold signal, so sampling from N(0, I) is mismatched.
    """
    if not isinstance(name, str) or (name not in _RECIPES and name not in _ALIASES):
        raise unknown_name("schedule", name, SCHEDULE_NAMES)
    canonical = _ALIASES.get(name, name)
    T = check_num_steps(T)
    try:
        betas = _RECIPES[canonical](T, **kwargs)
    except TypeError as err:
        raise TypeError(f"schedule {name!r} does not take {sorted(kwargs)}: {err}") from None
    schedule = NoiseSchedule(betas, name=canonical, config={"name": canonical, "T": T, "kwargs": dict(kwargs)})
    if warn and schedule.signal_left() > SIGNAL_LEFT_WARNING:
        warnings.warn(tr(
            "{name} schedule with T = {T} leaves ᾱ_T = {abar:.3g}: x_T still holds {scale:.0%} of x0's scale, "
            "so it is not close to N(0, I). Use more steps (T = 1000) or larger β_end.", name=canonical, T=T,
            abar=schedule.signal_left(), scale=math.sqrt(schedule.signal_left())), ScheduleWarning, stacklevel=2)
    return schedule


# ---------------------------------------------------------------------------------------------
# Several schedules side by side (chapter 3)
# ---------------------------------------------------------------------------------------------
#: The schedules by their own names (no aliases), in the order chapter 3 compares them.
RECIPE_NAMES: tuple[str, ...] = tuple(_RECIPES)

#: The ``beta_schedule`` string diffusers' DDPMScheduler uses for the same β_t (None: no equivalent).
DIFFUSERS_NAMES: dict[str, str | None] = {
    "linear": "linear",
    "cosine": "squaredcos_cap_v2",
    "quadratic": "scaled_linear",
    "quadratic_ramp": None,
    "sigmoid": "sigmoid",
}


def make_schedules(names=RECIPE_NAMES, T: int = 1000) -> dict[str, NoiseSchedule]:
    """{name: make_schedule(name, T)} for every name in ``names``, in that order; no ScheduleWarning
    (a short T is shown on purpose)."""
    return {name: make_schedule(name, T, warn=False) for name in names}


def schedule_table(schedules: dict[str, NoiseSchedule]) -> list[dict]:
    """One row per schedule: β at the ends, where ᾱ crosses 0.5, and what is left at the last step t = T.

    Keys: name, diffusers (:data:`DIFFUSERS_NAMES`), T, beta_first, beta_last, t_half (the code index k of
    the first t with ᾱ_t < 0.5, i.e. t − 1; T if never), t_half_frac (that t as a fraction of T, (t_half + 1)/T),
    abar_last (ᾱ_T), scale_last (√ᾱ_T: x0's share of x_T's scale).
    """
    return [{"name": name, "diffusers": DIFFUSERS_NAMES.get(name), "T": s.T,
             "beta_first": float(s.betas[0]), "beta_last": float(s.betas[-1]),
             "t_half": s.t_half(), "t_half_frac": (s.t_half() + 1) / s.T,
             "abar_last": s.signal_left(), "scale_last": math.sqrt(s.signal_left())}
            for name, s in schedules.items()]
