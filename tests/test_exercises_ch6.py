"""Chapter 6 exercises: the references agree with the package and the exact fields, typical mistakes get
the RIGHT hint, blanks are 'not attempted', and the chapter asks them in their numbered order."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.distributions import labelled_ring
from diffusion_lab.exercises import ch6
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def status(q, answer):
    res = q.result(answer)
    return res.status, res.message


def blank_function(*args, **kwargs):
    # YOUR CODE HERE
    ...


# ---- the order ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [NOTEBOOKS / "06_conditioning_and_guidance.ipynb",
                                  NOTEBOOKS / "zh" / "06_conditioning_and_guidance.ipynb"])
def test_the_chapter_asks_the_exercises_in_their_numbered_order(path):
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    asked = [int(n) for n in re.findall(r"\bch6\.q(\d)\b", code)]
    assert asked == [1, 2, 3, 4]
    for n, q in enumerate((ch6.q1, ch6.q2, ch6.q3, ch6.q4), 1):
        assert q.name.startswith(f"Exercise 6.{n} ")


# ---- q1: label dropout ----------------------------------------------------------------------------------
def test_q1_reference_is_the_training_loops_recipe():
    """The reference draws exactly what train_eps_model's step draws: rand(y.shape) < p → ∅."""
    y = torch.randint(0, 10, (1000,), generator=torch.Generator().manual_seed(0))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    ours = ch6.reference_drop_labels(y, 0.1, 10, g1)
    loop = torch.where(torch.rand(y.shape, generator=g2) < 0.1, 10, y)
    assert torch.equal(ours, loop)


def _in_place(y, p, null, generator=None):
    y[torch.rand(y.shape, generator=generator) < p] = null
    return y


@pytest.mark.parametrize("wrong,needle", [
    (lambda y, p, null, generator=None: torch.where(torch.rand(y.shape, generator=generator) > p, null, y),
     "wrong way round"),
    (lambda y, p, null, generator=None: torch.where(torch.rand(y.shape, generator=generator) < p, 0, y),
     "not [0]"),
    (lambda y, p, null, generator=None: torch.full_like(y, null) if float(torch.rand(1, generator=generator)) < p
     else y.clone(), "one decision for the whole batch"),
    (_in_place, "in place"),
    (lambda y, p, null, generator=None: torch.where(torch.rand(y.shape) < p, null, y), "from the generator passed"),
    (lambda y, p, null, generator=None: torch.where(torch.rand(y.shape, generator=generator) < p, null, y).float(),
     "stay integers"),
    (lambda y, p, null, generator=None: torch.where(torch.rand(y.shape, generator=generator) < 2 * p, null, y),
     "expect 10 %"),
])
def test_q1_mistakes_get_their_hints(wrong, needle):
    st, msg = status(ch6.q1, wrong)
    assert st == INCORRECT and needle in msg, msg


def test_q1_right_and_blank():
    assert status(ch6.q1, ch6.reference_drop_labels)[0] == CORRECT
    assert status(ch6.q1, lambda y, p, null, generator=None: torch.where(
        torch.rand(len(y), generator=generator) < p, torch.tensor(null), y))[0] == CORRECT
    assert status(ch6.q1, blank_function)[0] == NOT_ATTEMPTED
    assert status(ch6.q1, None)[0] == NOT_ATTEMPTED


# ---- q2: guidance from a classifier's gradient ------------------------------------------------------------
@pytest.mark.parametrize("t,y,w", [(300, 0, 3.0), (800, 3, 0.5), (20, 1, 6.0)])
def test_q2_reference_is_the_exact_guided_field(t, y, w):
    """ε_∅ − w √(1−ᾱ_t) ∇ log p_t(y | x_t) is the exact guided ε̃ of the ring (autograd for the gradient)."""
    ring, schedule = labelled_ring(), dl.make_schedule("linear", 1000)
    k = t - 1
    x = 2 * torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(t))
    x_req = x.clone().requires_grad_(True)
    grad, = torch.autograd.grad(ring.log_prob_y_given_x_t(schedule, x_req, k)[:, y].sum(), x_req)
    got = ch6.reference_classifier_guided_eps(ring.eps_star_conditional(schedule, x, k, None), grad,
                                              schedule.alphas_cumprod[k], w)
    torch.testing.assert_close(got, ring.eps_star_guided(schedule, x, k, y, w), rtol=0, atol=1e-10)


