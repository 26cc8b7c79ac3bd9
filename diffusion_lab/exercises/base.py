"""Self-check exercises in the style of Kaggle's learntools: ``q.check(answer)``, ``q.hint()``,
``q.hint(2)``, …, ``q.solution()``.

A chapter module (``exercises/ch1.py`` ...) defines one :class:`Exercise` per question. The
student's answer (a value or a function) goes to ``check``:

* not attempted yet (``None``, ``...``, a function that returns None or raises NotImplementedError):
  a friendly reminder, no error, so the stored notebook runs clean;
* right: a green tick;
* wrong: the specific hint the checker raised (an :class:`Incorrect`), never a bare traceback.

``q.result(answer)`` returns the :class:`CheckResult` without printing; tests use it.

Everything a checker needs is here, once:

* **coercing an answer**: :func:`as_float64` (a tensor of a given shape), :func:`as_number`,
  :func:`as_index`, :func:`as_bool`, :func:`require_callable`, :func:`call_student` (which names a dtype clash
  inside a network, :func:`is_dtype_clash`); :func:`require_dtype` refuses a tensor whose dtype is not x0's;
* **closeness**: :func:`close`, with the tolerances :data:`RTOL`, :data:`ATOL` (computed answers) and
  :data:`SCHEDULE_RTOL` (whole schedules) and their reasons below;
* **diagnosing typical mistakes**: a table of :class:`Mistake` (a wrong answer written the way a
  student would write it, and the hint that explains it); :func:`diagnose` runs each wrong answer on
  the inputs the student's answer got and raises the hint of the first one that reproduces it;
  :func:`check_close` is the whole verdict on a computed answer (close, else a named mistake, else a
  general message);
* **graded hints**: ``hint()`` is a nudge, ``hint(2)`` says more, the last is nearly the solution;
* **answers that hand the job to the package**: :func:`package_functions`, :func:`refuse_package_answer`
  (an exercise whose answer the package already computes refuses an answer that calls it);
* :func:`source_of`: a reference function's source as the shown solution.

Every word a student reads comes through :func:`diffusion_lab.i18n.tr` in the language chosen with
``dl.set_language``: a chapter module writes its texts in English (names, hints, mistakes, messages
as ``tr("template {field}", field=...)``) and the catalog ``locale/zh.py`` holds their Chinese, keyed
by the English. Static texts (an exercise's name, hints, a mistake's hint, the ``what`` given to
:func:`as_float64` and its kin) are looked up by their exact English when shown; a text fixed at import
that quotes a computed number is a :class:`Message`, which keeps its template for the lookup.
"""
from __future__ import annotations

import functools
import inspect
import numbers
import textwrap
import types
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from IPython.display import Markdown, display

from ..i18n import Message, localized, tr  # noqa: F401 (Message: for the chapter modules)

NOT_ATTEMPTED = "not_attempted"
CORRECT = "correct"
INCORRECT = "incorrect"

#: Closeness of a computed answer to the reference (:func:`close`): elementwise
#: ``|got − want| ≤ RTOL·|want| + ATOL·max(1, max|want|)``.
#:
#: Why these numbers. A right answer computed in float64 agrees with the reference to about 1e-13.
#: One computed in float32 (``torch.randn`` and ``.float()`` give float32) is off by float32
#: round-off: 2⁻²⁴ ≈ 6e-8 of the size of the numbers involved per operation, a few operations
#: deep, so below 1e-6 of the answer's largest entry; near-zero entries of signed answers (x_t =
#: √ᾱ_t x0 + √(1−ᾱ_t) ε cancels) only meet that absolute part, hence ATOL scaled by the answer's
#: size. Every typical mistake the checkers name differs from the reference by at least 10× this
#: at the inputs they use (the exercise tests run each one).
RTOL = 1e-5
ATOL = 1e-6
#: A whole schedule (ᾱ_t for t = 0..T−1) is positive and spans nine orders of magnitude (the cosine
#: schedule's tail is ~1e-9), so each value is compared with its own size: ``close(got, want,
#: rtol=SCHEDULE_RTOL, atol=0)``. float64 answers agree to ~1e-13; float32 ones are off by up to 6e-5
#: in the tail (cos near π/2 in float32), which the schedule exercise names as a mistake of its own,
#: since the course computes schedules in float64.
SCHEDULE_RTOL = 1e-6


