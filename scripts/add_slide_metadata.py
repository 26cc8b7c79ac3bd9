#!/usr/bin/env python3
"""Give each chapter slide metadata so it presents as a deck (jupyterlab-slideshow, RISE, nbconvert).

    .venv/bin/python scripts/add_slide_metadata.py                     # all notebooks/NN_*.ipynb
    .venv/bin/python scripts/add_slide_metadata.py notebooks/03_*.ipynb --dry-run
    .venv/bin/python scripts/add_slide_metadata.py --check             # exit 1 if any would change

The rule is simple and predictable, so the text needs no presenting-specific markup:

* a markdown cell that starts with a ``#`` or ``##`` heading starts a new **slide**;
* one that starts with ``###`` starts a **subslide** (a step down in reveal.js-style decks);
* every other cell continues the current slide, so a section's text, its code and its figure or
  explorer stay together on one slide (decks scroll inside a tall slide). Such a cell carries **no**
  ``slideshow`` metadata: jupyterlab-slideshow 0.3.4 treats an explicit ``"-"`` differently from
  RISE/nbconvert (in our browser test a slide then showed its heading cell alone), while a cell
  without a slide type continues the slide in every tool;
* with ``--skip-setup`` the first code cell (imports, style, seed) is ``"skip"``: hidden in the
  deck but still run by Run All Cells, so the explorers keep working.

A slide type already set to ``"fragment"``, ``"notes"`` or ``"skip"`` by an author is kept (use
``--force`` to recompute everything). Only ``cell.metadata.slideshow`` is written; outputs, ids and
all other metadata are left as they are, and a notebook that would not change is not rewritten.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
AUTHOR_TYPES = {"fragment", "notes", "skip"}


def slide_type_for(cell, first_code: bool, skip_setup: bool) -> str:
    """The rule above for one cell."""
    if cell.cell_type == "markdown":
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        m = re.match(r"^\s{0,3}(#{1,6})\s", first)
        if m:
            return "slide" if len(m.group(1)) <= 2 else "subslide"
        return None
    if cell.cell_type == "code" and first_code and skip_setup:
        return "skip"
    return None   # continues the current slide: no slideshow metadata at all


def add_slide_metadata(nb, skip_setup: bool = False, force: bool = False) -> int:
    """Set (or, for continuing cells, remove) ``metadata.slideshow.slide_type`` on every cell.

    Returns how many cells changed."""
    changed = 0
    seen_code = False
    for index, cell in enumerate(nb.cells):
        first_code = cell.cell_type == "code" and not seen_code
        seen_code = seen_code or cell.cell_type == "code"
        current = cell.metadata.get("slideshow", {}).get("slide_type")
        if current in AUTHOR_TYPES and not force:
            continue
        wanted = slide_type_for(cell, first_code, skip_setup)
        if index == 0 and wanted is None:
            wanted = "slide"  # a deck starts with a slide
        if current == wanted:
            continue
        if wanted is None:
            cell.metadata["slideshow"].pop("slide_type")
            if not cell.metadata["slideshow"]:
                del cell.metadata["slideshow"]
        else:
            cell.metadata.setdefault("slideshow", {})["slide_type"] = wanted
        changed += 1
    return changed


def process(paths, skip_setup=False, force=False, write=True, log=print) -> dict[str, int]:
    """Apply to each notebook path; returns {path: cells changed}. Writes only when something changed."""
    result = {}
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        n = add_slide_metadata(nb, skip_setup=skip_setup, force=force)
        result[str(path)] = n
        slides = sum(c.metadata.get("slideshow", {}).get("slide_type") == "slide" for c in nb.cells)
        log(f"  {path.name:32s} {slides:3d} slides, {n:3d} cells {'updated' if write else 'would change'}")
        if n and write:
            nbformat.write(nb, path)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    ap.add_argument("--skip-setup", action="store_true", help="hide the first code cell in the deck")
    ap.add_argument("--force", action="store_true", help="also recompute fragment/notes/skip set by authors")
    ap.add_argument("--dry-run", action="store_true", help="report, write nothing")
    ap.add_argument("--check", action="store_true", help="exit 1 if any notebook lacks the metadata")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted([*(ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"),
                                      *(ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb")])
    result = process(paths, args.skip_setup, args.force, write=not (args.dry_run or args.check))
    if args.check and any(result.values()):
        print("add_slide_metadata: slide metadata missing or stale; run scripts/add_slide_metadata.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