def test_q2_right_written_differently_and_blank():
    import math
    assert status(ch6.q2, ch6.reference_classifier_guided_eps)[0] == CORRECT
    assert status(ch6.q2, lambda u, g, a, w: u + w * (-math.sqrt(1 - float(a))) * g)[0] == CORRECT
    assert status(ch6.q2, blank_function)[0] == NOT_ATTEMPTED
    st, msg = status(ch6.q2, ch6.reference_classifier_guided_eps(torch.zeros(2), torch.ones(2), 0.5, 1.0))
    assert st == INCORRECT and "without calling it" in msg


def test_q2_each_mistake_gets_its_hint():
    for mistake in ch6.CLASSIFIER_GUIDED_MISTAKES:
        st, msg = status(ch6.q2, mistake.wrong)
        assert st == INCORRECT and mistake.hint in msg, (msg, mistake.hint)
    st, msg = status(ch6.q2, lambda u, g, a, w: 2 * u)
    assert st == INCORRECT and "Check w = 0 first" in msg
    st, msg = status(ch6.q2, lambda u, g, a, w: u[:, :1])
    assert st == INCORRECT and "shape" in msg


def test_q2_both_conventions_of_w_get_their_own_hint():
    """Off by one either way (w − 1, or Ho & Salimans' (1 + w) read with this chapter's w): each its own hint."""
    import math
    below = lambda u, g, a, w: u - (w - 1) * math.sqrt(1 - float(a)) * g          # noqa: E731
    above = lambda u, g, a, w: u - (w + 1) * math.sqrt(1 - float(a)) * g          # noqa: E731
    st_below, msg_below = status(ch6.q2, below)
    st_above, msg_above = status(ch6.q2, above)
    assert st_below == INCORRECT and "at w = 1 the result must be the conditional" in msg_below
    assert st_above == INCORRECT and "at w = 0 the result must be ε_∅" in msg_above
    assert "(1 + w) ε_y − w ε_∅" in msg_above and "Ho & Salimans" in msg_above and "Ho & Salimans" in msg_below


def test_q1_messages_and_hints_leave_the_code_to_the_solution():
    """No message or hint of 6.1 shows a call from the solution (torch.rand(...), torch.full_like(...), ...)."""
    import inspect
    texts = inspect.getsource(ch6._check_drop_labels) + "\n".join(ch6.q1.hints)
    for call in ("torch.rand(", "torch.full_like(", "torch.where(torch", "generator=generator"):
        assert call not in texts, call


# ---- q3: the prediction -------------------------------------------------------------------------------
def test_q3_measurement_supports_the_reference_answer():
    m = ch6.measured_prediction()
    assert m["w4"]["mean_radius"] > m["w1"]["mean_radius"] + 0.1 > m["data_radius"]
    assert m["w4"]["spread"] > m["w1"]["spread"] + 2 * ch6.SPREAD_SAME
    assert m["w4"]["precision"] >= m["w1"]["precision"] > 0.9


