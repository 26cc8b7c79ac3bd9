"""The exercise machinery (exercises/base.py) and what every exercise of chapters 1–7 promises:
the reference passes, each mistake in its table fails with that mistake's own hint, hints are graded
(at least two, shown in order, a clear message past the last), names are numbered in order, and the
shown solution is code that runs and passes."""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import diffusion_lab as dl
from diffusion_lab.exercises import base, ch1, ch2, ch3, ch4, ch5, ch6, ch7
from diffusion_lab.exercises.base import (ATOL, CORRECT, INCORRECT, NOT_ATTEMPTED, RTOL, SCHEDULE_RTOL, Exercise,
                                          Incorrect, Mistake, NotAttempted)

pytestmark = pytest.mark.usefixtures("one_thread")

CHAPTERS = {1: ch1, 2: ch2, 3: ch3, 4: ch4, 5: ch5, 6: ch6, 7: ch7}
EXERCISES = [(n, name, getattr(mod, name)) for n, mod in CHAPTERS.items()
             for name in ("q1", "q2", "q3", "q4", "q5", "q6") if hasattr(mod, name)]
IDS = [f"ch{n}.{name}" for n, name, _ in EXERCISES]
MISTAKES = [(f"ch{n}.{name}", q, k, m) for n, name, q in EXERCISES for k, m in enumerate(q.mistakes)]


# ---- every exercise -------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, name, q", EXERCISES, ids=IDS)
def test_reference_passes_and_blanks_are_not_attempted(n, name, q):
    assert q.result(q.reference).status == CORRECT, q.result(q.reference).message
    assert q.result(None).status == NOT_ATTEMPTED
    assert q.result(...).status == NOT_ATTEMPTED


@pytest.mark.parametrize("label, q, k, mistake", MISTAKES, ids=[f"{m[0]}-mistake{m[2]}" for m in MISTAKES])
def test_each_mistake_in_the_table_gets_its_own_hint(label, q, k, mistake):
    """The table's wrong answers are written as a student would write them: given to the checker, each
    one fails with its own hint (not an earlier entry's, not the generic message)."""
    res = q.result(mistake.wrong)
    assert res.status == INCORRECT
    assert mistake.hint in res.message, res.message


def test_the_tables_cover_the_exercises():
    """Every exercise whose answer is a value or a function's output names its typical mistakes in a
    table; those checked by properties have explicit tests of their diagnoses in their chapter's test file:
    4.3 (a class), 4.4 (a recorded training batch), 4.5 (a training loop, watched step by step), 6.1 (random
    label dropout: its drop rate and independence) and 6.3 (a prediction made before measuring)."""
    without = {f"ch{n}.{name}" for n, name, q in EXERCISES if not q.mistakes}
    assert without == {"ch4.q3", "ch4.q4", "ch4.q5", "ch6.q1", "ch6.q3"}


@pytest.mark.parametrize("n, name, q", EXERCISES, ids=IDS)
def test_exercises_are_numbered_in_order(n, name, q):
    assert q.name.startswith(f"Exercise {n}.{name[1:]} — "), q.name


@pytest.mark.parametrize("n, name, q", EXERCISES, ids=IDS)
def test_hints_are_graded(n, name, q, capsys):
    assert len(q.hints) >= 2 and len(set(q.hints)) == len(q.hints)
    levels = len(q.hints)
    texts = [q.hint_text(k) for k in range(1, levels + 1)]
    for k, text in enumerate(texts, 1):                    # in order, each says which one it is and what is next
        assert text.startswith(f"Hint {k} of {levels} ({q.name}): {q.hints[k - 1]}")
        assert (f".hint({k + 1}) says more" in text) == (k < levels)
    assert ".solution()" in texts[-1]
    assert q.hint_text() == texts[0]                       # hint() is the nudge
    past = q.hint_text(levels + 1)
    assert f"has {levels} hints" in past and f"no hint {levels + 1}" in past and ".solution()" in past
    q.hint()
    q.hint(levels + 5)
    out = capsys.readouterr().out
    assert f"Hint 1 of {levels}" in out and f"no hint {levels + 5}" in out


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_hint_levels_must_be_positive_ints(bad):
    with pytest.raises(ValueError, match="hint levels are 1, 2"):
        ch1.q1.hint_text(bad)


