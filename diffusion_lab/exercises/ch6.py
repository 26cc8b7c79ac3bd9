r"""Chapter 6 exercises — conditioning and classifier-free guidance, in the order the chapter asks them.

q1  drop_labels(y, p_uncond, null_label, generator): label dropout, the one line that lets one
    network learn both ε(x_t, t, y) and ε(x_t, t, ∅) in a training step
q2  classifier_guided_eps(eps_uncond, grad_log_classifier, abar_t, w): guidance written with a
    classifier's gradient ∇ log p_t(y | x_t) instead of a second ε — a derivation (ε as a scaled score,
    Bayes' rule), checked on the exact labelled ring
q3  a prediction, before moving the slider: what w = 4 does to samples of the exact 2D example
    compared with w = 1 (a dict of choices: radius, spread, still p(x0 | y)?; the check measures it)
q4  negative_prompt_log_density(log_p, log_post, y, negative, w): the density whose score the
    combination ε_∅ + w (ε_y − ε_{y⁻}) is, at one noise level — a derivation, checked up to a constant

What each asks beyond the chapter's text: q1 turns "independently, with probability p" into one draw per
label (the chapter describes it in words only); q2 must find the factor −√(1−ᾱ_t) that turns a
classifier's gradient into an ε difference (the chapter states it only after the exercise); q3 reasons
about where the other classes lie before measuring; q4 derives a density for a combination the
chapter does not write down (it writes ε_{y⁻} + w (ε_y − ε_{y⁻}), whose density is a trap here).
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch

from ..claims import Z_SAMPLING
from ..i18n import tr
from .base import (Exercise, Incorrect, Mistake, NotAttempted, as_float64, call_student, check_close, require_callable,
                   source_of)

__all__ = ["q1", "q2", "q3", "q4", "reference_drop_labels", "reference_classifier_guided_eps",
           "reference_negative_prompt_log_density", "measured_prediction", "PREDICTION_CHOICES",
           "CLASSIFIER_GUIDED_MISTAKES", "NEGATIVE_DENSITY_MISTAKES"]


# ---------------------------------------------------------------------------------------------
# q1 — label dropout
# ---------------------------------------------------------------------------------------------
def reference_drop_labels(y, p_uncond, null_label, generator=None):
    """Each label independently replaced by the 'no label' index ∅ with probability p_uncond (a new tensor)."""
    drop = torch.rand(y.shape, generator=generator) < p_uncond
    return torch.where(drop, torch.full_like(y, null_label), y)


def _labels(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed))


def _check_drop_labels(fn) -> None:
    require_callable(fn, "q1.check(drop_labels)")
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
            raise Incorrect(tr("the labels must stay integers (an embedding looks them up): build the ∅ labels with "
                               "y's own dtype, not as floats (look up torch.full_like: it copies a tensor's shape "
                               "and dtype)."))
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
                           "label: a tensor of them with y's shape, from the generator you were given."))
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
        raise Incorrect(tr("the same generator seed gave different drops: draw the random numbers from the generator "
                           "passed to your function (torch's random functions accept one), so a training run can be "
                           "repeated exactly."))
    if torch.equal(other, out):
        raise Incorrect(tr("a different generator gave the same drops: your random numbers do not come from the "
                           "generator passed to your function (torch's random functions accept one)."))
    # the two ends
    if not torch.equal(run(y, 0.0, 1), y):
        raise Incorrect(tr("with p_uncond = 0 every label must stay as it is."))
    if not bool((run(y, 1.0, 2) == null).all()):
        raise Incorrect(tr("with p_uncond = 1 every label must become null_label = {null}.", null=null))


q1 = Exercise(
    "Exercise 6.1 — label dropout in a training step",
    _check_drop_labels,
    hints=[
        "Each label, independently, is replaced by null_label with probability p_uncond; the rest stay. One "
        "random number per label decides.",
        "A uniform random number in [0, 1) is below p_uncond with probability p_uncond: draw one per label (with "
        "the generator you were given), compare, and keep the result as a True/False mask.",
        "With the mask, choose null_label where it is True and the original label elsewhere, in a new integer "
        "tensor. torch has a function that picks, element by element, from one of two tensors by a mask (look up "
        "torch.where), and one that makes a tensor shaped like another and filled with one value (look up "
        "torch.full_like).",
    ],
    solution=source_of(reference_drop_labels),
    reference=reference_drop_labels,
)


# ---------------------------------------------------------------------------------------------
# q2 — guidance with a classifier's gradient (a derivation)
# ---------------------------------------------------------------------------------------------
def reference_classifier_guided_eps(eps_uncond, grad_log_classifier, abar_t, w):
    """ε̃ = ε_∅ − w √(1−ᾱ_t) ∇ log p_t(y | x_t): the difference ε_y − ε_∅ is the classifier's gradient
    times −√(1−ᾱ_t) (ε = −√(1−ᾱ_t) · score, and Bayes' rule)."""
    return eps_uncond - w * (1 - abar_t) ** 0.5 * grad_log_classifier


CLASSIFIER_GUIDED_MISTAKES = (
    Mistake(lambda u, g, a, w: u + w * g,
            "you added the classifier's gradient as it is. An ε and a score are not in the same units: ε = "
            "−√(1−ᾱ_t) · ∇ log p_t, so the gradient needs that factor, sign included, before it joins ε_∅."),
    Mistake(lambda u, g, a, w: u + w * (1 - a) ** 0.5 * g,
            "right size, wrong direction: ε points *against* the score (ε = −√(1−ᾱ_t) ∇ log p_t: the noise is what "
            "a denoiser removes, and removing it climbs the density). With your sign, samples are pushed away "
            "from class y."),
    Mistake(lambda u, g, a, w: u - w * g / (1 - a) ** 0.5,
            "the factor is upside down: an ε is √(1−ᾱ_t) times a score (with a minus sign), not a score divided "
            "by it."),
    Mistake(lambda u, g, a, w: u - w * (1 - a) * g,
            "the factor is √(1−ᾱ_t), the standard deviation of the noise in x_t, not its variance 1 − ᾱ_t."),
    Mistake(lambda u, g, a, w: u - w * a ** 0.5 * g,
            "the factor is √(1−ᾱ_t), the noise's share of x_t, not √ᾱ_t, the signal's."),
    Mistake(lambda u, g, a, w: -w * (1 - a) ** 0.5 * g,
            "you have the guidance term but not its starting point: the result starts from ε_∅ (eps_uncond), the "
            "unconditional prediction, and the classifier moves it."),
    Mistake(lambda u, g, a, w: u - (w - 1) * (1 - a) ** 0.5 * g,
            "your w is off by one: at w = 1 the result must be the conditional prediction ε(x_t, y), and yours "
            "gives the unconditional one there. (Ho & Salimans (2022) call this chapter's w − 1 their w; here w is "
            "the chapter's: w = 0 unconditional, w = 1 conditional.)"),
    Mistake(lambda u, g, a, w: u - (w + 1) * (1 - a) ** 0.5 * g,
            "your w is off by one the other way: at w = 0 the result must be ε_∅ (eps_uncond), and yours gives the "
            "conditional prediction ε(x_t, y) there. That is Ho & Salimans' (2022) convention, ε̃ = (1 + w) ε_y − "
            "w ε_∅, whose w = 0 is conditional; this chapter's w is theirs plus 1."),
)


@lru_cache(maxsize=1)
def _classifier_cases():
    """(t, ε_∅, ∇ log p_t(y | x_t), ᾱ_t, w, exact guided ε̃) on the exact labelled ring at a few noise levels."""
    from ..distributions import labelled_ring
    from ..schedules import make_schedule

    ring, schedule = labelled_ring(), make_schedule("linear", 1000)
    g = torch.Generator().manual_seed(21)
    cases = []
    for t, y, w in ((300, 0, 3.0), (700, 2, 2.0), (60, 1, 5.0)):          # the maths' t; code index t − 1
        k = t - 1
        x = 2.0 * torch.randn(8, 2, dtype=torch.float64, generator=g)
        x_req = x.clone().requires_grad_(True)
        grad, = torch.autograd.grad(ring.log_prob_y_given_x_t(schedule, x_req, k)[:, y].sum(), x_req)
        cases.append((t, ring.eps_star_conditional(schedule, x, k, None), grad.detach(),
                      schedule.alphas_cumprod[k].clone(), w, ring.eps_star_guided(schedule, x, k, y, w)))
    return tuple(cases)


def _check_classifier_guided(fn) -> None:
    require_callable(fn, "q2.check(classifier_guided_eps)")
    for t, eps_u, grad, abar, w, want in _classifier_cases():
        args = (eps_u.clone(), grad.clone(), abar.clone(), w)
        got = as_float64(call_student(fn, *args), "ε̃", tuple(want.shape),
                         shape_fix="Return one ε̃ per point, the shape of eps_uncond.")
        check_close(got, want, CLASSIFIER_GUIDED_MISTAKES, *args,
                    otherwise=tr("at t = {t}, w = {w:g} your ε̃ is not the exact guided field of the labelled ring "
                                 "(largest difference {gap:.3g}). Check w = 0 first (it must give eps_uncond), "
                                 "then the factor that turns a score into an ε.",
                                 t=t, w=w, gap=float((got - want).abs().max())))


q2 = Exercise(
    "Exercise 6.2 — guidance from a classifier's gradient",
    _check_classifier_guided,
    hints=[
        "Write every ε as a scaled score, ε = −√(1−ᾱ_t) ∇ log p_t(·), and the conditional score with Bayes' "
        "rule. Which terms does the guided ε̃ need, and which of them does a classifier give you?",
        "Bayes: ∇ log p_t(x_t | y) − ∇ log p_t(x_t) = ∇ log p_t(y | x_t) (the prior p(y) does not depend on x_t). "
        "So ε_y − ε_∅ is the classifier's gradient times one factor — which one, with which sign?",
        "The factor is the one that turns any score into an ε (section 2's first fact), sign included. Before you "
        "write anything, test your formula on paper at w = 0 (it must give ε_∅) and at w = 1 (it must give ε_y).",
    ],
    solution=source_of(reference_classifier_guided_eps),
    reference=reference_classifier_guided_eps,
    mistakes=CLASSIFIER_GUIDED_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3 — predict, then measure
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
    """The measurement q3 checks against: exact-field DDIM samples of the labelled ring aimed at class 0
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
                                  "own data. At each noise level guidance follows the score of p_t(x_t)·p_t(y | "
                                  "x_t)^w, which is p_t(x_t | y) only at w = 1."),
    }
    if wrong:
        raise Incorrect(tr("not what the measurement shows for {keys}: {why} {measured}", keys=", ".join(wrong),
                           why=" ".join(why[k] for k in wrong), measured=measured))
    print(measured)


q3 = Exercise(
    "Exercise 6.3 — predict the effect of w on the exact 2D example",
    _check_prediction,
    hints=[
        "At noise level t the guided field is the score of p_t(x_t)·p_t(y | x_t)^w. Where is p(y = 0 | x) close "
        "to 1, and where is it small?",
        "Raising p(y | x) to the power 4 barely changes points deep inside class 0 and strongly down-weights "
        "points near the other classes. Where are the other classes — around the ring, across its centre, or "
        "both? Which way does a push away from them go?",
        "Follow that push: a sample of class 0 that moves away from every other class moves away from the centre "
        "too. What does that do to its distance from class 0's own two centres — and can samples that moved "
        "still be distributed like the class's data?",
    ],
    solution="```python\n"
             "# Guided sampling follows, at each noise level, the score of p_t(x_t)·p_t(y | x_t)^w: the push away\n"
             "# from the other classes carries samples beyond the ring (larger radius) and away from class 0's own\n"
             "# centres (larger spread), so they do not follow p(x0 | y), though nearly all are clearly class 0.\n"
             "prediction = {'radius': 'larger', 'spread': 'larger', 'follows_conditional': False}\n```",
    reference={"radius": "larger", "spread": "larger", "follows_conditional": False},
)


# ---------------------------------------------------------------------------------------------
# q4 — the density of ε_∅ + w (ε_y − ε_{y⁻}) (a derivation)
# ---------------------------------------------------------------------------------------------
def reference_negative_prompt_log_density(log_p, log_post, y, negative, w):
    """log of p_t(x_t)·(p_t(y | x_t) / p_t(y⁻ | x_t))^w, up to a constant: the density whose score
    ε_∅ + w (ε_y − ε_{y⁻}) is (ε = −√(1−ᾱ_t) ∇ log; Bayes turns ε_y − ε_{y⁻} into the two posteriors)."""
    return log_p + w * (log_post[:, y] - log_post[:, negative])


NEGATIVE_DENSITY_MISTAKES = (
    Mistake(lambda lp, post, y, neg, w: lp + w * post[:, y] + (1 - w) * post[:, neg],
            "that is the density of ε_{y⁻} + w (ε_y − ε_{y⁻}), the chapter's negative prompt, which starts from the "
            "negative prompt's ε. This combination starts from ε_∅: its first term is the score of p_t(x_t) "
            "itself, and the negative prompt appears only inside the difference."),
    Mistake(lambda lp, post, y, neg, w: w * (post[:, y] - post[:, neg]),
            "you have the guidance part but not the density it tilts: the ε_∅ in front is the score of p_t(x_t), "
            "so log p_t(x_t) is a term of its own."),
    Mistake(lambda lp, post, y, neg, w: lp + w * (post[:, y] + post[:, neg]),
            "the negative prompt enters with a minus sign: ε_y − ε_{y⁻} is a difference of scores, so in the "
            "density p_t(y⁻ | x_t) divides."),
    Mistake(lambda lp, post, y, neg, w: lp + (w - 1) * (post[:, y] - post[:, neg]),
            "the power is w, not w − 1: the difference ε_y − ε_{y⁻} is multiplied by w, and ε_∅ adds no class term "
            "of its own."),
    Mistake(lambda lp, post, y, neg, w: lp + w * post[:, y],
            "the negative prompt is missing: ε_{y⁻} enters the difference, and by Bayes its score is "
            "∇ log p_t(x_t) + ∇ log p_t(y⁻ | x_t)."),
    Mistake(lambda lp, post, y, neg, w: lp - w * post[:, neg],
            "the positive prompt is missing: ε_y enters the difference, and by Bayes its score is "
            "∇ log p_t(x_t) + ∇ log p_t(y | x_t)."),
    Mistake(lambda lp, post, y, neg, w: lp.exp() * (post[:, y] - post[:, neg]).exp() ** w,
            "you returned the density itself; return its log (the check compares logs, up to a constant)."),
)


def _centred(v: torch.Tensor) -> torch.Tensor:
    return v - v.mean()


_CENTRED_NEGATIVE_MISTAKES = tuple(
    Mistake(lambda *a, f=m.wrong: _centred(torch.as_tensor(f(*a), dtype=torch.float64)), m.hint)
    for m in NEGATIVE_DENSITY_MISTAKES)


@lru_cache(maxsize=1)
def _negative_cases():
    """(t, log p_t(x_t) (n,), log p_t(c | x_t) (n, C), y, y⁻, w) on the exact labelled ring."""
    from ..distributions import labelled_ring
    from ..schedules import make_schedule

    ring, schedule = labelled_ring(), make_schedule("linear", 1000)
    g = torch.Generator().manual_seed(31)
    cases = []
    for t, y, neg, w in ((300, 0, 1, 3.0), (60, 2, 0, 1.5), (600, 3, 2, 4.0)):
        x = 2.0 * torch.randn(10, 2, dtype=torch.float64, generator=g)
        cases.append((t, ring.log_prob_t(schedule, x, t - 1).detach().double(),
                      ring.log_prob_y_given_x_t(schedule, x, t - 1).detach().double(), y, neg, w))
    return tuple(cases)


def _check_negative_density(fn) -> None:
    require_callable(fn, "q4.check(negative_prompt_log_density)")
    for t, log_p, log_post, y, neg, w in _negative_cases():
        args = (log_p.clone(), log_post.clone(), y, neg, w)
        got = as_float64(call_student(fn, *args), "log density", tuple(log_p.shape),
                         shape_fix="Return one log density per point, the shape of log_p.")
        want = reference_negative_prompt_log_density(*args)
        check_close(_centred(got), _centred(want), _CENTRED_NEGATIVE_MISTAKES, *args,
                    otherwise=tr("at t = {t} with y = {y}, y⁻ = {neg}, w = {w:g} your log density does not have the "
                                 "score of ε_∅ + w (ε_y − ε_{{y⁻}}), even up to a constant. Turn each ε into a score, "
                                 "use Bayes' rule for the two conditional ones, then add up the logs.",
                                 t=t, y=y, neg=neg, w=w))


q4 = Exercise(
    "Exercise 6.4 — which density does ε_∅ + w (ε_y − ε_y⁻) follow?",
    _check_negative_density,
    hints=[
        "Each ε is a scaled score: ε(x_t, c) = −√(1−ᾱ_t) ∇ log p_t(x_t | c), and ε_∅ = −√(1−ᾱ_t) ∇ log p_t(x_t). "
        "Write the combination as −√(1−ᾱ_t) times one sum of scores.",
        "Bayes' rule: ∇ log p_t(x_t | c) = ∇ log p_t(x_t) + ∇ log p_t(c | x_t). In the difference ε_y − ε_{y⁻} the "
        "∇ log p_t(x_t) terms cancel; what is left involves only the two class posteriors.",
        "A sum of gradients of logs is the gradient of the log of a product. Which factors does your sum of scores "
        "make, and with which powers? Then write the log of that product with the arrays you are given (one "
        "column of log_post per class); a constant does not matter.",
    ],
    solution="```python\n"
             "# The score is ∇ log p_t(x_t) + w (∇ log p_t(y | x_t) − ∇ log p_t(y⁻ | x_t)): the data density, tilted\n"
             "# towards y and away from y⁻ with the same power w. Starting from ε_{y⁻} instead (the chapter's\n"
             "# negative prompt) gives p_t(x_t | y⁻)^{1−w} p_t(x_t | y)^w, a different density.\n"
             + source_of(reference_negative_prompt_log_density)[len("```python\n"):],
    reference=reference_negative_prompt_log_density,
    mistakes=NEGATIVE_DENSITY_MISTAKES,
)
