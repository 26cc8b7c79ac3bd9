"""Notebook policy: chapters are stored the way a student cloning the course should meet them.

For every notebooks/*.ipynb:
  - no stored outputs, no execution counts, no widget state (`make strip` / nbstripout fixes these)
  - kernelspec `python3` (the kernel every install has; `make course` runs it from .venv)
  - imports diffusion_lab (chapters show the few lines that matter; the package holds the plumbing)
  - has an ipywidgets control (chapters are interactive)
  - proves something: an `assert` or a `.check(` call, so nbval has something to fail on
  - no code cell over 60 lines, no file over 1 MB
The checks are written out here (not imported from outside the repo) so a plain clone runs them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_CELL_LINES = 60
MAX_BYTES = 1_000_000


def notebook_problems(nb: dict, size: int = 0) -> list[str]:
    """Everything wrong with one notebook (as parsed JSON); empty when it follows the policy."""
    problems = []
    meta = nb.get("metadata", {})
    spec = meta.get("kernelspec", {}).get("name")
    if spec != "python3":
        problems.append(f"kernelspec is {spec!r}, expected 'python3'")
    if "widgets" in meta:
        problems.append("metadata.widgets holds stored widget state: run `make strip`")
    code = []
    for i, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        code.append(src)
        if cell.get("outputs"):
            problems.append(f"code cell {i} has stored outputs: run `make strip`")
        if cell.get("execution_count") is not None:
            problems.append(f"code cell {i} has an execution count: run `make strip`")
        lines = [ln for ln in src.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        if len(lines) > MAX_CELL_LINES:
            problems.append(f"code cell {i} has {len(lines)} lines (> {MAX_CELL_LINES}): "
                            "move the plumbing into diffusion_lab")
    code_text = "\n".join(code)
    if not re.search(r"^\s*(import diffusion_lab|from diffusion_lab\b)", code_text, re.MULTILINE):
        problems.append("never imports diffusion_lab")
    if not re.search(r"widgets|interact|explorer|slider", code_text, re.IGNORECASE):
        problems.append("has no ipywidgets control")
    if not re.search(r"\bassert\b|\.check\(|check_", code_text):
        problems.append("proves nothing: no assert and no .check( call, so nbval only shows the cells run")
    if size > MAX_BYTES:
        problems.append(f"{size / 1e6:.1f} MB as stored (> 1 MB)")
    return problems


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under notebooks/"
    assert (ROOT / "notebooks" / "00_welcome.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_follows_policy(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert notebook_problems(nb, path.stat().st_size) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_valid_nbformat(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)


# ---- the checks can fail ---------------------------------------------------------------------
def clean_notebook() -> dict:
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# A chapter"]},
            {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
             "source": ["import diffusion_lab as dl\n", "import ipywidgets as widgets\n",
                        "assert dl is not None"]},
        ],
    }


def test_clean_example_passes():
    assert notebook_problems(clean_notebook()) == []


def test_stored_output_is_flagged():
    nb = clean_notebook()
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    assert notebook_problems(nb) == ["code cell 2 has stored outputs: run `make strip`"]


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda nb: nb["cells"][1].update(execution_count=3), "execution count"),
        (lambda nb: nb["metadata"].update(widgets={"application/vnd.jupyter.widget-state+json": {}}),
         "metadata.widgets"),
        (lambda nb: nb["metadata"]["kernelspec"].update(name="conda-env-dl-py"), "kernelspec"),
        (lambda nb: nb["cells"][1].update(source="import ipywidgets\nassert True"), "never imports"),
        (lambda nb: nb["cells"][1].update(source="import diffusion_lab\nassert True"), "no ipywidgets"),
        (lambda nb: nb["cells"][1].update(source="import diffusion_lab, ipywidgets\nprint(1)"),
         "proves nothing"),
        (lambda nb: nb["cells"][1].update(source="import diffusion_lab, ipywidgets\nassert 1\n" + "x = 1\n" * 61),
         "lines"),
    ],
)
def test_policy_violations_are_flagged(edit, expected):
    nb = clean_notebook()
    edit(nb)
    problems = notebook_problems(nb)
    assert any(expected in p for p in problems), problems


def test_oversized_notebook_is_flagged():
    assert any("MB" in p for p in notebook_problems(clean_notebook(), size=2_000_000))
