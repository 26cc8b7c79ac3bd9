"""Chapter 6 exercises: the references agree with the package, typical mistakes get the RIGHT hint,
blanks are 'not attempted'."""
from __future__ import annotations

import pytest
import torch

from diffusion_lab import guidance as G
from diffusion_lab.exercises import ch6
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED


def status(q, answer):
    res = q.result(answer)
    return res.status, res.message


def blank_function(*args, **kwargs):
    # YOUR CODE HERE
    ...


# ---- q1: the combination ----------------------------------------------------------------------------
def test_q1_reference_is_the_packages_combination():
    g = torch.Generator().manual_seed(0)
    u, c = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    for w in (0.0, 1.0, 2.5):
        torch.testing.assert_close(ch6.reference_guided_eps(u, c, w), G.guidance_combination(u, c, w))


def test_q1_right_blank_and_each_mistake_gets_its_hint():
    assert status(ch6.q1, ch6.reference_guided_eps)[0] == CORRECT
    assert status(ch6.q1, lambda u, c, w: u + w * c - w * u)[0] == CORRECT      # written differently
    assert status(ch6.q1, blank_function)[0] == NOT_ATTEMPTED
    assert status(ch6.q1, None)[0] == NOT_ATTEMPTED
    for mistake in ch6.GUIDED_EPS_MISTAKES:
        st, msg = status(ch6.q1, mistake.wrong)
        assert st == INCORRECT and mistake.hint in msg, (msg, mistake.hint)
    st, msg = status(ch6.q1, lambda u, c, w: 2 * c)
    assert st == INCORRECT and "w = 0" in msg
    st, msg = status(ch6.q1, ch6.reference_guided_eps(torch.zeros(2), torch.ones(2), 1.0))
    assert st == INCORRECT and "without calling it" in msg


def test_q1_convention_hint_names_both_conventions():
    paper = ch6.GUIDED_EPS_MISTAKES[0]
    st, msg = status(ch6.q1, paper.wrong)
    assert "w_app = 1 + w_paper" in msg


# ---- q2: the prediction -------------------------------------------------------------------------------
def test_q2_measurement_supports_the_reference_answer():
    m = ch6.measured_prediction()
    assert m["w4"]["mean_radius"] > m["w1"]["mean_radius"] + 0.1 > m["data_radius"]
    assert m["w4"]["spread"] > m["w1"]["spread"] + 2 * ch6.SPREAD_SAME
    assert m["w4"]["precision"] >= m["w1"]["precision"] > 0.9


def test_q2_right_and_wrong_predictions():
    assert status(ch6.q2, ch6.q2.reference)[0] == CORRECT
    assert status(ch6.q2, None)[0] == NOT_ATTEMPTED
    assert status(ch6.q2, {"radius": ..., "spread": ..., "follows_conditional": ...})[0] == NOT_ATTEMPTED
    st, msg = status(ch6.q2, dict(ch6.q2.reference, radius="smaller"))
    assert st == INCORRECT and "radius" in msg and "outwards" in msg and "Measured on" in msg
    st, msg = status(ch6.q2, dict(ch6.q2.reference, spread="smaller"))
    assert st == INCORRECT and "does not shrink" in msg
    st, msg = status(ch6.q2, dict(ch6.q2.reference, follows_conditional=True))
    assert st == INCORRECT and "p(x)·p(y | x)^w" in msg
    st, msg = status(ch6.q2, {"radius": "larger"})
    assert st == INCORRECT and "missing" in msg
    st, msg = status(ch6.q2, dict(ch6.q2.reference, radius="up"))
    assert st == INCORRECT and "must be one of" in msg
    st, msg = status(ch6.q2, "larger")
    assert st == INCORRECT and "dict" in msg


# ---- q3: label dropout --------------------------------------------------------------------------------
def test_q3_reference_is_the_training_loops_recipe():
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
    (lambda y, p, null, generator=None: torch.where(torch.rand(y.shape) < p, null, y), "generator=generator"),
    (lambda y, p, null, generator=None: torch.where(torch.rand(y.shape, generator=generator) < p, null, y).float(),
     "stay integers"),
    (lambda y, p, null, generator=None: torch.where(torch.rand(y.shape, generator=generator) < 2 * p, null, y),
     "expect 10 %"),
])
def test_q3_mistakes_get_their_hints(wrong, needle):
    st, msg = status(ch6.q3, wrong)
    assert st == INCORRECT and needle in msg, msg


def test_q3_right_and_blank():
    assert status(ch6.q3, ch6.reference_drop_labels)[0] == CORRECT
    assert status(ch6.q3, lambda y, p, null, generator=None: torch.where(
        torch.rand(len(y), generator=generator) < p, torch.tensor(null), y))[0] == CORRECT
    assert status(ch6.q3, blank_function)[0] == NOT_ATTEMPTED


def test_every_exercise_has_graded_hints_and_a_solution():
    for q in (ch6.q1, ch6.q2, ch6.q3):
        assert len(q.hints) >= 2 and q.hint_text(1).startswith("Hint 1 of")
        assert "```python" in q._solution
