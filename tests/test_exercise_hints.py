"""Hints stop short of the code: a hint may name the idea, the formula or the function to call, but no
statement of the model answer appears in any hint — only ``solution()`` shows the code.

A "statement" is a line of the solution's code block that does real work (an assignment or a call, at
least 14 characters once spaces are removed; ``def``, imports, comments and docstrings don't count). A hint
shows it when it holds the statement (compared with spaces and backticks removed, so re-spacing a line or
putting it in backticks does not hide it) or the statement's right-hand side with other names (every name
replaced by a placeholder: ``τ = torch.arange(T + 1, dtype=torch.float64) / T`` is the solution's
``tau = …`` renamed). The same holds for the hints of the typical mistakes a check names. It covers every
exercise of every chapter, so a new exercise is held to the rule from the start.
"""
from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import diffusion_lab.exercises as exercises_pkg
from diffusion_lab.exercises.base import Exercise

MIN_STATEMENT_CHARS = 14   # shorter lines ("k = t - 1", "return x") are words a hint may well use
MIN_SHAPE_CHARS = 12       # a right-hand side's shape shorter than this ("§.§(§,§)") is any call at all
IDENTIFIER = re.compile(r"[^\W\d]\w*")


def _all_exercises():
    found = []
    for info in pkgutil.iter_modules(exercises_pkg.__path__):
        if not re.fullmatch(r"ch\d+", info.name):
            continue
        module = importlib.import_module(f"diffusion_lab.exercises.{info.name}")
        for attr, value in vars(module).items():
            if isinstance(value, Exercise):
                found.append((f"{info.name}.{attr}", value))
    return found


EXERCISES = _all_exercises()


def _squash(text: str) -> str:
    return re.sub(r"[\s`]", "", text)


def solution_statements(solution: str) -> list[str]:
    """The statements of the first ```python block of a written solution (see the module docstring)."""
    block = re.search(r"```python\n(.*?)\n```", solution, re.S)
    if block is None:
        return []
    statements, in_docstring = [], False
    for line in block.group(1).splitlines():
        s = line.strip()
        if in_docstring or s.startswith(('"""', "'''")):
            if (s.count('"""') + s.count("'''")) % 2:    # opens or closes a docstring that spans lines
                in_docstring = not in_docstring
            continue
        if not s or s.startswith("#") or s.startswith(("def ", "class ", "import ", "from ", "@")):
            continue
        s = s.split("  #")[0].strip()
        squashed = _squash(s)
        if len(squashed) >= MIN_STATEMENT_CHARS and ("(" in squashed or "=" in squashed):
            statements.append(s)
    return statements


def _shape(text: str) -> str:
    """Spaces and backticks removed, every name (Latin, Greek or Chinese) replaced by one placeholder."""
    return IDENTIFIER.sub("§", _squash(text))


def _right_hand_side(statement: str) -> str:
    if statement.startswith("return "):
        return statement[len("return "):]
    assignment = re.match(r"^[^=<>!]*?(?<![=<>!])=(?!=)(.*)$", statement)
    return assignment.group(1) if assignment else statement


def shown_statements(text: str, statements: list[str]) -> list[str]:
    """The statements ``text`` gives away, as they are or renamed (see the module docstring)."""
    shown = []
    for s in statements:
        shape = _shape(_right_hand_side(s))
        renamed = len(shape) >= MIN_SHAPE_CHARS and "(" in shape and shape in _shape(text)
        if _squash(s) in _squash(text) or renamed:
            shown.append(s)
    return shown


def test_the_rule_finds_a_statement_copied_into_a_hint():
    """The detector itself: a copied line is found however it is spaced or quoted; prose is not."""
    solution = "```python\ndef f(x_t, abar):\n    return abar.sqrt() * x_t + (1 - abar).sqrt()\n```"
    statements = solution_statements(solution)
    assert statements == ["return abar.sqrt() * x_t + (1 - abar).sqrt()"]
    copied = "Write `return abar.sqrt()*x_t + (1-abar).sqrt()` and you are done."
    assert shown_statements(copied, statements) == statements
    renamed = "Compute ᾱ.sqrt() * x + (1 - ᾱ).sqrt()."
    assert shown_statements(renamed, statements) == statements
    prose = "Scale x_t by √ᾱ_t and add √(1−ᾱ_t) — both from the schedule; torch.cumprod helps."
    assert shown_statements(prose, statements) == []


def test_every_chapter_has_exercises():
    chapters = {label.split(".")[0] for label, _ in EXERCISES}
    assert {f"ch{n}" for n in range(1, 8)} <= chapters


@pytest.mark.parametrize("label, q", EXERCISES, ids=[label for label, _ in EXERCISES])
def test_no_hint_shows_the_solutions_code(label, q):
    statements = solution_statements(str(q._solution))
    assert statements or "```" not in str(q._solution), f"{label}: no statement found in its solution"
    texts = [(f"hint {level}", str(hint)) for level, hint in enumerate(q.hints, 1)]
    texts += [(f"the hint of mistake {k}", str(m.hint)) for k, m in enumerate(q.mistakes)]
    for where, text in texts:
        assert "```" not in text, f"{label} {where} holds a code block; only solution() shows code"
        shown = shown_statements(text, statements)
        assert not shown, (f"{label} {where} shows the solution's code {shown}: say what to compute "
                           "(the idea, the formula, the function to look up), not the line that does it")