class Incorrect(Exception):
    """Raised by a checker with a hint that names what is wrong.

    ``kind`` says where it came from, whatever the language of the message: "mistake" (a known mistake's
    hint, from :func:`diagnose`) or "" (anything else).
    """

    def __init__(self, message: str = "", kind: str = ""):
        super().__init__(message)
        self.kind = kind


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


# ---------------------------------------------------------------------------------------------
# coercing a student's answer
# ---------------------------------------------------------------------------------------------
def is_blank(answer: Any) -> bool:
    """True for the template placeholders students start from: None or ``...``."""
    return answer is None or answer is Ellipsis


def call_student(fn: Callable, *args, **kwargs):
    """Call a student's function; a blank body (returns None / NotImplementedError) is 'not attempted'."""
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None
    except (Incorrect, NotAttempted):
        raise
    except Exception as err:  # a bug in the student's code: report it as a hint, not a crash
        if is_dtype_clash(err):
            raise Incorrect(tr("your function raised {error_type}: {error}. Two dtypes met inside the network: "
                               "its weights are float32, so its input x_t must be float32 too. The usual cause is "
                               "the schedule: schedule.alphas_cumprod is float64 (the course computes schedules in "
                               "float64), and multiplying float32 x0 by a batch of its entries gives float64 x_t. "
                               "Cast the coefficients to x0's dtype (.to(x0.dtype)).",
                               error_type=type(err).__name__, error=err), kind="dtype") from None
        raise Incorrect(tr("your function raised {error_type}: {error}",
                              error_type=type(err).__name__, error=err)) from None
    if is_blank(out):
        raise NotAttempted()
    return out


#: Parts of the errors PyTorch raises when a float64 tensor meets float32 weights (or the reverse).
DTYPE_CLASH_ERRORS = ("must have the same dtype", "expected scalar type", "expected object of scalar type",
                      "found dtype", "expected both inputs to have same dtype")


def is_dtype_clash(err: BaseException) -> bool:
    """True for the error a network raises when its input's dtype differs from its weights'."""
    return isinstance(err, RuntimeError) and any(part in str(err).lower() for part in DTYPE_CLASH_ERRORS)


def require_dtype(value: torch.Tensor, like: torch.Tensor, what: str) -> None:
    """Refuse ``value`` (a tensor the student made) when its dtype is not that of ``like`` (x0), with the
    reason: a float64 x_t from float32 data is the schedule's float64 coefficients leaking in, and the
    network (float32 weights) fails on it later, far from the cause."""
    if isinstance(value, torch.Tensor) and isinstance(like, torch.Tensor) and value.dtype != like.dtype:
        raise Incorrect(tr("{what} is {got}, but x0 is {want}: keep x0's dtype. schedule.alphas_cumprod is float64 "
                           "(the course computes schedules in float64), and a batch of its entries turns float32 x0 "
                           "into float64; a float32 network then fails with \"mat1 and mat2 must have the same "
                           "dtype\". Cast the coefficients with .to(x0.dtype) before multiplying.",
                           what=localized(what), got=str(value.dtype).replace("torch.", ""),
                           want=str(like.dtype).replace("torch.", "")), kind="dtype")


def require_callable(answer: Any, example: str) -> None:
    """Explain, when ``answer`` is not a function, that the function itself must be passed.

    ``example`` is the call the student should write, e.g. ``"q1.check(noisy)"``.
    """
    if not callable(answer):
        raise Incorrect(tr("pass your function itself, without calling it: {example} (no brackets), "
                           "not a {type_name}.", example=example, type_name=type(answer).__name__))


