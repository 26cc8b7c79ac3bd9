"""Self-check exercises, one module per chapter (``from diffusion_lab.exercises import ch1``).

Each exercise has ``check(answer)``, graded hints ``hint()`` (a nudge), ``hint(2)``, … (the last is
nearly the solution) and ``solution()``; see :mod:`.base` for the shared machinery (coercing answers,
the closeness tolerance, tables of typical mistakes).
"""
from .base import CheckResult, Exercise, Incorrect, Mistake, NotAttempted, call_student

__all__ = ["CheckResult", "Exercise", "Incorrect", "Mistake", "NotAttempted", "call_student"]
