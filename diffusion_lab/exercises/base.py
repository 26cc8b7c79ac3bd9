"""Self-check exercises in the style of Kaggle's learntools: ``q.check(answer)``, ``q.hint()``,
``q.solution()``.

A chapter module (``exercises/ch1.py`` ...) defines one :class:`Exercise` per question. The
student's answer (a value or a function) goes to ``check``:

* not attempted yet (``None``, ``...``, a function that returns None or raises NotImplementedError):
  a friendly reminder, no error, so the stored notebook runs clean;
* right: a green tick;
* wrong: the specific hint the checker raised (an :class:`Incorrect`), never a bare traceback.

``q.result(answer)`` returns the :class:`CheckResult` without printing; tests use it.
"""
from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass
from typing import Any, Callable

from IPython.display import Markdown, display

NOT_ATTEMPTED = "not_attempted"
CORRECT = "correct"
INCORRECT = "incorrect"


class Incorrect(Exception):
    """Raised by a checker with a hint that names what is wrong."""


class NotAttempted(Exception):
    """Raised by a checker when the answer is still the blank template."""


@dataclass
class CheckResult:
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == CORRECT

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """Shown as the last line of a cell: nothing more, ``check`` already printed the verdict."""


def is_blank(answer: Any) -> bool:
    """True for the template placeholders students start from: None or ``...``."""
    return answer is None or answer is Ellipsis


def call_student(fn: Callable, *args, **kwargs):
    """Call a student's function; a blank body (returns None / NotImplementedError) is 'not attempted'."""
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None
    except Incorrect:
        raise
    except Exception as err:  # a bug in the student's code: report it as a hint, not a crash
        raise Incorrect(f"your function raised {type(err).__name__}: {err}") from None
    if is_blank(out):
        raise NotAttempted()
    return out


class Exercise:
    """One question.

    Args:
        name: short label shown in messages, e.g. "Exercise 1.1 — closed-form noising".
        checker: ``checker(answer)`` returns normally when right, raises :class:`Incorrect` with a
            specific hint when wrong, or :class:`NotAttempted`.
        hint: a general hint shown by ``hint()``.
        solution: the reference solution as source code (markdown is allowed around it).
        reference: the reference answer object itself (a function or value); tests check it passes.
    """

    def __init__(self, name: str, checker: Callable[[Any], None], hint: str, solution: str, reference: Any = None):
        self.name, self._checker, self._hint, self._solution, self.reference = name, checker, hint, solution, reference

    def result(self, answer: Any) -> CheckResult:
        if is_blank(answer):
            return CheckResult(NOT_ATTEMPTED, f"{self.name}: not attempted yet — write your answer in the cell "
                                              f"above, run it, then run this check again. (q.hint() helps.)")
        try:
            self._checker(answer)
        except NotAttempted:
            return CheckResult(NOT_ATTEMPTED, f"{self.name}: not attempted yet — your function still returns "
                                              f"nothing. Fill in the body, then check again.")
        except Incorrect as wrong:
            return CheckResult(INCORRECT, f"{self.name}: not quite. {wrong}")
        return CheckResult(CORRECT, f"{self.name}: correct! ✓")

    def check(self, answer: Any) -> CheckResult:
        """Check an answer and print a friendly verdict; returns the CheckResult (truthy when right)."""
        res = self.result(answer)
        colour = {CORRECT: "#1b7f3b", INCORRECT: "#b3261e", NOT_ATTEMPTED: "#555555"}[res.status]
        icon = {CORRECT: "✅", INCORRECT: "❌", NOT_ATTEMPTED: "✏️"}[res.status]
        _show(f"<span style='color:{colour}'>{icon} {res.message}</span>", res.message)
        return res

    def hint(self) -> None:
        _show(f"💡 <b>Hint</b> ({self.name}): {self._hint}", f"Hint ({self.name}): {self._hint}")

    def solution(self) -> None:
        _show(f"<b>Solution</b> ({self.name}):\n\n{self._solution}", f"Solution ({self.name}):\n{self._solution}")

    def __repr__(self) -> str:
        return f"Exercise({self.name!r}): use .check(answer), .hint(), .solution()"


def _show(markdown: str, plain: str) -> None:
    try:
        from IPython import get_ipython
        if get_ipython() is not None:
            display(Markdown(markdown))
            return
    except Exception:  # pragma: no cover
        pass
    print(plain)


def source_of(fn: Callable) -> str:
    """The source of a reference function, as a fenced code block for ``solution()``."""
    return "```python\n" + textwrap.dedent(inspect.getsource(fn)).strip() + "\n```"
