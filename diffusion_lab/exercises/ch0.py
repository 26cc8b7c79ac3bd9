r"""Chapter 0 exercise: where the noise overtakes the signal.

    from diffusion_lab.exercises import ch0
    ch0.q1.check(t_cross)     # the first step t (papers' numbering 1..T) with ᾱ_t < 1/2, linear schedule, T = 1000

The answer is a step in the papers' numbering t = 1..T (the slider of chapter 00 shows that t); the
code index of the same step is t − 1. The checker names the usual slips: the code index instead of t,
the last step still above one half, and √ᾱ_t (the factor in front of x0) in place of ᾱ_t.
"""
from __future__ import annotations

import torch

from ..schedules import make_schedule
from ..i18n import tr
from .base import Exercise, Incorrect, Message, Mistake, as_index, diagnose

__all__ = ["q1", "T_CROSS", "t_cross_reference"]


def t_cross_reference() -> int:
    """First papers' step t = 1..T with ᾱ_t < 0.5 on the linear schedule (β 1e-4 → 0.02, T = 1000)."""
    schedule = make_schedule("linear", 1000)
    return schedule.t_half() + 1                      # code index t_half() is the papers' step t_half() + 1


T_CROSS = t_cross_reference()
_abar = make_schedule("linear", 1000).alphas_cumprod
_first_sqrt_below_half = int(torch.nonzero(_abar.sqrt() < 0.5)[0]) + 1

T_CROSS_MISTAKES = (
    Mistake(T_CROSS - 1,
            Message("{k} is one step early: it is the CODE index of the crossing (alphas_cumprod[{k}] < 0.5), or, "
                    "in the papers' numbering, the last step where ᾱ_t is still at least one half. The slider "
                    "shows the papers' t = 1..T, and alphas_cumprod[t − 1] is ᾱ_t.", k=T_CROSS - 1)),
    Mistake(_first_sqrt_below_half,
            "That is where √ᾱ_t, the factor in front of x0, drops below one half (ᾱ_t < 1/4). The question is "
            "about the share of the variance, ᾱ_t itself: the blue bar's length."),
    Mistake(_first_sqrt_below_half - 1,
            "That is where √ᾱ_t, the factor in front of x0, drops below one half, counted as a code index. The "
            "question is about ᾱ_t itself (the blue bar), in the papers' numbering."),
)


def _check_t_cross(value) -> None:
    t = as_index(value, "your t")
    if t == T_CROSS:
        return
    diagnose(t, T_CROSS_MISTAKES)
    side = tr("the blue bar is still longer than the red one there") if t < T_CROSS else \
        tr("the blue bar is already shorter than half before that step")
    raise Incorrect(tr("t = {t} is not the first step with ᾱ_t < 0.5: {side}. Slide back and forth around it.",
                       t=t, side=side))


q1 = Exercise(
    "Exercise 0.1 — where the noise overtakes the signal",
    _check_t_cross,
    hints=[
        "Move the slider until the blue bar (ᾱ_t) is just under half of the bar: the printed ᾱ_t goes below 0.5. "
        "Answer the t shown on the slider.",
        "The slider's t is the papers' step; the code keeps ᾱ_t in schedule.alphas_cumprod[t − 1]. You can also "
        "find it in code: the first index k with alphas_cumprod[k] < 0.5, then t = k + 1.",
        "In code: make the mask ᾱ < 0.5 over the whole schedule, take the index of its first True (that is the "
        "code index k) and add 1 to get the slider's t.",
    ],
    solution="```python\nk = int(torch.nonzero(schedule.alphas_cumprod < 0.5)[0])   # code index of the crossing\n"
             "t_cross = k + 1                                              # the papers' step t\n```",
    reference=T_CROSS,
    mistakes=T_CROSS_MISTAKES,
)
