r"""diffusion_lab — the helper package of the diffusion course workbook.

Conventions used everywhere (and in the notebooks):

* ``T`` noising steps. The maths (chapters, docstrings, figure labels) counts t = 1..T as the
  papers do: x_0 is the data, x_T ≈ N(0, I). Arrays and step arguments in code are 0-based: the code
  index k = t − 1, so ``schedule.alphas_cumprod[t - 1]`` is ᾱ_t and a sampler's last step (index 0)
  returns x_0.
* Forward process: x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε with ε ~ N(0, I), ᾱ_t = ∏_{s≤t} (1 − β_s).
* Tensors are torch and batch-first: 1D data (batch, 1), 2D data (batch, 2), images
  (batch, channels, height, width) with values in [−1, 1].
* ``t`` arguments are an int (one step for the whole batch) or a LongTensor of shape (batch,).
* Randomness goes through ``generator=`` (a ``torch.Generator``); ``seed_everything(seed)`` seeds
  python, numpy and torch and returns one. Same seed, same figure.
* Schedules are computed in float64 and cast to the caller's dtype and device when used.
* Bad input raises ``ValueError``/``TypeError`` with a message that names the fix.

Modules: ``schedules`` (β and derived coefficients), ``forward`` (q(x_t|x0), q(x_t|x_{t−1}),
posterior), ``distributions`` (toy data with exact ε*), ``sampling`` (DDPM/DDIM as generators, recorded runs),
``models``, ``training``, ``checkpoints``, ``data``, ``metrics``, ``plotting``, ``views``,
``widgets``, ``exercises``, ``i18n`` (English / 中文: ``dl.set_language("zh")``). See docs/architecture.md.
"""
# The core modules are attributes of the package as soon as it is imported (``dl.plotting``,
# ``dl.metrics`` …), whatever was imported before; views, widgets, models, training and exercises
# are imported by the chapters that use them.
from . import distributions, forward, metrics, plotting, sampling, schedules, seeding, validation  # noqa: F401
from .distributions import (DISTRIBUTION_NAMES, Distribution, GaussianMixture, make_distribution)
from .i18n import set_language, tr
from .forward import (marginal_moments, predict_noise_from_start, predict_start_from_noise, q_posterior,
                      q_posterior_sample, q_sample, q_step, q_trajectory)
from .sampling import (SamplerStep, SamplingTrace, ddim_sample, ddim_steps, ddim_timesteps, ddpm_mean_steps,
                       ddpm_sample, ddpm_steps, final, predict_eps, record)
from .schedules import SCHEDULE_NAMES, NoiseSchedule, ScheduleWarning, make_schedule
from .seeding import make_generator, seed_everything

__version__ = "0.1.0"

__all__ = [
    "DISTRIBUTION_NAMES", "Distribution", "GaussianMixture", "make_distribution",
    "marginal_moments", "predict_noise_from_start", "predict_start_from_noise", "q_posterior",
    "q_posterior_sample", "q_sample", "q_step", "q_trajectory",
    "SamplerStep", "SamplingTrace", "ddim_sample", "ddim_steps", "ddim_timesteps", "ddpm_mean_steps",
    "ddpm_sample", "ddpm_steps", "final", "predict_eps", "record",
    "SCHEDULE_NAMES", "NoiseSchedule", "ScheduleWarning", "make_schedule",
    "make_generator", "seed_everything", "set_language", "tr",
]
