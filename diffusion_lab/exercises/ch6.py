r"""Chapter 6 exercises — conditioning and classifier-free guidance.

q1  guided_eps(eps_uncond, eps_cond, w): the guidance combination ε̃ = ε_∅ + w (ε_y − ε_∅)
q2  a prediction, before moving the slider: what w = 4 does to samples of the exact 2D example
    compared with w = 1 (a dict of choices: radius, spread, still p(x0 | y)?; the check measures it)
q3  drop_labels(y, p_uncond, null_label, generator): label dropout, the one line that lets one
    network learn both ε(x_t, t, y) and ε(x_t, t, ∅) in a training step
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch

from ..claims import Z_SAMPLING
from ..i18n import tr
from .base import (Exercise, Incorrect, Mistake, NotAttempted, as_float64, call_student, check_close, require_callable,
                   source_of)

__all__ = ["q1", "q2", "q3", "reference_guided_eps", "reference_drop_labels", "measured_prediction",
           "PREDICTION_CHOICES"]


# ---------------------------------------------------------------------------------------------
# q1 — the guidance combination
# ---------------------------------------------------------------------------------------------
def reference_guided_eps(eps_uncond, eps_cond, w):
    """ε̃ = ε_∅ + w·(ε_y − ε_∅): w = 0 unconditional, w = 1 conditional, w > 1 guided."""
    return eps_uncond + w * (eps_cond - eps_uncond)


GUIDED_EPS_MISTAKES = (
    Mistake(lambda u, c, w: c + w * (c - u),
            "that is the other convention, ε̃ = ε_y + w (ε_y − ε_∅) = (1 + w) ε_y − w ε_∅ (the guidance paper's w, "
            "where w = 0 means 'no guidance'). The apps' CFG scale, used here, starts from the unconditional "
            "prediction: ε̃ = ε_∅ + w (ε_y − ε_∅), so that w = 1 is exactly the conditional model. "
            "Their w_app = 1 + w_paper."),
    Mistake(lambda u, c, w: c + w * (u - c),
            "the roles of the two predictions are swapped (your result is (1 − w) ε_y + w ε_∅): start from ε_∅ "
            "(eps_uncond) and move w times along ε_y − ε_∅, towards the conditional prediction, so that "
            "ε̃ = (1 − w) ε_∅ + w ε_y."),
    Mistake(lambda u, c, w: w * (c - u),
            "you have the guidance direction w (ε_y − ε_∅) but not the starting point: add ε_∅ (eps_uncond)."),
    Mistake(lambda u, c, w: u + w * c,
            "you added w·ε_y to ε_∅; the guidance term is the *difference* w (ε_y − ε_∅), so that w = 1 gives "
            "exactly ε_y."),
)


def _check_guided_eps(fn) -> None:
    require_callable(fn, "q1.check(guided_eps)")
    g = torch.Generator().manual_seed(0)
    u, c = torch.randn(6, 2, generator=g, dtype=torch.float64), torch.randn(6, 2, generator=g, dtype=torch.float64)
    for w in (3.0, 7.5, 0.0, 1.0):             # first a w where every typical mistake differs from the others
        got = as_float64(call_student(fn, u.clone(), c.clone(), w), "ε̃", (6, 2),
                         shape_fix="Return one ε̃ per sample, the shape of eps_cond.")
        check_close(got, reference_guided_eps(u, c, w), GUIDED_EPS_MISTAKES, u, c, w,
                    otherwise=tr("at w = {w:g} your ε̃ differs from ε_∅ + w (ε_y − ε_∅). Check w = 0 (should give "
                                 "eps_uncond) and w = 1 (should give eps_cond) first.", w=w))


q1 = Exercise(
    "Exercise 6.1 — the guidance combination",
    _check_guided_eps,
    hints=[
        "Two settings pin it down: at w = 0 the result is the unconditional prediction, at w = 1 the "
        "conditional one; in between and beyond, it moves along a straight line.",
        "Start from eps_uncond and add w times the step from eps_uncond to eps_cond.",
        "return eps_uncond + w * (eps_cond - eps_uncond)",
    ],
    solution=source_of(reference_guided_eps),
    reference=reference_guided_eps,
    mistakes=GUIDED_EPS_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2 — predict, then measure
# ---------------------------------------------------------------------------------------------
#: The keys of the prediction and the answers each may take (each compares w = 4 with w = 1).
PREDICTION_CHOICES = {
    "radius": ("smaller", "same", "larger"),    # mean distance of the samples from the centre of the ring
    "spread": ("smaller", "same", "larger"),    # spread of the class-0 samples around class 0's two centres
    "follows_conditional": (True, False),       # do the samples at w = 4 still follow p(x0 | y = 0)?
}
#: A change of the spread ratio smaller than this counts as "same" (10 % of the data's spread).
SPREAD_SAME = 0.1


@lru_cache(maxsize=1)
def measured_prediction(n: int = 600, num_steps: int = 25) -> dict:
    """The measurement q2 checks against: exact-field DDIM samples of the labelled ring aimed at class 0
    at w = 1 and w = 4 (same noise), with their precision, mean radius and spread."""
    from ..distributions import labelled_ring
    from ..guidance import class_precision_spread
    from ..schedules import make_schedule
    from ..views.guidance_explorer import guided_samples_by_w

    ring, schedule = labelled_ring(), make_schedule("linear", 1000)
    x_T = torch.randn((n, 2), generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    samples = guided_samples_by_w(ring.conditional_eps_model(schedule), schedule, 0, (1.0, 4.0), x_T,
                                  num_steps=num_steps)
    numbers = {w: class_precision_spread(x, ring, 0) for w, x in samples.items()}
    data = ring.conditional(0).sample(20000, generator=torch.Generator().manual_seed(12))
    radius_sd = float(samples[1.0].norm(dim=1).std())
    return {"w1": numbers[1.0], "w4": numbers[4.0], "data_radius": float(data.norm(dim=1).mean()), "n": n,
            "radius_se": radius_sd / math.sqrt(n)}


def _direction(a: float, b: float, same_within: float, words) -> str:
    """words[0] / words[1] / words[2] (smaller / same / larger) for b against a."""
    if abs(b - a) <= same_within:
        return words[1]
    return words[2] if b > a else words[0]


def _check_prediction(answer) -> None:
    if not isinstance(answer, dict):
        raise Incorrect(tr("answer with a dict of your three predictions, e.g. {{'radius': 'same', 'spread': "
                           "'smaller', 'follows_conditional': True}}; got {type_name}.",
                           type_name=type(answer).__name__))
    if any(v is None or v is Ellipsis for v in answer.values()):
        raise NotAttempted()
    missing = [k for k in PREDICTION_CHOICES if k not in answer]
    if missing:
        raise Incorrect(tr("predict all three: {missing} missing (keys {keys}).",
                           missing=missing, keys=list(PREDICTION_CHOICES)))
    for key, options in PREDICTION_CHOICES.items():
        if answer[key] not in options:
            raise Incorrect(tr("{key} must be one of {options}, got {value!r}.",
                               key=key, options=options, value=answer[key]))
    m = measured_prediction()
    w1, w4, n = m["w1"], m["w4"], m["n"]
    truth = {
        "radius": _direction(w1["mean_radius"], w4["mean_radius"], Z_SAMPLING * m["radius_se"],
                             PREDICTION_CHOICES["radius"]),
        "spread": _direction(w1["spread"], w4["spread"], SPREAD_SAME, PREDICTION_CHOICES["spread"]),
        "follows_conditional": False,
    }
    measured = tr("Measured on {n} samples from the same noise, w = 1 → w = 4: mean distance from the centre "
                  "{radius_1:.2f} → {radius_4:.2f} (class 0's data: {data_radius:.2f}); spread around class 0's "
                  "centres {spread_1:.2f} → {spread_4:.2f} × the data's; in class 0 {precision_1:.1f} % → "
                  "{precision_4:.1f} %.", n=n, radius_1=w1["mean_radius"], radius_4=w4["mean_radius"],
                  data_radius=m["data_radius"], spread_1=w1["spread"], spread_4=w4["spread"],
                  precision_1=100 * w1["precision"], precision_4=100 * w4["precision"])
    wrong = [k for k in PREDICTION_CHOICES if answer[k] != truth[k]]
    why = {
        "radius": tr("the other classes sit around the ring and across its centre, so pushing away from them (the "
                     "w·∇ log p(y | x_t) term) pushes samples outwards, beyond the data."),
        "spread": tr("guidance does not shrink each Gaussian of class 0: it pushes the samples away from the other "
                     "classes, off the data, so their distance to class 0's centres grows."),
        "follows_conditional": tr("at w = 4 the samples are not p(x0 | y): they sit further out than the class's "
                                  "own data. Guidance climbs the sharpened p(x)·p(y | x)^w, not p(x | y)."),
    }
    if wrong:
        raise Incorrect(tr("not what the measurement shows for {keys}: {why} {measured}", keys=", ".join(wrong),
                           why=" ".join(why[k] for k in wrong), measured=measured))
    print(measured)


q2 = Exercise(
    "Exercise 6.2 — predict the effect of w on the exact 2D example",
    _check_prediction,
    hints=[
        "The guided field is the score of p(x_t)·p(y | x_t)^w. Where is p(y = 0 | x) close to 1, and where is "
        "it small?",
        "Raising p(y | x) to the power 4 barely changes points deep inside class 0 and strongly down-weights "
        "points near the other classes. Where are the other classes — around the ring, across its centre, or "
        "both? Which way does a push away from them go?",
        "The samples move outwards, away from the other classes, so they sit further from the centre and further "
        "from class 0's own centres: {'radius': 'larger', 'spread': 'larger', 'follows_conditional': False}.",
    ],
    solution="```python\nprediction = {'radius': 'larger', 'spread': 'larger', 'follows_conditional': False}\n```\n"
             "Guidance climbs p(x)·p(y | x)^w: the push away from the other classes carries samples beyond the "
             "ring (larger radius), away from class 0's own centres (larger spread), so they do not follow "
             "p(x0 | y) — even though nearly all of them are clearly class 0.",
    reference={"radius": "larger", "spread": "larger", "follows_conditional": False},
)


# ---------------------------------------------------------------------------------------------
# q3 — label dropout
# ---------------------------------------------------------------------------------------------
def reference_drop_labels(y, p_uncond, null_label, generator=None):
    """Each label independently replaced by the 'no label' index ∅ with probability p_uncond (a new tensor)."""
    drop = torch.rand(y.shape, generator=generator) < p_uncond
    return torch.where(drop, torch.full_like(y, null_label), y)


def _labels(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed))


def _check_drop_labels(fn) -> None:
    require_callable(fn, "q3.check(drop_labels)")
    n, null = 20000, 10

    def run(y, p, seed):
        y_in = y.clone()
        out = call_student(fn, y_in, p, null, torch.Generator().manual_seed(seed))
        if not isinstance(out, torch.Tensor):
            raise Incorrect(tr("return a tensor of labels (like y), got {type_name}.", type_name=type(out).__name__))
        if out.shape != y.shape:
            raise Incorrect(tr("return one label per sample: shape {want}, got {got}.",
                               want=tuple(y.shape), got=tuple(out.shape)))
        if out.is_floating_point():
            raise Incorrect(tr("the labels must stay integers (an embedding looks them up): keep y's dtype, e.g. "
                               "with torch.where(drop, torch.full_like(y, null_label), y)."))
        if not torch.equal(y_in, y):
            raise Incorrect(tr("your function changed y in place; the data set's labels must stay as they are. Build "
                               "a new tensor (torch.where(...)) instead of assigning into y."))
        return out.long()

    y = _labels(n)
    p = 0.1
    out = run(y, p, 3)
    changed = out != y
    if bool(changed.any()) and not bool((out[changed] == null).all()):
        bad = sorted(set(out[changed].tolist()) - {null})[:4]
        raise Incorrect(tr("a dropped label must become null_label = {null} (the reserved 'no label' index K, one "
                           "past the last class), not {bad}: label 0 is the digit 0, a real class.",
                           null=null, bad=bad))
    frac = float((out == null).double().mean())
    se = math.sqrt(p * (1 - p) / n)
    if abs(frac - (1 - p)) <= Z_SAMPLING * se:
        raise Incorrect(tr("you dropped {dropped:.1f} % of the labels: the comparison is the wrong way round. rand < "
                           "p_uncond is true with probability p_uncond = {p}.", dropped=100 * frac, p=p))
    if frac in (0.0, 1.0):
        raise Incorrect(tr("all or nothing: you made one decision for the whole batch. Draw one random number per "
                           "label (torch.rand(y.shape, generator=generator))."))
    if abs(frac - p) > Z_SAMPLING * se:
        raise Incorrect(tr("{dropped:.1f} % of the labels became ∅; with p_uncond = {p} expect {expected:.0f} % (± "
                           "{margin:.1f} %).", dropped=100 * frac, p=p, expected=100 * p, margin=100 * Z_SAMPLING * se))
    # independence: drops in the first and second half of the batch are not the same pattern
    halves = changed[: n // 2] == changed[n // 2:]
    if bool(halves.all()):
        raise Incorrect(tr("the same labels are dropped in both halves of the batch: draw fresh random numbers for "
                           "every label."))
    # a different generator state gives different drops (the randomness comes from `generator`)
    again = run(y, p, 3)
    other = run(y, p, 4)
    if not torch.equal(again, out):
        raise Incorrect(tr("the same generator seed gave different drops: draw the random numbers with "
                           "generator=generator, so a training run can be repeated exactly."))
    if torch.equal(other, out):
        raise Incorrect(tr("a different generator gave the same drops: use generator=generator in torch.rand."))
    # the two ends
    if not torch.equal(run(y, 0.0, 1), y):
        raise Incorrect(tr("with p_uncond = 0 every label must stay as it is."))
    if not bool((run(y, 1.0, 2) == null).all()):
        raise Incorrect(tr("with p_uncond = 1 every label must become null_label = {null}.", null=null))


q3 = Exercise(
    "Exercise 6.3 — label dropout in a training step",
    _check_drop_labels,
    hints=[
        "Each label, independently, is replaced by null_label with probability p_uncond; the rest stay. One "
        "random number per label decides.",
        "drop = torch.rand(y.shape, generator=generator) < p_uncond is True with probability p_uncond. Then pick "
        "null_label where drop is True and y elsewhere — without changing y itself.",
        "drop = torch.rand(y.shape, generator=generator) < p_uncond; "
        "return torch.where(drop, torch.full_like(y, null_label), y)",
    ],
    solution=source_of(reference_drop_labels),
    reference=reference_drop_labels,
)