def test_q3_right_and_wrong_predictions():
    assert status(ch6.q3, ch6.q3.reference)[0] == CORRECT
    assert status(ch6.q3, None)[0] == NOT_ATTEMPTED
    assert status(ch6.q3, {"radius": ..., "spread": ..., "follows_conditional": ...})[0] == NOT_ATTEMPTED
    st, msg = status(ch6.q3, dict(ch6.q3.reference, radius="smaller"))
    assert st == INCORRECT and "radius" in msg and "outwards" in msg and "Measured on" in msg
    st, msg = status(ch6.q3, dict(ch6.q3.reference, spread="smaller"))
    assert st == INCORRECT and "does not shrink" in msg
    st, msg = status(ch6.q3, dict(ch6.q3.reference, follows_conditional=True))
    assert st == INCORRECT and "p_t(x_t | y) only at w = 1" in msg
    st, msg = status(ch6.q3, {"radius": "larger"})
    assert st == INCORRECT and "missing" in msg
    st, msg = status(ch6.q3, dict(ch6.q3.reference, radius="up"))
    assert st == INCORRECT and "must be one of" in msg
    st, msg = status(ch6.q3, "larger")
    assert st == INCORRECT and "dict" in msg


def test_q3_hints_do_not_give_the_answer():
    for hint in ch6.q3.hints:
        assert "'larger'" not in hint and "False}" not in hint


# ---- q4: the density of ε_∅ + w (ε_y − ε_y⁻) ------------------------------------------------------------
@pytest.mark.parametrize("t,y,neg,w", [(300, 0, 1, 3.0), (50, 2, 3, 1.5), (900, 1, 0, 5.0)])
def test_q4_reference_has_the_score_of_the_combination(t, y, neg, w):
    """−√(1−ᾱ_t) ∇ (reference log density) = ε_∅ + w (ε_y − ε_y⁻), exactly, on the labelled ring."""
    ring, schedule = labelled_ring(), dl.make_schedule("linear", 1000)
    k = t - 1
    x = 2 * torch.randn(40, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(t))
    x_req = x.clone().requires_grad_(True)
    logd = ch6.reference_negative_prompt_log_density(ring.log_prob_t(schedule, x_req, k),
                                                     ring.log_prob_y_given_x_t(schedule, x_req, k), y, neg, w)
    grad, = torch.autograd.grad(logd.sum(), x_req)
    eps = {c: ring.eps_star_conditional(schedule, x, k, c) for c in (None, y, neg)}
    want = eps[None] + w * (eps[y] - eps[neg])
    torch.testing.assert_close(-schedule.sqrt_one_minus_alphas_cumprod[k] * grad, want, rtol=0, atol=1e-9)


def test_q4_right_up_to_a_constant_and_blank():
    assert status(ch6.q4, ch6.reference_negative_prompt_log_density)[0] == CORRECT
    assert status(ch6.q4, lambda lp, post, y, neg, w: 7.0 + lp + w * post[:, y] - w * post[:, neg])[0] == CORRECT
    assert status(ch6.q4, blank_function)[0] == NOT_ATTEMPTED


def test_q4_each_mistake_gets_its_hint():
    for mistake in ch6.NEGATIVE_DENSITY_MISTAKES:
        st, msg = status(ch6.q4, mistake.wrong)
        assert st == INCORRECT and mistake.hint in msg, (msg, mistake.hint)
    st, msg = status(ch6.q4, lambda lp, post, y, neg, w: lp * 0)
    assert st == INCORRECT and "even up to a constant" in msg
    st, msg = status(ch6.q4, lambda lp, post, y, neg, w: post)
    assert st == INCORRECT and "shape" in msg


def test_the_chapters_formula_is_the_diagnosed_trap():
    """Copying the chapter's negative-prompt density p_t(x|y⁻)^{1−w} p_t(x|y)^w gets the hint that says why."""
    trap = ch6.NEGATIVE_DENSITY_MISTAKES[0]
    st, msg = status(ch6.q4, lambda lp, post, y, neg, w: (1 - w) * (lp + post[:, neg]) + w * (lp + post[:, y]))
    assert st == INCORRECT and trap.hint in msg


def test_every_exercise_has_graded_hints_and_a_solution():
    for q in (ch6.q1, ch6.q2, ch6.q3, ch6.q4):
        assert len(q.hints) >= 3 and q.hint_text(1).startswith("Hint 1 of")
        assert "```python" in q._solution
