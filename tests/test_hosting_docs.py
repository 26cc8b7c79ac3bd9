"""docs/hosting.md's sizing rests on a measurement of chapter 04 through the hub: the table it shows is the
stored result's (deploy/jupyterhub/measured/04_eps_training.json, made by measure_load.py), and that result
measured the chapter's code as it is now. When chapter 04's code changes, re-run
`python deploy/jupyterhub/measure_load.py --students 1 2 4` on an idle machine, copy build/hub-load/04_eps_training.json
to deploy/jupyterhub/measured/ and paste the table it prints."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "jupyterhub"))

from measure_load import chapter_code_sha256, table  # noqa: E402

MEASURED = ROOT / "deploy" / "jupyterhub" / "measured" / "04_eps_training.json"
HOSTING = ROOT / "docs" / "hosting.md"


def test_the_measurement_is_of_todays_chapter_04_code():
    stored = json.loads(MEASURED.read_text(encoding="utf-8"))
    assert stored["chapter"] == "04_eps_training.ipynb"
    assert stored["chapter_code_sha256"] == chapter_code_sha256(ROOT / "notebooks" / stored["chapter"]), (
        "chapter 04's code changed after the hub measurement in docs/hosting.md: re-measure (this file's docstring)")
    assert not [e for run in stored["runs"] for e in run["errors"]]


def test_the_fingerprint_sees_code_and_ignores_text(tmp_path):
    def write(cells):
        path = tmp_path / "c.ipynb"
        path.write_text(json.dumps({"cells": [{"cell_type": k, "source": s} for k, s in cells]}), encoding="utf-8")
        return chapter_code_sha256(path)

    base = write([("markdown", "# one"), ("code", "x = 1")])
    assert write([("markdown", "# two"), ("code", "x = 1")]) == base
    assert write([("markdown", "# one"), ("code", "x = 2")]) != base


def test_hosting_md_quotes_the_stored_measurement():
    text = HOSTING.read_text(encoding="utf-8")
    block = re.search(r"<!-- measured-table: (\S+) -->\n(.*?)\n<!-- /measured-table -->", text, re.S)
    assert block and (ROOT / block.group(1)) == MEASURED
    assert block.group(2).strip() == table(json.loads(MEASURED.read_text(encoding="utf-8"))).strip()
    cpu = [c for run in json.loads(MEASURED.read_text(encoding="utf-8"))["runs"] for c in run["cpu_seconds"]]
    assert f"{min(cpu):.0f}–{max(cpu):.0f} CPU seconds per student" in text
