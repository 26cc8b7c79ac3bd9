"""Keep the Chinese edition (notebooks/zh/) in step with the English chapters (notebooks/).

    python scripts/i18n.py status              # per chapter: cells translated, stale, untranslated
    python scripts/i18n.py sync [CHAPTER ...]  # create/update notebooks/zh/ from the English chapters
    python scripts/i18n.py put notebooks/zh/01_diffusion_1d.ipynb CELL_ID FILE   # a cell's translation
    python scripts/i18n.py strings             # rewrite diffusion_lab/locale/zh_code_strings.json

How the two editions are tied (docs/translating.md has the contributor's workflow):

* A Chinese chapter has the same cells as the English one, with the same cell ids, in the same order.
* Each Chinese cell records in ``metadata.i18n.en_sha`` the hash of the English text it translates
  (as gettext marks a translation "fuzzy" when its msgid changes). When the English cell changes,
  the hash no longer matches and tests/test_i18n.py names the stale cell until it is re-translated.
* Code cells hold the same code: only string literals, comments and the one ``dl.set_language("zh")``
  line may differ (``diffusion_lab.i18n.code_skeleton``). ``sync`` copies a code cell with nothing to
  translate (no comment, no sentence in a string) and marks it current by itself.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import io
import json
import re
import sys
import tokenize
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def _load_i18n():
    """diffusion_lab/i18n.py on its own (stdlib only at import): importing the package would load torch."""
    spec = importlib.util.spec_from_file_location("diffusion_lab_i18n", ROOT / "diffusion_lab" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_i18n = _load_i18n()
code_skeleton, code_strings, has_chinese = _i18n.code_skeleton, _i18n.code_strings, _i18n.has_chinese

EN_DIR = ROOT / "notebooks"
EDITIONS = {"zh": EN_DIR / "zh"}
CODE_STRINGS_FILE = ROOT / "diffusion_lab" / "locale" / "zh_code_strings.json"
#: The line that chooses the language, added to a Chinese chapter's first code cell.
LANGUAGE_LINE = 'dl.set_language("zh")'


def chapters() -> list[Path]:
    return sorted(EN_DIR.glob("[0-9][0-9]_*.ipynb"))


def en_sha(source: str) -> str:
    """The hash a translation records of the English text it translates."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def has_prose(source: str) -> bool:
    """True when a code cell has something to translate: a comment, or a string with a sentence."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return True
    if any(tok.type == tokenize.COMMENT for tok in tokens):
        return True
    for s in code_strings(source):
        text = s if isinstance(s, str) else " ".join(p for p in s if isinstance(p, str))
        if " " in text.strip() and re.search(r"[A-Za-z]{3,}", text):
            return True
    return False


def is_setup_cell(cell) -> bool:
    return cell.cell_type == "code" and "import diffusion_lab as dl" in cell.source


def with_language_line(source: str) -> str:
    """The English setup cell's code with ``dl.set_language("zh")`` after the course-style line (or after
    the imports)."""
    lines = source.splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith("dl.plotting.use_course_style")), None)
    if at is None:
        at = max(i for i, line in enumerate(lines) if line.startswith(("import ", "from ")))
    lines.insert(at + 1, LANGUAGE_LINE)
    return "\n".join(lines)


def cell_state(zh_cell, en_cell) -> str:
    """"current", "stale" (translates an older English text) or "untranslated"."""
    recorded = zh_cell.metadata.get("i18n", {}).get("en_sha")
    if recorded is None:
        return "untranslated"
    return "current" if recorded == en_sha(en_cell.source) else "stale"


def sync(en_path: Path, lang: str = "zh", write: bool = True) -> dict[str, int]:
    """Bring the ``lang`` edition of one chapter in line with the English cells: keep translations
    by cell id, add new English cells untranslated, drop cells the English no longer has, copy code
    cells with nothing to translate. Returns counts of cell states."""
    en = nbformat.read(en_path, as_version=4)
    zh_path = EDITIONS[lang] / en_path.name
    old = {c.id: c for c in nbformat.read(zh_path, as_version=4).cells} if zh_path.exists() else {}
    cells = []
    for en_cell in en.cells:
        zh_cell = old.get(en_cell.id)
        if zh_cell is None or zh_cell.cell_type != en_cell.cell_type:
            zh_cell = copy.deepcopy(en_cell)
            zh_cell.metadata.pop("i18n", None)
            if is_setup_cell(en_cell):
                zh_cell.source = with_language_line(en_cell.source)
        if en_cell.cell_type == "code":
            zh_cell.outputs, zh_cell.execution_count = [], None
            if cell_state(zh_cell, en_cell) != "current" and not has_prose(en_cell.source):
                zh_cell.source = with_language_line(en_cell.source) if is_setup_cell(en_cell) else en_cell.source
                zh_cell.metadata["i18n"] = {"en_sha": en_sha(en_cell.source)}
        zh_cell.metadata["slideshow"] = copy.deepcopy(en_cell.metadata.get("slideshow", {}))
        if not zh_cell.metadata["slideshow"]:
            zh_cell.metadata.pop("slideshow")
        cells.append(zh_cell)
    nb = copy.deepcopy(en)
    nb.cells = cells
    nb.metadata["language_edition"] = lang
    if write:
        zh_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, zh_path)
    counts = {"current": 0, "stale": 0, "untranslated": 0}
    for zh_cell, en_cell in zip(cells, en.cells):
        counts[cell_state(zh_cell, en_cell)] += 1
    return counts


def put(zh_path: Path, cell_id: str, text: str) -> None:
    """Store ``text`` as the translation of cell ``cell_id``, marked current against today's English."""
    en = {c.id: c for c in nbformat.read(EN_DIR / zh_path.name, as_version=4).cells}
    nb = nbformat.read(zh_path, as_version=4)
    cell = next((c for c in nb.cells if c.id == cell_id), None)
    if cell is None or cell_id not in en:
        raise SystemExit(f"{zh_path.name} has no cell with id {cell_id!r}: `python scripts/i18n.py status` lists them.")
    cell.source = text.rstrip("\n")
    cell.metadata["i18n"] = {"en_sha": en_sha(en[cell_id].source)}
    nbformat.write(nb, zh_path)


