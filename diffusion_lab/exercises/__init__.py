"""Self-check exercises, one module per chapter (``from diffusion_lab.exercises import ch1``).

Each exercise has ``check(answer)``, ``hint()`` and ``solution()``; see :mod:`.base`.
"""
from .base import CheckResult, Exercise, Incorrect, NotAttempted, call_student

__all__ = ["CheckResult", "Exercise", "Incorrect", "NotAttempted", "call_student"]