def test_an_exercise_needs_at_least_two_hints():
    for hints in ("one string", ["only one"], []):
        with pytest.raises(ValueError, match="at least two graded hints"):
            Exercise("Exercise 9.9 — x", lambda a: None, hints, "solution")


def _solution_code(q) -> str:
    text = q._solution
    assert text.startswith("```python\n") and text.endswith("\n```")
    return text[len("```python\n"):-len("\n```")]


@pytest.mark.parametrize("n, name, q", EXERCISES, ids=IDS)
def test_solutions_are_runnable_code_that_passes(n, name, q):
    """The shown solution compiles and, run on its own (module names, torch, math, np, dl, nn, F at
    hand), defines an answer that passes the check."""
    module = CHAPTERS[n]
    namespace = {**vars(module), "torch": torch, "math": math, "np": np, "dl": dl, "nn": nn, "F": F}
    before = set(namespace)
    with warnings.catch_warnings():               # 3.4's solution builds the short schedule that warns
        warnings.simplefilter("ignore", dl.ScheduleWarning)
        exec(compile(_solution_code(q), f"<solution {q.name}>", "exec"), namespace)
    if callable(q.reference):
        answer = namespace[q.reference.__name__]
    else:                                         # a value answer: the first new name of the reference's type
        answer = next(namespace[k] for k in namespace if k not in before and not k.startswith("_")
                      and isinstance(namespace[k], type(q.reference)))
    assert q.result(answer).status == CORRECT


def test_no_exercise_module_keeps_its_own_helpers():
    """Coercion, closeness and source_of live in base.py only."""
    for mod in CHAPTERS.values():
        names = set(vars(mod))
        assert not names & {"_as_float64", "_as_array", "_as_number", "_close", "_as_tensor_out", "_as_bool",
                            "_as_index", "_tensor", "_diagnose"}, mod.__name__
        assert mod.source_of is base.source_of


# ---- closeness ----------------------------------------------------------------------------------------------
def test_close_uses_the_stated_tolerance():
    want = torch.tensor([2.0, -0.5, 0.0], dtype=torch.float64)
    slack = RTOL * want.abs() + ATOL * 2.0                         # the answer's largest entry is 2
    assert base.close(want + 0.99 * slack, want)
    assert base.close(want - 0.99 * slack, want)
    for i in range(3):                                             # any one entry just outside fails
        bump = torch.zeros(3, dtype=torch.float64)
        bump[i] = 1.01 * slack[i]
        assert not base.close(want + bump, want)
    assert base.close(1.0 + 1.05e-5, 1.0) and not base.close(1.0 + 1.2e-5, 1.0)   # numbers: 1e-5 + 1e-6
    assert not base.close(torch.tensor([float("nan")]), torch.tensor([float("nan")]))
    assert not base.close(torch.zeros(3), torch.zeros(1, 3))       # shapes must agree
    assert base.close(np.array([1.0, 2.0]), [1.0, 2.0])            # arrays and lists are fine


def test_close_an_infinite_want_matches_only_the_same_infinity():
    """A wrong answer that divides by zero somewhere (inf) must not match everything: its scale is finite."""
    inf = float("inf")
    assert not base.close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, inf]))
    assert not base.close(torch.tensor([5.0, 2.0]), torch.tensor([1.0, inf]))
    assert not base.close(torch.tensor([1.0, -inf]), torch.tensor([1.0, inf]))
    assert base.close(torch.tensor([1.0, inf]), torch.tensor([1.0, inf]))
    assert not base.close(torch.tensor([5.0, inf]), torch.tensor([1.0, inf]))   # the finite entries still count
    mistake = base.Mistake(lambda x: x / 0.0, "divided by zero")
    base.diagnose(torch.tensor([1.0, 2.0]), [mistake], torch.tensor([1.0, 2.0]))   # no match: returns