def problems(zh_path: Path) -> list[str]:
    """Everything that keeps a translated chapter out of step with its English chapter, one line each."""
    en_path = EN_DIR / zh_path.name
    if not en_path.exists():
        return [f"{zh_path}: no English chapter {en_path.name} (remove the translation or rename it)"]
    en, zh = nbformat.read(en_path, as_version=4), nbformat.read(zh_path, as_version=4)
    if [c.id for c in en.cells] != [c.id for c in zh.cells]:
        return [f"{zh_path}: its cells are not the English chapter's cells (ids or order differ): "
                f"run `python scripts/i18n.py sync {en_path.name}`"]
    out = []
    for i, (en_cell, zh_cell) in enumerate(zip(en.cells, zh.cells)):
        where = f"{zh_path.relative_to(ROOT)} cell {i} (id {en_cell.id}, {first_words(en_cell.source)!r})"
        state = cell_state(zh_cell, en_cell)
        if state == "stale":
            out.append(f"{where}: translates an older English text — re-translate it, then record it with "
                       f"`python scripts/i18n.py put {zh_path.relative_to(ROOT)} {en_cell.id} FILE`")
        elif state == "untranslated":
            out.append(f"{where}: not translated yet")
        if en_cell.cell_type == "code":
            try:
                same = code_skeleton(en_cell.source) == code_skeleton(zh_cell.source)
            except SyntaxError as err:
                same, state = False, f"does not parse ({err.msg})"
            if not same:
                out.append(f"{where}: its code differs from the English cell's (only strings, comments and "
                           f"the set_language line may differ)")
        elif state == "current" and len(en_cell.source.split()) >= 5 and not has_chinese(zh_cell.source):
            out.append(f"{where}: marked translated but has no Chinese text")
    return out


def first_words(text: str, n: int = 6) -> str:
    return " ".join(text.split()[:n])


def string_pairs() -> list:
    """(Chinese string, English string) for every string literal a Chinese chapter translated."""
    pairs, seen = [], set()
    for zh_path in sorted(EDITIONS["zh"].glob("[0-9][0-9]_*.ipynb")):
        en = {c.id: c for c in nbformat.read(EN_DIR / zh_path.name, as_version=4).cells}
        for zh_cell in nbformat.read(zh_path, as_version=4).cells:
            en_cell = en.get(zh_cell.id)
            if zh_cell.cell_type != "code" or en_cell is None:
                continue
            try:
                zh_source = re.sub(r"^dl\.set_language\(.*$", "", zh_cell.source, flags=re.M)
                zh_strings, en_strings = code_strings(zh_source), code_strings(en_cell.source)
            except SyntaxError:
                continue
            if len(zh_strings) != len(en_strings):
                continue
            for z, e in zip(zh_strings, en_strings):
                key = json.dumps(z, ensure_ascii=False)
                if z != e and has_chinese(key) and key not in seen:
                    seen.add(key)
                    pairs.append([z, e])
    return pairs


def write_strings() -> int:
    pairs = string_pairs()
    CODE_STRINGS_FILE.write_text(json.dumps({"about": "Chinese code strings of notebooks/zh/ → the English "
                                             "chapters' strings; written by scripts/i18n.py strings",
                                             "pairs": pairs}, ensure_ascii=False, indent=0) + "\n",
                                 encoding="utf-8")
    return len(pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status")
    p_sync = sub.add_parser("sync")
    p_sync.add_argument("chapters", nargs="*")
    p_put = sub.add_parser("put")
    p_put.add_argument("zh_path", type=Path)
    p_put.add_argument("cell_id")
    p_put.add_argument("file", type=Path)
    sub.add_parser("strings")
    args = parser.parse_args(argv)
    if args.command == "sync":
        paths = [EN_DIR / Path(c).name for c in args.chapters] if args.chapters else chapters()
        for path in paths:
            print(f"{path.name}: {sync(path)}")
    elif args.command == "put":
        put(args.zh_path.resolve(), args.cell_id, args.file.read_text(encoding="utf-8"))
    elif args.command == "strings":
        print(f"{write_strings()} string pairs → {CODE_STRINGS_FILE.relative_to(ROOT)}")
    else:
        for path in chapters():
            zh_path = EDITIONS["zh"] / path.name
            if not zh_path.exists():
                print(f"{path.name}: no Chinese edition yet (`python scripts/i18n.py sync {path.name}`)")
                continue
            issues = problems(zh_path)
            print(f"{path.name}: {len(issues)} problem(s)")
            for line in issues:
                print("   ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