def as_float64(value: Any, what: str, shape: Sequence[int] | None = None, finite: bool = True,
               shape_fix: str = "") -> torch.Tensor:
    """The student's tensor, numpy array, list or number as a float64 torch tensor on the CPU.

    Raises :class:`Incorrect` naming ``what`` when it is not numbers, when ``shape`` is given and
    differs (``shape_fix`` is appended: how to get the right shape), or (``finite=True``) when it
    holds NaN or inf.
    """
    what = localized(what)
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError("text is not numbers")
        out = value.detach().cpu().to(torch.float64) if isinstance(value, torch.Tensor) else \
            torch.as_tensor(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError, RuntimeError):
        raise Incorrect(tr("{what} should be a tensor (or numpy array) of numbers, got {type_name}.",
                           what=what, type_name=type(value).__name__)) from None
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise Incorrect(tr("{what} should have shape {shape}, got {got}. {shape_fix}", what=what,
                           shape=tuple(shape), got=tuple(out.shape), shape_fix=localized(shape_fix)).rstrip())
    if finite and not bool(torch.isfinite(out).all()):
        raise Incorrect(tr("{what} contains NaN or inf: look for a division by zero or the square root of a "
                           "negative number.", what=what))
    return out


def as_number(value: Any, what: str) -> float:
    """A single number: a python/numpy number or a one-element tensor/array (a function of no
    arguments is called first). Bools and text are refused with a hint."""
    what = localized(what)
    if callable(value):
        value = call_student(value)
    if isinstance(value, (bool, np.bool_)):
        raise Incorrect(tr("{what} should be a number, got a bool ({value}).", what=what, value=value))
    if isinstance(value, str):
        raise Incorrect(tr("{what} should be a single number, got the text {text}: remove the quotes.",
                           what=what, text=repr(value)))
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (torch.Tensor, np.ndarray)) and _size(value) == 1:
        if str(value.dtype) in ("bool", "torch.bool"):
            raise Incorrect(tr("{what} should be a number, got a bool tensor.", what=what))
        return float(value.item())
    if hasattr(value, "shape"):
        raise Incorrect(tr("{what} should be a single number (a float), got {type_name} of shape {shape}.",
                           what=what, type_name=type(value).__name__, shape=tuple(value.shape)))
    raise Incorrect(tr("{what} should be a single number (a float), got {type_name}.", what=what,
                       type_name=type(value).__name__))


def as_index(value: Any, what: str) -> int:
    """An integer (a code step, an index): a python/numpy int or a one-element integer tensor.
    Floats (even 259.0) and bools are refused with a hint."""
    what = localized(what)
    if isinstance(value, (bool, np.bool_)):
        raise Incorrect(tr("{what}: return the step t as an int, not a bool.", what=what))
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (torch.Tensor, np.ndarray)) and _size(value) == 1:
        item = value.item()
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            return int(item)
        value = item
    if isinstance(value, numbers.Real):
        raise Incorrect(tr("{what}: return the step as an int, got {value} (a {type_name}); wrap it in int(...).",
                           what=what, value=repr(value), type_name=type(value).__name__))
    raise Incorrect(tr("{what}: return an int, got {type_name}.", what=what, type_name=type(value).__name__))


def _size(value: torch.Tensor | np.ndarray) -> int:
    return value.size if isinstance(value, np.ndarray) else value.numel()