def test_close_accepts_float32_round_off_and_rejects_a_real_difference():
    """The reason for the tolerance: a right x_t computed in float32 passes; an off-by-one in t does not."""
    sch = dl.make_schedule("linear", 1000)
    x0 = torch.randn(64, 2, generator=dl.make_generator(0), dtype=torch.float64) * 3
    eps = torch.randn(64, 2, generator=dl.make_generator(1), dtype=torch.float64)
    for t in (0, 10, 500, 999):
        right = dl.q_sample(sch, x0, t, noise=eps)
        in_float32 = dl.q_sample(sch, x0.float(), t, noise=eps.float())
        assert in_float32.dtype == torch.float32 and base.close(in_float32, right)
        if t < 999:
            assert not base.close(dl.q_sample(sch, x0, t + 1, noise=eps), right)


def test_schedule_tolerance_compares_each_value_with_its_own_size():
    abar = dl.make_schedule("cosine", 1000).alphas_cumprod
    tail_wrong = abar.clone()
    tail_wrong[-1] = 0.0                                           # off by ~2.5e-9: invisible to an absolute 1e-6
    assert base.close(tail_wrong, abar)
    assert not base.close(tail_wrong, abar, rtol=SCHEDULE_RTOL, atol=0)
    just_outside = abar * (1 + 1.01 * SCHEDULE_RTOL)
    assert not base.close(just_outside, abar, rtol=SCHEDULE_RTOL, atol=0)
    assert base.close(abar * (1 + 0.99 * SCHEDULE_RTOL), abar, rtol=SCHEDULE_RTOL, atol=0)


# ---- coercion ------------------------------------------------------------------------------------------------
def test_as_float64():
    out = base.as_float64(np.array([[1, 2]], dtype=np.float32), "x", (1, 2))
    assert out.dtype == torch.float64 and out.tolist() == [[1.0, 2.0]]
    assert base.as_float64(torch.ones(2, requires_grad=True), "x").requires_grad is False
    with pytest.raises(Incorrect, match=r"x should have shape \(2,\), got \(1, 2\)\. Use \[0\]\."):
        base.as_float64([[1.0, 2.0]], "x", (2,), shape_fix="Use [0].")
    with pytest.raises(Incorrect, match="tensor .* of numbers, got str"):
        base.as_float64("0.5", "x")
    with pytest.raises(Incorrect, match="NaN or inf"):
        base.as_float64([1.0, float("inf")], "x")
    assert torch.isinf(base.as_float64([float("inf")], "x", finite=False)).all()


def test_as_number():
    for value in (0.5, np.float64(0.5), torch.tensor(0.5), np.array([0.5]), torch.tensor([[0.5]]), lambda: 0.5):
        assert base.as_number(value, "v") == 0.5
    for value, words in (("0.5", "remove the quotes"), (True, "bool"), (torch.tensor(True), "bool"),
                         ([0.5, 0.6], "single number"), (torch.ones(2), r"shape \(2,\)")):
        with pytest.raises(Incorrect, match=words):
            base.as_number(value, "v")


def test_as_index():
    for value in (7, np.int64(7), torch.tensor(7), torch.tensor([7]), np.array([7])):
        assert base.as_index(value, "t") == 7
    for value, words in ((7.0, r"wrap it in int"), (torch.tensor(7.0), "wrap it in int"), (True, "not a bool"),
                         ("7", "return an int"), (torch.tensor([1, 2]), "return an int")):
        with pytest.raises(Incorrect, match=words):
            base.as_index(value, "t")


def test_as_bool():
    for value in (True, np.bool_(True), torch.tensor(True), torch.tensor([True]), np.array(True)):
        assert base.as_bool(value, "f") is True
    for value in (1, 1.0, torch.tensor(1.0), "True", None):
        with pytest.raises(Incorrect, match="should return True or False"):
            base.as_bool(value, "f")


