"""Every link a chapter gives a student leads somewhere: a relative link in a Markdown cell (to another chapter,
the glossary, a file of the repository) names a file that exists, from the chapter's own folder, and stays
inside `notebooks/` — the folder `make course` serves, so the link opens in JupyterLab too."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted((NOTEBOOKS / "zh").glob("[0-9][0-9]_*.ipynb"))
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return [t for t in LINK.findall(text) if not re.match(r"^(?:[a-z][a-z0-9+.-]*:|#)", t)]


def test_the_link_pattern_skips_web_addresses_anchors_and_images(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": "[a](01_x.ipynb) [b](https://x.org) [c](#top) ![d](e.png) "
                                                        "[f](../glossary.md#terms)"}]}
    (tmp_path / "n.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert relative_links(tmp_path / "n.ipynb") == ["01_x.ipynb", "../glossary.md#terms"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_every_relative_link_of_a_chapter_leads_to_a_file_jupyterlab_serves(path):
    for link in relative_links(path):
        target = (path.parent / link.split("#")[0]).resolve()
        assert target.exists(), f"{path.name}: the link {link!r} leads nowhere"
        assert NOTEBOOKS.resolve() in target.parents, (
            f"{path.name}: the link {link!r} leaves notebooks/, which JupyterLab (make course) does not serve")


def test_every_chapter_but_the_last_ends_with_a_link_to_the_next():
    for folder in (NOTEBOOKS, NOTEBOOKS / "zh"):
        chapters = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
        for here, following in zip(chapters, chapters[1:]):
            cells = json.loads(here.read_text(encoding="utf-8"))["cells"]
            last_markdown = next(c for c in reversed(cells) if c["cell_type"] == "markdown")
            assert f"]({following.name})" in "".join(last_markdown["source"]), (
                f"{here.relative_to(NOTEBOOKS)}: its last text cell has no link to {following.name}")
