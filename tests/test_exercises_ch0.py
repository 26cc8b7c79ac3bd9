"""Chapter 0 exercise: the reference passes, typical slips fail with the right hint, blanks are not attempted."""
from __future__ import annotations

import numpy as np
import torch

import diffusion_lab as dl
from diffusion_lab.exercises import ch0
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED


def message(answer):
    res = ch0.q1.result(answer)
    assert res.status == INCORRECT, res
    return res.message


def test_reference_is_the_papers_step_after_the_code_index():
    abar = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))      # independent of the package
    k = int(np.argmax(abar < 0.5))
    assert abar[k] < 0.5 <= abar[k - 1]
    assert ch0.T_CROSS == k + 1 == 260
    assert ch0.q1.result(ch0.T_CROSS).status == CORRECT
    assert ch0.q1.result(np.int64(260)).status == CORRECT
    assert ch0.q1.result(torch.tensor(260)).status == CORRECT


def test_blanks_are_not_attempted():
    assert ch0.q1.result(None).status == NOT_ATTEMPTED
    assert ch0.q1.result(...).status == NOT_ATTEMPTED


def test_code_index_is_named():
    assert "CODE index" in message(259)


def test_sqrt_abar_is_named():
    k = int(torch.nonzero(dl.make_schedule("linear", 1000).alphas_cumprod.sqrt() < 0.5)[0])
    assert "√ᾱ_t" in message(k + 1)
    assert "√ᾱ_t" in message(k)


def test_other_wrong_steps_say_which_side():
    assert "still longer" in message(100)
    assert "already shorter" in message(700)


def test_a_float_is_refused_with_a_fix():
    assert "int(" in message(260.0)


def test_hints_are_graded_and_solution_runs():
    assert len(ch0.q1.hints) >= 2
    schedule = dl.make_schedule("linear", 1000)
    ns = {"torch": torch, "schedule": schedule}
    exec(ch0.q1._solution.split("```python\n")[1].split("```")[0], ns)
    assert ns["t_cross"] == ch0.T_CROSS