def test_call_student_and_require_callable():
    with pytest.raises(NotAttempted):
        base.call_student(lambda: None)
    with pytest.raises(NotAttempted):
        base.call_student(lambda: ...)

    def not_implemented():
        raise NotImplementedError
    with pytest.raises(NotAttempted):
        base.call_student(not_implemented)
    with pytest.raises(Incorrect, match="your function raised ZeroDivisionError"):
        base.call_student(lambda: 1 / 0)
    with pytest.raises(Incorrect, match=r"function itself, without calling it: q1.check\(f\) \(no brackets\)"):
        base.require_callable(3.0, "q1.check(f)")
    base.require_callable(len, "q1.check(f)")


# ---- diagnosing mistakes -------------------------------------------------------------------------------------
def test_diagnose_runs_the_table_on_the_same_inputs():
    table = (Mistake(lambda x: x / 0 if isinstance(x, int) else 1 / 0, "never: it raises"),   # skipped
             Mistake(lambda x: x * 2, "doubled"),
             Mistake(lambda x: x * 2.0, "doubled again (never reached: the first match wins)"),
             Mistake(0.819, "a known number", rtol=0, atol=1e-3))
    with pytest.raises(Incorrect, match="^doubled$"):
        base.diagnose(torch.tensor([2.0, 4.0]), table, torch.tensor([1.0, 2.0]))
    with pytest.raises(Incorrect, match="^case 3: doubled$"):
        base.diagnose(6.0, table, 3.0, prefix="case 3")
    with pytest.raises(Incorrect, match="a known number"):
        base.diagnose(0.8195, table, 5.0)
    base.diagnose(0.9, table, 5.0)                                  # no match: returns, the caller explains
    with pytest.raises(Incorrect, match="doubled"):                 # run= for answers that are not one call
        base.diagnose((True, 8), table, run=lambda wrong: (True, wrong(4)) if callable(wrong) else wrong)


def test_the_check_shows_the_specific_diagnosis(capsys):
    res = ch1.q1.check(ch1.NOISY_MISTAKES[0].wrong)
    out = capsys.readouterr().out
    assert not res and ch1.NOISY_MISTAKES[0].hint in out
    assert re.search(r"Exercise 1\.1 — closed-form noising: not quite\.", out)


def test_a_float64_tensor_from_float32_data_is_refused_with_its_cause():
    x0 = torch.zeros(3, 2)
    base.require_dtype(torch.zeros(3, 2), x0, "x_t")                         # same dtype: fine
    with pytest.raises(Incorrect, match="x_t is float64, but x0 is float32") as err:
        base.require_dtype(torch.zeros(3, 2, dtype=torch.float64), x0, "x_t")
    assert ".to(x0.dtype)" in str(err.value) and err.value.kind == "dtype"


def test_a_dtype_clash_inside_a_network_is_named():
    def feeds_float64(model):
        return model(torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(Incorrect, match="Two dtypes met inside the network") as err:
        base.call_student(feeds_float64, nn.Linear(2, 2))
    assert "mat1 and mat2" in str(err.value) and ".to(x0.dtype)" in str(err.value)
    assert base.is_dtype_clash(RuntimeError("mat1 and mat2 must have the same dtype, but got Double and Float"))
    assert not base.is_dtype_clash(RuntimeError("index 1000 is out of bounds"))
    with pytest.raises(Incorrect, match="raised ValueError: nope$"):          # other errors: as before
        base.call_student(lambda: (_ for _ in ()).throw(ValueError("nope")))


def test_an_answer_that_hands_the_job_to_the_package_is_refused():
    """base.refuse_package_answer: found through a wrapper, an alias in a closure, an attribute; own code passes."""
    from diffusion_lab import schedules

    forbidden = base.package_functions(schedules, "make_schedule")
    alias = schedules.make_schedule
    for answer in (lambda T: schedules.make_schedule("linear", T), lambda T: alias("linear", T), alias):
        with pytest.raises(Incorrect, match="make_schedule"):
            base.refuse_package_answer(answer, forbidden)
    base.refuse_package_answer(lambda T: torch.linspace(1e-4, 0.02, T), forbidden)
