r"""Classifier-free guidance: steer a conditional ε-model with a scale w (chapter 6).

One network ε_θ(x_t, t, y), trained with its label dropped to the reserved "no label" ∅ with
probability p_uncond, gives both ε(x_t, t, y) and ε(x_t, t, ∅). Guidance combines them, in the
convention image-generation apps use for their "CFG scale":

    ε̃ = ε(x_t, t, ∅) + w · (ε(x_t, t, y) − ε(x_t, t, ∅))

w = 0 is the unconditional model, w = 1 the conditional one, w > 1 extrapolates past it. In score
terms (∇ log p_t = −ε/√(1−ᾱ_t)) the guided score is

    ∇ log p_t(x_t) + w · ∇ log p_t(y | x_t) = ∇ log [ p_t(x_t) · p_t(y | x_t)^w ],

at each noise level the score of a **sharpened** density p_t(x_t) p_t(y | x_t)^w, not of p_t(x_t | y)
(except at w = 1): large w trades diversity within the class for how clearly the sample belongs to it.
For the exact fields, ε*(x_t, y) − ε*(x_t, ∅) = −√(1−ᾱ_t) ∇ log p_t(y | x_t): the gradient of the noisy
class posterior, scaled; a network's ε_y − ε_∅ only approximates it (:func:`field_error_by_t`). These
densities are not the noised versions of one distribution (for w ≠ 0, 1 the sharpened data density
p(x0) p(y | x0)^w noised to t is another density: :func:`tilted_densities_1d`), so guided samples follow
neither p(x0 | y) nor p(x0) p(y | x0)^w: they overshoot, away from the other classes. A **negative
prompt** y⁻ takes the place of ∅: ε̃ = ε(x_t, y⁻) + w (ε(x_t, y) − ε(x_t, y⁻)), the score of
p_t(x_t | y⁻)^{1−w} p_t(x_t | y)^w, which for w > 1 pushes samples away from y⁻.

Functions here:

* :func:`guidance_combination` — the formula on two ε predictions;
* :func:`guided_eps_model` — a sampler-ready ``eps_model(x_t, t)`` from a conditional model (a
  trained network or ``LabelledMixture.conditional_eps_model``, the exact field), one batched call
  per step; :func:`guided_eps_from_fields` — the same from two separate fields (ε_∅, ε_y);
* :func:`sample_guided` — guided DDIM samples of images or points;
* :func:`guidance_grid` — a grid of samples per w (rows = classes, columns = seeds) for a slider;
* measuring what guidance does: :func:`class_precision_spread` (2D, exact posterior),
  :func:`intended_class_metrics` (images, with the shipped digit classifier);
  :func:`field_error_by_t` holds a learnt conditional ε-model against the exact fields;
* what guided sampling follows, level by level: :func:`tilted_densities_1d` (on a 1D labelled mixture,
  the density the guided field is the score of at t beside the sharpened data density noised to t —
  they differ, which is why guided samples follow neither p(x0 | y) nor p(x0)·p(y | x0)^w) and
  :func:`tilted_mean_2d`, :func:`tilted_moments_2d` (the mean and variances of p_t(x_t)·p_t(y | x_t)^w on a
  2D grid);
* reading stored digit Fréchet distances: :func:`recorded_frechet` returns them only from a result that
  records the evaluation protocol it was measured by (held-out references, n, draws), :func:`mean_sd_text`
  prints one as "mean ± sd".
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .metrics import classifier_features, frechet_distance
from .models import conditioning_classes
from .sampling import ddim_sample
from .schedules import NoiseSchedule

__all__ = [
    "guidance_combination",
    "guided_eps_model",
    "guided_eps_from_fields",
    "GuidedEps",
    "sample_guided",
    "guidance_grid",
    "class_precision_spread",
    "intended_class_metrics",
    "within_class_spread",
    "field_error_by_t",
    "tilted_densities_1d",
    "tilted_mean_2d",
    "tilted_moments_2d",
    "recorded_frechet",
    "mean_sd_text",
]


def _check_w(w, batch: int | None = None):
    """w: a finite number, or a float tensor of shape (batch,) (one scale per sample)."""
    if isinstance(w, bool):
        raise TypeError("the guidance scale w must be a number, got a bool")
    if isinstance(w, numbers.Real):
        if not math.isfinite(float(w)):
            raise ValueError(f"the guidance scale w must be finite, got {w}")
        return float(w)
    if isinstance(w, Tensor):
        if w.dim() != 1 or (batch is not None and w.shape[0] != batch) or not bool(torch.isfinite(w).all()):
            raise ValueError(f"a per-sample guidance scale w must be a finite tensor of shape (batch,)"
                             f"{'' if batch is None else f' = ({batch},)'}, got {tuple(w.shape)}")
        return w
    raise TypeError(f"the guidance scale w must be a number (e.g. 3.0) or a tensor (batch,), got {type(w).__name__}")


def _broadcast_w(w, like: Tensor):
    if isinstance(w, Tensor):
        return w.to(like.device, like.dtype).reshape((-1,) + (1,) * (like.dim() - 1))
    return w


def guidance_combination(eps_uncond: Tensor, eps_cond: Tensor, w) -> Tensor:
    r"""ε̃ = ε_∅ + w (ε_y − ε_∅): classifier-free guidance in the apps' convention.

    ``eps_uncond`` ε(x_t, t, ∅) (or a negative prompt's ε(x_t, t, y⁻)) and ``eps_cond`` ε(x_t, t, y)
    have the same shape; ``w`` is a number or a tensor (batch,) (one scale per sample).
    w = 0 gives ε_∅, w = 1 gives ε_y.
    """
    if not isinstance(eps_uncond, Tensor) or not isinstance(eps_cond, Tensor):
        raise TypeError("eps_uncond and eps_cond must be tensors (two ε predictions for the same x_t)")
    if eps_uncond.shape != eps_cond.shape:
        raise ValueError(f"eps_uncond {tuple(eps_uncond.shape)} and eps_cond {tuple(eps_cond.shape)} must have "
                         "the same shape: both are ε predictions for the same x_t")
    w = _broadcast_w(_check_w(w, eps_cond.shape[0]), eps_cond)
    return eps_uncond + w * (eps_cond - eps_uncond)


def _label_batch(y, batch: int, num_classes: int, what: str, device) -> Tensor:
    """None → ∅ (= num_classes); an int or a (batch,) integer tensor → LongTensor (batch,)."""
    if y is None:
        return torch.full((batch,), num_classes, dtype=torch.long, device=device)
    if isinstance(y, bool):
        raise TypeError(f"{what} must be an int label or an integer tensor, got a bool")
    if isinstance(y, numbers.Integral):
        y = torch.full((batch,), int(y), dtype=torch.long, device=device)
    elif isinstance(y, Tensor) and not y.is_floating_point() and y.dtype != torch.bool:
        y = y.to(device=device, dtype=torch.long)
        y = y.expand(batch) if y.dim() == 0 else y
        if y.shape != (batch,):
            raise ValueError(f"{what} has shape {tuple(y.shape)}; give one label per sample ({batch},) or one int")
    else:
        raise TypeError(f"{what} must be None (∅), an int or an integer tensor (batch,), got {type(y).__name__}")
    if bool(((y < 0) | (y > num_classes)).any()):
        raise ValueError(f"{what} must hold classes 0..{num_classes - 1} or {num_classes} (∅, no label), "
                         f"got values {int(y.min())}..{int(y.max())}")
    return y


class GuidedEps:
    """``eps_model(x_t, t) -> ε̃`` for the samplers: classifier-free guidance of a conditional model.

    Made by :func:`guided_eps_model`. Each call evaluates the model once on a doubled batch
    (x_t with labels y and with the negative/∅), or once on the plain batch when w is 0 or 1 and
    only one of the two terms counts. ``calls`` counts model evaluations (doubled batches count once).
    """

    def __init__(self, model, y, w, negative=None):
        self.num_classes = conditioning_classes(model)
        if not self.num_classes:
            raise ValueError("guidance needs a label-conditioned model ε(x_t, t, y) (built with num_classes=K, "
                             "e.g. TinyUNet(num_classes=10) or LabelledMixture.conditional_eps_model(schedule))")
        null = getattr(model, "null_label", None)
        if null is not None and null != self.num_classes:
            raise ValueError(f"the model's 'no label' index is {null}, expected num_classes = {self.num_classes}")
        self.model, self.y, self.negative = model, y, negative
        self.w = _check_w(w)
        self.calls = 0

    def _labels(self, label, batch, what, device):
        return _label_batch(label, batch, self.num_classes, what, device)

    def __call__(self, x_t: Tensor, t) -> Tensor:
        B = x_t.shape[0]
        w = _check_w(self.w, B)
        pos = self._labels(self.y, B, "y", x_t.device)
        neg = self._labels(self.negative, B, "negative", x_t.device)
        self.calls += 1
        if not isinstance(w, Tensor) and (w == 1.0 or bool((pos == neg).all())):
            return self.model(x_t, t, pos)
        if not isinstance(w, Tensor) and w == 0.0:
            return self.model(x_t, t, neg)
        tb = t.repeat(2) if isinstance(t, Tensor) and t.dim() == 1 else t
        both = self.model(torch.cat([x_t, x_t]), tb, torch.cat([pos, neg]))
        eps_cond, eps_neg = both[:B], both[B:]
        return guidance_combination(eps_neg, eps_cond, w)

    def __repr__(self) -> str:
        neg = "∅" if self.negative is None else self.negative
        return f"GuidedEps(y={self.y}, w={self.w}, negative={neg})"


def guided_eps_model(model, y, w, negative=None) -> GuidedEps:
    r"""The guided ``eps_model(x_t, t)`` for any sampler: ε̃ = ε(x_t, t, y⁻) + w (ε(x_t, t, y) − ε(x_t, t, y⁻)).

    Args:
        model: a conditional ε-model called as ``model(x_t, t, y)`` with ``num_classes`` K and the
            "no label" index K (a TinyUNet/TimeMLP built with ``num_classes``, or the exact
            ``LabelledMixture.conditional_eps_model(schedule)``).
        y: the class to steer towards: an int, or a LongTensor (batch,) (e.g. one row per class).
        w: the guidance scale (0 unconditional, 1 conditional, > 1 guided), or a tensor (batch,).
        negative: the negative prompt y⁻ that replaces ∅ (an int or (batch,)); None is ∅.
    """
    return GuidedEps(model, y, w, negative)


def guided_eps_from_fields(eps_uncond: Callable, eps_cond: Callable, w) -> Callable[[Tensor, Tensor], Tensor]:
    """Guidance from two separate fields ``eps_uncond(x_t, t)`` (ε_∅) and ``eps_cond(x_t, t)`` (ε_y), e.g. the
    exact ``GaussianMixture.eps_model`` of p(x) and of p(x | y): ``(x_t, t) -> ε_∅ + w (ε_y − ε_∅)``."""
    if not callable(eps_uncond) or not callable(eps_cond):
        raise TypeError("eps_uncond and eps_cond must be callables eps(x_t, t) -> ε̂")
    w = _check_w(w)

    def guided(x_t: Tensor, t) -> Tensor:
        return guidance_combination(eps_uncond(x_t, t), eps_cond(x_t, t), w)
    return guided


@torch.no_grad()
def sample_guided(model, schedule: NoiseSchedule, y, w, x_T, negative=None, num_steps: int = 50,
                  eta: float = 0.0, clip_x0: float | None = None, generator: torch.Generator | None = None) -> Tensor:
    """Guided DDIM samples x0 (the shape of ``x_T``, a tensor or a shape tuple) towards labels ``y``
    (int or (batch,)) at scale ``w`` (number or (batch,)), with an optional negative prompt.
    Images: pass ``clip_x0=1.0`` (x̂0 clamped to [−1, 1] at each step)."""
    if isinstance(model, torch.nn.Module):
        model.eval()
    eps_model = guided_eps_model(model, y, w, negative)
    return ddim_sample(eps_model, schedule, x_T, num_steps=num_steps, eta=eta, clip_x0=clip_x0, generator=generator)


@torch.no_grad()
def guidance_grid(model, schedule: NoiseSchedule, ws: Sequence[float], classes: Sequence[int], seeds: Sequence[int],
                  image_shape: Sequence[int], num_steps: int = 25, clip_x0: float | None = 1.0) -> Tensor:
    """Samples for a slider over w: a tensor (len(ws), len(classes), len(seeds), *image_shape).

    Row i holds class ``classes[i]``; column j starts from the noise of ``seeds[j]`` for every row and
    every w (so moving w changes only the scale). All (class, seed) pairs of one w are one batch."""
    if not ws or not classes or not seeds:
        raise ValueError("give at least one w, one class and one seed")
    noise = torch.stack([torch.randn(tuple(image_shape), generator=torch.Generator().manual_seed(int(s)))
                         for s in seeds])                                       # (S, *shape)
    C, S = len(classes), len(seeds)
    x_T = noise.repeat(C, *([1] * len(image_shape)))                            # (C·S, *shape), class-major
    y = torch.tensor([int(c) for c in classes for _ in range(S)], dtype=torch.long)
    out = [sample_guided(model, schedule, y, float(w), x_T, num_steps=num_steps, clip_x0=clip_x0)
           for w in ws]
    return torch.stack(out).reshape(len(ws), C, S, *image_shape)


def class_precision_spread(samples, mixture, y: int, reference_n: int = 20000) -> dict:
    """What guidance did to 2D samples aimed at class ``y`` of a :class:`~.distributions.LabelledMixture`.

    Returns a dict:
        ``precision``: fraction of samples the exact Bayes classifier argmax_c p(c | x0) puts in class y
            (for exact samples of p(x0 | y) this is below 1 where classes overlap);
        ``spread``: root-mean-square distance of the samples counted in class y to their nearest
            class-y component mean, divided by the same number for exact samples of p(x0 | y) (1: as
            spread as the class's data; < 1 squeezed; > 1 pushed off the data);
        ``coverage``: entropy of how those samples split between the class's components over its
            maximum log m (1 = even, 0 = one component only; 1 for a one-component class);
        ``mean_radius``: mean distance ‖x0‖ from the origin (the ring's data has it ≈ its radius);
        ``n_in_class``: how many samples were counted for spread and coverage.
    The reference samples of p(x0 | y) are drawn with a fixed seed (``reference_n`` of them).
    """
    x = torch.as_tensor(samples).detach().to(torch.float64).reshape(-1, mixture.dim)
    y = int(y)
    in_class = mixture.log_prob_y_given_x_t(None, x, None).argmax(1) == y
    means = mixture.means[mixture.labels == y]

    def rms_nearest(points):
        d2 = ((points[:, None, :] - means[None]) ** 2).sum(-1)
        return float(d2.min(1).values.mean().sqrt()), d2.argmin(1)

    ref = mixture.conditional(y).sample(reference_n, generator=torch.Generator().manual_seed(0)).double()
    ref = ref[mixture.log_prob_y_given_x_t(None, ref, None).argmax(1) == y]
    ref_rms, _ = rms_nearest(ref)
    xc = x[in_class]
    result = {"precision": float(in_class.double().mean()), "n_in_class": int(in_class.sum()),
              "mean_radius": float(x.norm(dim=1).mean())}
    if xc.shape[0] == 0:
        result.update(spread=float("nan"), coverage=float("nan"))
        return result
    rms, nearest = rms_nearest(xc)
    result["spread"] = rms / ref_rms
    m = means.shape[0]
    if m > 1:
        freq = torch.bincount(nearest, minlength=m).double() / xc.shape[0]
        nz = freq[freq > 0]
        result["coverage"] = float(-(nz * nz.log()).sum()) / math.log(m)
    else:
        result["coverage"] = 1.0
    return result


def within_class_spread(features: Tensor, labels: Tensor, num_classes: int = 10) -> np.ndarray:
    """Per class c, the total variance trace Cov(features of class c) (nan for a class with < 2 samples)."""
    f = torch.as_tensor(features).double()
    out = np.full(num_classes, np.nan)
    for c in range(num_classes):
        fc = f[labels == c]
        if fc.shape[0] >= 2:
            out[c] = float(fc.var(0, unbiased=True).sum())
    return out


@torch.no_grad()
def intended_class_metrics(images: Tensor, intended: Tensor, classifier, reference: Tensor | None = None,
                           batch_size: int = 500) -> dict:
    """How well guided digit images (N, 1, H, W) show their intended classes (N,), by a digit classifier.

    Returns a dict:
        ``accuracy``: fraction classified as the intended class;
        ``confidence``: mean classifier probability of the intended class, p(y | x);
        ``diversity``: diversity within a class: for each class c, trace Cov(features) of the images the
            classifier calls c, divided by the same for the real ``reference`` images it calls c; the mean
            over classes (1 = as varied as real digits; → 0 as the samples of a class collapse onto one
            look). Grouping by the predicted class keeps it meaningful at w = 0, where the intended
            label is ignored; needs ``reference``;
        ``fid``: the digit Fréchet distance of all images to ``reference`` (features of the same
            classifier; compare only values for the same numbers of images);
        ``n``: the number of images.
    """
    if images.shape[0] != intended.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {intended.shape[0]} intended labels")
    classifier.eval()
    dev = next(classifier.parameters()).device
    logits = torch.cat([classifier(images[i:i + batch_size].to(dev, torch.float32)).cpu()
                        for i in range(0, images.shape[0], batch_size)]).double()
    p = logits.softmax(1)
    intended = intended.long().cpu()
    out = {"n": int(images.shape[0]),
           "accuracy": float((p.argmax(1) == intended).double().mean()),
           "confidence": float(p.gather(1, intended[:, None]).mean())}
    if reference is not None:
        feats = classifier_features(images, classifier, batch_size)
        ref_feats = classifier_features(reference, classifier, batch_size)
        out["fid"] = frechet_distance(feats, ref_feats)
        k = p.shape[1]
        ref_pred = torch.cat([classifier(reference[i:i + batch_size].to(dev, torch.float32)).argmax(1).cpu()
                              for i in range(0, reference.shape[0], batch_size)])
        ratio = within_class_spread(feats, p.argmax(1), k) / within_class_spread(ref_feats, ref_pred, k)
        out["diversity"] = float(np.nanmean(ratio))
    return out


@torch.no_grad()
def field_error_by_t(model, mixture, schedule: NoiseSchedule, ts: Sequence[int], n: int = 2000,
                     generator: torch.Generator | None = None) -> dict:
    """How far a learnt conditional ε-model is from the exact fields of a labelled mixture, per code step.

    For each t in ``ts``: x0 and y from p(x0, y), x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, then the root-mean-square
    of ε_θ(x_t, t, y) − ε*(x_t, t, y) (``conditional``) and of ε_θ(x_t, t, ∅) − ε*(x_t, t) (``unconditional``),
    each divided by the root-mean-square of the exact field itself (0 = exact; 1 = as large as the
    field). Also the guided difference ε_y − ε_∅ (``difference``, relative to the exact difference):
    the part guidance multiplies by w, so its errors are multiplied by w too.
    Returns ``{"t": [...], "conditional": [...], "unconditional": [...], "difference": [...]}``.
    """
    from .forward import q_sample

    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    exact = mixture.conditional_eps_model(schedule)
    out = {"t": [int(t) for t in ts], "conditional": [], "unconditional": [], "difference": []}
    if isinstance(model, torch.nn.Module):
        model.eval()

    def rel(a, b):
        return float((a - b).pow(2).mean().sqrt() / b.pow(2).mean().sqrt().clamp_min(1e-12))

    for t in out["t"]:
        x0, y = mixture.sample_labelled(n, generator=generator)
        x_t = q_sample(schedule, x0, t, noise=torch.randn(x0.shape, generator=generator))
        tb = torch.full((n,), t, dtype=torch.long)
        got_y, got_null = model(x_t, tb, y).double(), model(x_t, tb).double()
        want_y, want_null = exact(x_t.double(), tb, y).double(), exact(x_t.double(), tb).double()
        out["conditional"].append(rel(got_y, want_y))
        out["unconditional"].append(rel(got_null, want_null))
        out["difference"].append(rel(got_y - got_null, want_y - want_null))
    return out


def _even_grid(xs) -> Tensor:
    xs = torch.as_tensor(xs, dtype=torch.float64)
    if xs.dim() != 1 or xs.numel() < 3:
        raise ValueError(f"xs must be a 1D grid of at least 3 points (torch.linspace(-6, 6, 1201)), "
                         f"got shape {tuple(xs.shape)}")
    steps = xs[1:] - xs[:-1]
    if not bool((steps > 0).all()) or float((steps - steps[0]).abs().max()) > 1e-3 * float(steps[0]):
        raise ValueError("xs must be evenly spaced and increasing (use torch.linspace(lo, hi, n))")
    return torch.linspace(float(xs[0]), float(xs[-1]), xs.numel(), dtype=torch.float64)   # exact spacing


@torch.no_grad()
def tilted_densities_1d(mixture, schedule: NoiseSchedule, t: int, y: int, w: float, xs) -> dict:
    r"""What guided sampling follows at one noise level, against where it would have to be, on a 1D grid.

    For a 1D :class:`~.distributions.LabelledMixture` at code step ``t`` (ᾱ = ᾱ_{t+1} in the maths; ``None``:
    the clean data, where all three are the data's densities p̃_0, p̃_0 and p(x0 | y)), on
    the evenly spaced grid ``xs`` (G,), each normalised on the grid (sum × spacing = 1):

    * ``guided_at_t``: p_t(x)·p_t(y | x)^w — the density whose score the guided field is at this level
      (ε̃ = −√(1−ᾱ_t) ∇ log of it);
    * ``noised_tilted``: the sharpened **data** density p̃_0(x0) ∝ p(x0)·p(y | x0)^w pushed through the
      forward process, ∫ p̃_0(x0) N(x; √ᾱ x0, 1 − ᾱ) dx0. The reverse sampler that ends at p̃_0 follows, at
      each t, the score of this density; the guided field is the score of ``guided_at_t``, another density
      (``tv`` > 0), so nothing makes the guided sampler end at p̃_0;
    * ``conditional_at_t``: p_t(x | y) (what w = 1 follows);
    * ``tv``: the total-variation distance ½ ∫ |guided_at_t − noised_tilted| dx (0 at w = 0 and w = 1,
      where the two are the same density; > 0 in between and beyond);
    * ``xs`` and ``dx`` (the grid and its spacing).

    The integral over x0 is a sum over the same grid, so the grid must hold nearly all the mass of
    p̃_0 and of the noised densities (for the course's mixtures, [−6, 6] with 1201 points).
    """
    if getattr(mixture, "dim", None) != 1 or not hasattr(mixture, "tilted_log_prob_t"):
        raise ValueError("tilted_densities_1d needs a 1D LabelledMixture (means of shape (K, 1)); use tilted_mean_2d "
                         "or LabelledMixture.tilted_grid for 2D")
    xs = _even_grid(xs)
    dx = float(xs[1] - xs[0])
    if t is not None and (isinstance(t, bool) or not isinstance(t, numbers.Integral) or not 0 <= t < schedule.T):
        raise ValueError(f"t is a code step 0..{schedule.T - 1} (the maths' t − 1) or None (the data), got {t!r}")
    w = float(_check_w(w))

    def normalised(log_d: Tensor) -> Tensor:
        d = torch.exp(log_d.double() - log_d.max())
        return d / (d.sum() * dx)

    pts = xs[:, None]
    tilted_0 = normalised(mixture.tilted_log_prob_t(None, pts, None, y, w))
    if t is None:                                                   # the data: nothing is noised
        cond_0 = normalised(mixture.tilted_log_prob_t(None, pts, None, y, 1.0))
        return {"xs": xs, "dx": dx, "guided_at_t": tilted_0, "noised_tilted": tilted_0.clone(),
                "conditional_at_t": cond_0, "tv": 0.0}
    k = int(t)
    abar = float(schedule.alphas_cumprod[k])
    kernel = torch.exp(-(xs[:, None] - abar ** 0.5 * xs[None, :]) ** 2 / (2 * (1 - abar))) \
        / math.sqrt(2 * math.pi * (1 - abar))                                  # N(x; √ᾱ x0, 1 − ᾱ), [x, x0]
    noised = kernel @ tilted_0 * dx
    noised = noised / (noised.sum() * dx)
    guided = normalised(mixture.tilted_log_prob_t(schedule, pts, k, y, w))
    cond = normalised(mixture.tilted_log_prob_t(schedule, pts, k, y, 1.0))
    return {"xs": xs, "dx": dx, "guided_at_t": guided, "noised_tilted": noised, "conditional_at_t": cond,
            "tv": float(0.5 * (guided - noised).abs().sum() * dx)}


@torch.no_grad()
def tilted_moments_2d(mixture, schedule: NoiseSchedule | None, t, y: int, w: float, lim: float = 5.0,
                      grid_n: int = 201) -> dict:
    """The mean (2,) and the variance of each coordinate (2,) of p_t(x_t)·p_t(y | x_t)^w — the density the guided
    field is the score of at code step ``t`` — summed on :meth:`~.distributions.LabelledMixture.tilted_grid`
    over [−lim, lim]² (``t=None``: the clean data). The grid must hold nearly all the mass (a wider ``lim``
    otherwise). Returns ``{"mean": ..., "var": ...}``."""
    xs, ys, dens, cell = mixture.tilted_grid(schedule, t, y, w, lim=lim, grid_n=grid_n)
    mass_x = dens.sum(0) * cell                       # marginal of x₁ over the grid's columns (rows are x₂)
    mass_y = dens.sum(1) * cell
    mean = torch.stack([(mass_x * xs).sum(), (mass_y * ys).sum()])
    var = torch.stack([(mass_x * (xs - mean[0]) ** 2).sum(), (mass_y * (ys - mean[1]) ** 2).sum()])
    return {"mean": mean, "var": var}


def tilted_mean_2d(mixture, schedule: NoiseSchedule | None, t, y: int, w: float, lim: float = 5.0,
                   grid_n: int = 201) -> Tensor:
    """The mean (2,) of p_t(x_t)·p_t(y | x_t)^w at code step ``t`` (:func:`tilted_moments_2d`'s ``mean``)."""
    return tilted_moments_2d(mixture, schedule, t, y, w, lim, grid_n)["mean"]

def recorded_frechet(result: dict) -> dict:
    """The digit Fréchet distances a stored result holds, only if it records its evaluation protocol.

    ``result`` is a JSON result of ``benchmarks/guidance_curves.py`` (lists ``fid``, optional ``fid_sd``,
    ``fid_real``, ``fid_real_sd``) or of ``benchmarks/heldout_eval.py`` (``real``, ``generators``). A Fréchet
    distance means little without the references, n and draws it was measured with (it is biased at small n,
    moves between draws and flatters a generator whose references it trained on), so a result without a
    ``protocol`` entry is refused. Returns ``{"real": (mean, sd), "samples": [(mean, sd), ...]}`` — one pair
    per w of a curve or per generator of a held-out result, sd ``None`` where no spread was recorded.
    """
    if not isinstance(result, dict) or not result.get("protocol"):
        what = result.get("command", "this result") if isinstance(result, dict) else repr(type(result))
        raise ValueError(f"{what!r} records no evaluation protocol, so its Fréchet distances cannot be read "
                         "against anything (references, n and draws unknown); re-measure it with "
                         "benchmarks/heldout_eval.py (or benchmarks/guidance_curves.py, which records the protocol) "
                         "and read the result that has a 'protocol' entry")
    if "generators" in result:
        real = (float(result["real"]["fid_real_mean"]), float(result["real"]["fid_real_sd"]))
        samples = [(float(g["fid_mean"]), float(g["fid_sd"])) for g in result["generators"]]
    else:
        sds = result.get("fid_sd", [None] * len(result["fid"]))
        real = (float(result["fid_real"]), result.get("fid_real_sd"))
        samples = [(float(v), None if sd is None else float(sd)) for v, sd in zip(result["fid"], sds)]
    return {"real": real, "samples": samples}


def mean_sd_text(pair) -> str:
    """(mean, sd) as "34.1 ± 11.8" (one decimal; the mean alone where sd is None)."""
    mean, sd = pair
    return f"{mean:.1f}" + ("" if sd is None else f" ± {sd:.1f}")