def as_bool(value: Any, what: str) -> bool:
    """True/False: a python or numpy bool, or a one-element bool tensor/array (``(a != b).any()``)."""
    what = localized(what)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype == torch.bool:
        return bool(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype == np.bool_:
        return bool(value)
    raise Incorrect(tr("{what} should return True or False, got {type_name} {value}.", what=what,
                       type_name=type(value).__name__, value=repr(value)))


# ---------------------------------------------------------------------------------------------
# closeness and typical mistakes
# ---------------------------------------------------------------------------------------------
def close(got: Any, want: Any, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """True when ``got`` has ``want``'s shape and every entry is within the tolerance of :data:`RTOL`.

    ``|got − want| ≤ rtol·|want| + atol·max(1, max|want|)`` elementwise, in float64; NaN is never
    close, and an entry ±inf of ``want`` is close only to the same ±inf (the scale is taken over the
    finite entries: a wrong answer that divides by zero somewhere matches nothing). Tensors, arrays and
    numbers are accepted.
    """
    got = torch.as_tensor(got).detach().cpu().to(torch.float64)
    want = torch.as_tensor(want).detach().cpu().to(torch.float64)
    if got.shape != want.shape:
        return False
    finite = torch.isfinite(want)
    if not bool(finite.all()):
        if not bool((got[~finite] == want[~finite]).all()):     # NaN == NaN is False: never close
            return False
        got, want = got[finite], want[finite]
    if want.numel() == 0:
        return True
    scale = max(1.0, float(want.abs().max()))
    return bool(((got - want).abs() <= rtol * want.abs() + atol * scale).all())


def max_abs_diff(got: torch.Tensor, want: torch.Tensor) -> float:
    """The largest |got − want| (for messages)."""
    return float((torch.as_tensor(got, dtype=torch.float64) - torch.as_tensor(want, dtype=torch.float64)).abs().max())


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer and the hint that explains it.

    ``wrong`` is written the way a student would write it: a function with the exercise's signature,
    or, for exercises whose answer is a value, that value. ``rtol``/``atol``: how close the student's
    answer must come to count as this mistake (the default is :func:`close`'s tolerance; a number
    that the student may compute several ways gets a stated, wider one).
    """

    wrong: Any
    hint: str              # English; shown through localized() (a static text or a Message)
    rtol: float = RTOL
    atol: float = ATOL


def _same(got: Any, wrong: Any, rtol: float, atol: float) -> bool:
    if isinstance(got, (tuple, list)):
        return (isinstance(wrong, (tuple, list)) and len(got) == len(wrong)
                and all(_same(g, w, rtol, atol) for g, w in zip(got, wrong)))
    exact = (bool, np.bool_, numbers.Integral)               # indices and yes/no answers: equal or not
    if isinstance(got, exact) and isinstance(wrong, exact):
        return bool(got == wrong)
    try:
        return close(got, wrong, rtol, atol)
    except (TypeError, ValueError, RuntimeError):
        return False


def diagnose(got: Any, mistakes: Sequence[Mistake], *args, run: Callable[[Any], Any] | None = None,
             prefix: str = "") -> None:
    """Raise :class:`Incorrect` with the hint of the first mistake that reproduces ``got``.

    Each mistake's wrong answer is run on ``args``, the inputs the student's function got (a value is
    taken as it is); ``run(wrong)`` replaces that call where the answer is not a plain call (several
    inputs, one part of a tuple). ``prefix`` (e.g. which case failed) goes in front of the hint.
    Returns normally when no known mistake matches.
    """
    for mistake in mistakes:
        try:
            if run is not None:
                candidate = run(mistake.wrong)
            else:
                candidate = mistake.wrong(*args) if callable(mistake.wrong) else mistake.wrong
        except (ArithmeticError, IndexError, RuntimeError, TypeError, ValueError):
            continue                                    # this mistake cannot even run on these inputs
        if _same(got, candidate, mistake.rtol, mistake.atol):
            hint = localized(mistake.hint)
            raise Incorrect(tr("{prefix}: {hint}", prefix=localized(prefix), hint=hint) if prefix else hint,
                            kind="mistake")


def check_close(got: Any, want: Any, mistakes: Sequence[Mistake], *args, otherwise: str | Callable[[], str],
                rtol: float = RTOL, atol: float = ATOL, part: int | None = None) -> None:
    """The usual verdict on a computed answer: return when ``got`` is :func:`close` to ``want``; else
    raise the hint of the mistake in ``mistakes`` that reproduces it (run on ``args``, see
    :func:`diagnose`), or, when none does, ``otherwise`` (a message, or a function making one).
    ``part``: ``got`` is that element of the answer (a tuple), so only that element of each wrong
    answer is compared."""
    if close(got, want, rtol, atol):
        return
    diagnose(got, mistakes, *args, run=None if part is None else (lambda wrong: wrong(*args)[part]))
    raise Incorrect(localized(otherwise() if callable(otherwise) else otherwise))


# ---------------------------------------------------------------------------------------------
# an answer must not hand the job to the package function that does it
# ---------------------------------------------------------------------------------------------
def package_functions(module, *names: str) -> dict:
    """{id: name} of a package module's functions that compute what an exercise asks for (for
    :func:`refuse_package_answer`)."""
    return {id(getattr(module, name)): name for name in names}


def uses_package_function(fn, forbidden: dict) -> str | None:
    """The name of a function in ``forbidden`` (from :func:`package_functions`) that the answer ``fn`` uses,
    else None. Looks through the answer's code (and the code of the lambdas and inner functions in it), the
    globals and closure cells it reads, user functions it calls (recursively) and functools.partial, so a
    lambda wrapper, ``smp.karras_sigmas``, ``from diffusion_lab.sampling import karras_sigmas`` (at the top or
    inside the function) and an alias all count."""
    names = set(forbidden.values())
    seen: set[int] = set()

    def visit(obj, depth: int = 0) -> str | None:
        if id(obj) in forbidden:
            return forbidden[id(obj)]
        if depth > 8 or id(obj) in seen:
            return None
        seen.add(id(obj))
        if isinstance(obj, functools.partial):
            return visit(obj.func, depth + 1)
        if isinstance(obj, types.MethodType):
            return visit(obj.__func__, depth + 1)
        if not isinstance(obj, types.FunctionType):
            call = type(obj).__dict__.get("__call__")     # a callable object: its class's method
            return visit(call, depth + 1) if isinstance(call, types.FunctionType) else None
        if obj.__module__ and obj.__module__.startswith("diffusion_lab."):
            return None                                   # the course's own code (a reference, a mistake)
        glob = obj.__globals__
        for cell in obj.__closure__ or ():
            try:
                found = visit(cell.cell_contents, depth + 1)
            except ValueError:                            # an empty cell
                continue
            if found:
                return found
        codes = [obj.__code__]
        while codes:
            code = codes.pop()
            codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
            for name in code.co_names:
                if name in glob:
                    found = visit(glob[name], depth + 1)
                    if found:
                        return found
                elif name in names:                       # an attribute (smp.name) or an import inside the body
                    return name
        return None

    return visit(fn)


def refuse_package_answer(fn, forbidden: dict) -> None:
    """Reject an answer that calls the package's own version of the exercise (it would pass without a step
    of thought)."""
    name = uses_package_function(fn, forbidden)
    if name is not None:
        raise Incorrect(tr("your answer uses the package's own {name}, which computes exactly what this exercise "
                           "asks for, so passing would show nothing. Build it yourself from what the chapter "
                           "says, without {name}.", name=name))


# ---------------------------------------------------------------------------------------------
# the exercise
# ---------------------------------------------------------------------------------------------
class Exercise:
    """One question.

    Args:
        name: short label shown in messages, e.g. "Exercise 1.1 — closed-form noising".
        checker: ``checker(answer)`` returns normally when right, raises :class:`Incorrect` with a
            specific hint when wrong, or :class:`NotAttempted`.
        hints: graded hints, at least two: the first a nudge, each next one says more, the last is
            nearly the solution. ``hint(k)`` shows the k-th.
        solution: the reference solution as source code (markdown is allowed around it).
        reference: the reference answer object itself (a function or value); tests check it passes.
        mistakes: the typical mistakes the checker recognises (tests run each one).
    """

    def __init__(self, name: str, checker: Callable[[Any], None], hints: Sequence[str], solution: str,
                 reference: Any = None, mistakes: Sequence[Mistake] = ()):
        if isinstance(hints, str) or len(hints) < 2:
            raise ValueError(f"{name}: give at least two graded hints as a list (a nudge first, a near-solution "
                             f"last), got {hints!r}.")
        self.name, self._checker, self.hints, self._solution = name, checker, tuple(hints), solution
        self.reference, self.mistakes = reference, tuple(mistakes)

    def result(self, answer: Any) -> CheckResult:
        name = localized(self.name)
        if is_blank(answer):
            return CheckResult(NOT_ATTEMPTED, tr("{name}: not attempted yet — write your answer in the cell "
                                                 "above, run it, then run this check again. (.hint() helps.)",
                                                 name=name))
        try:
            self._checker(answer)
        except NotAttempted:
            return CheckResult(NOT_ATTEMPTED, tr("{name}: not attempted yet — your function still returns "
                                                 "nothing. Fill in the body, then check again.", name=name))
        except Incorrect as wrong:
            return CheckResult(INCORRECT, tr("{name}: not quite. {reason}", name=name, reason=localized(str(wrong))))
        return CheckResult(CORRECT, tr("{name}: correct! ✓", name=name))

    def check(self, answer: Any) -> CheckResult:
        """Check an answer and print a friendly verdict; returns the CheckResult (truthy when right)."""
        res = self.result(answer)
        colour = {CORRECT: "#1b7f3b", INCORRECT: "#b3261e", NOT_ATTEMPTED: "#555555"}[res.status]
        icon = {CORRECT: "✅", INCORRECT: "❌", NOT_ATTEMPTED: "✏️"}[res.status]
        _show(f"<span style='color:{colour}'>{icon} {res.message}</span>", res.message)
        return res

    def hint_text(self, level: int = 1) -> str:
        """The text ``hint(level)`` shows: hint ``level`` of n, and what to ask for next."""
        if isinstance(level, bool) or not isinstance(level, numbers.Integral) or level < 1:
            raise ValueError(tr("hint levels are 1, 2, … {n}: .hint() for a nudge, .hint({n}) for the strongest; "
                                "got {level}.", n=len(self.hints), level=repr(level)))
        n, name = len(self.hints), localized(self.name)
        if level > n:
            return tr("{name} has {n} hints, there is no hint {level}. .hint({n}) is the strongest; .solution() "
                      "shows a model answer.", name=name, n=n, level=level)
        more = tr(".hint({next}) says more.", next=level + 1) if level < n else \
            tr("Still stuck? .solution() shows a model answer.")
        return tr("Hint {level} of {n} ({name}): {hint} — {more}", level=level, n=n, name=name,
                  hint=localized(self.hints[level - 1]), more=more)

    def hint(self, level: int = 1) -> None:
        """Show hint ``level`` (1: a nudge; the last: nearly the solution)."""
        text = self.hint_text(level)
        _show(f"💡 {text}", text)

    def solution(self) -> None:
        """Show the model answer (its notes in the chosen language; code stays code)."""
        heading, text = tr("Solution ({name}):", name=localized(self.name)), localized(self._solution)
        _show(f"<b>{heading}</b>\n\n{text}", f"{heading}\n{text}")

    def __repr__(self) -> str:
        return tr("Exercise({name}): use .check(answer), .hint() … .hint({n}), .solution()",
                  name=repr(localized(self.name)), n=len(self.hints))


def _show(markdown: str, plain: str) -> None:
    try:
        from IPython import get_ipython
        if get_ipython() is not None:
            display(Markdown(markdown))
            return
    except Exception:  # pragma: no cover
        pass
    print(plain)


def source_of(obj: Callable) -> str:
    """The source of a reference function or class, as a fenced code block for ``solution()``.

    ``textwrap.dedent`` (not ``inspect.cleandoc``) keeps the body indented under its ``def``, so the
    shown solution runs as it is.
    """
    return "```python\n" + textwrap.dedent(inspect.getsource(obj)).strip() + "\n```"
