"""The Chinese edition stays in step with the English one (issue 13).

* every Chinese chapter has the English chapter's cells, each translation current (its recorded hash
  of the English text matches) and its code the same code (``i18n.code_skeleton``);
* a changed English cell makes its translation stale, and the test names it;
* the glossary's Chinese terms are used where the English chapter uses the English term;
* ``set_language`` and its font fallback: English figure text, never boxes, where no Chinese font is.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import warnings
from pathlib import Path

import matplotlib
import nbformat
import pytest

from diffusion_lab import i18n

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHINESE = sorted((ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))


def load_tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")


# ---- the two editions -------------------------------------------------------------------------

def test_every_english_chapter_has_a_chinese_edition():
    missing = [p.name for p in ENGLISH if not (ROOT / "notebooks" / "zh" / p.name).exists()]
    assert not missing, (f"no Chinese edition of {missing}: run `python scripts/i18n.py sync NAME` and translate "
                         f"it (docs/translating.md)")


@pytest.mark.parametrize("zh_path", CHINESE, ids=lambda p: p.stem)
def test_chinese_chapter_is_in_step_with_the_english_one(zh_path):
    problems = tool.problems(zh_path)
    assert not problems, "\n".join(problems[:20]) + (f"\n… and {len(problems) - 20} more" if len(problems) > 20 else "")


@pytest.mark.parametrize("zh_path", CHINESE, ids=lambda p: p.stem)
def test_chinese_chapter_chooses_its_language_once(zh_path):
    nb = nbformat.read(zh_path, as_version=4)
    calls = [c for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()
             if line.startswith("dl.set_language(")]
    assert len(calls) == 1 and 'dl.set_language("zh")' in calls[0].source, (
        f"{zh_path.name}: the first code cell must choose the language once with dl.set_language(\"zh\")")
    assert nb.metadata.get("language_edition") == "zh"


def test_a_changed_english_cell_makes_its_translation_stale(tmp_path, monkeypatch):
    en_dir, zh_dir = tmp_path / "notebooks", tmp_path / "notebooks" / "zh"
    zh_dir.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Noise in, samples out: the forward process adds noise.", id="a"),
                nbformat.v4.new_code_cell('import diffusion_lab as dl\nx = 1  # one number', id="b"),
                nbformat.v4.new_code_cell('print(f"spread {x:.2f} of the samples")', id="c")]
    nbformat.write(nb, en_dir / "01_demo.ipynb")
    monkeypatch.setattr(tool, "EN_DIR", en_dir)
    monkeypatch.setattr(tool, "EDITIONS", {"zh": zh_dir})
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    counts = tool.sync(en_dir / "01_demo.ipynb")
    assert counts == {"current": 0, "stale": 0, "untranslated": 3}       # every cell has prose to translate
    zh_path = zh_dir / "01_demo.ipynb"
    tool.put(zh_path, "a", "## 噪声进，样本出：前向过程逐步加入噪声。")
    tool.put(zh_path, "b", 'import diffusion_lab as dl\ndl.set_language("zh")\nx = 1  # 一个数')
    tool.put(zh_path, "c", 'print(f"样本的离散程度为 {x:.2f}")')
    assert tool.problems(zh_path) == []
    # the English text changes: the translation is named as stale
    nb.cells[0].source = "## Noise in, samples out: the forward process adds Gaussian noise."
    nbformat.write(nb, en_dir / "01_demo.ipynb")
    stale = tool.problems(zh_path)
    assert len(stale) == 1 and "id a" in stale[0] and "older English text" in stale[0]
    # a translation that changes the code is caught
    tool.put(zh_path, "a", "## 噪声进，样本出：前向过程逐步加入高斯噪声。")
    tool.put(zh_path, "c", 'print(f"样本的离散程度为 {x:.3f}")' + "\ny = 2")
    wrong = tool.problems(zh_path)
    assert len(wrong) == 1 and "id c" in wrong[0] and "code differs" in wrong[0]
    # a new English cell appears untranslated after sync, the old translations are kept
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("A new paragraph about the reverse process.", id="n"))
    nbformat.write(nb, en_dir / "01_demo.ipynb")
    counts = tool.sync(en_dir / "01_demo.ipynb")
    assert counts["untranslated"] == 1 and counts["current"] == 3


def test_code_skeleton_ignores_language_but_not_code():
    en = 'x = q(1)  # noise\nprint(f"t = {t}: spread {s:.3f}")\nax.set_title("the forward process")'
    zh = 'dl.set_language("zh")\nx = q(1)  # 噪声\nprint(f"t = {t}：离散程度 {s:.3f}")\nax.set_title("前向过程")'
    reordered = 'x = q(1)\nprint(f"离散程度 {s:.3f}（t = {t}）")\nax.set_title("前向过程")'
    assert i18n.code_skeleton(en) == i18n.code_skeleton(zh) == i18n.code_skeleton(reordered)
    for changed in ('x = q(2)\nprint(f"t = {t}: spread {s:.3f}")\nax.set_title("")',
                    'x = q(1)\nprint(f"t = {t}: spread {s:.4f}")\nax.set_title("")',
                    'x = q(1)\nprint(f"t = {t + 1}: spread {s:.3f}")\nax.set_title("")',
                    'x = q(1)\nprint(f"t = {t}: spread {s:.3f}")\nax.set_xlabel("")'):
        assert i18n.code_skeleton(changed) != i18n.code_skeleton(en), changed


def test_the_code_strings_table_is_current():
    saved = json.loads(i18n.CODE_STRINGS_FILE.read_text(encoding="utf-8"))["pairs"] \
        if i18n.CODE_STRINGS_FILE.exists() else []
    assert saved == tool.string_pairs(), "run `python scripts/i18n.py strings` after translating code strings"


# ---- the glossary -----------------------------------------------------------------------------

def glossary() -> list[tuple[str, str]]:
    """(English term, Chinese term) from notebooks/glossary.md, without the parenthesised abbreviations."""
    rows = []
    for line in (ROOT / "notebooks" / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("English", "---"):
            rows.append((re.sub(r"\s*\(.*\)", "", cells[0]), re.sub(r"（.*）", "", cells[1]).strip()))
    return rows


def test_the_glossary_has_its_terms():
    terms = dict(glossary())
    assert len(terms) >= 30 and terms["classifier-free guidance"] == "无分类器引导"
    assert terms["probability-flow ODE"] == "概率流常微分方程"


def chapter_text(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


@pytest.mark.parametrize("zh_path", CHINESE, ids=lambda p: p.stem)
def test_chinese_chapter_uses_the_glossary_terms(zh_path):
    english, chinese = chapter_text(ROOT / "notebooks" / zh_path.name), chapter_text(zh_path)
    missing = [f"{en} → {zh}" for en, zh in glossary()
               if re.search(rf"\b{re.escape(en)}\b", english, re.I) and zh not in chinese]
    assert not missing, (f"{zh_path.name} uses the English terms but not their Chinese (notebooks/glossary.md): "
                         f"{missing}")


# ---- set_language, tr and the font fallback ---------------------------------------------------

def test_set_language_names_the_languages():
    with pytest.raises(ValueError, match="'en', 'zh'"):
        i18n.set_language("fr")


def test_tr_uses_the_catalog_and_falls_back_to_english():
    template = "{what}: {value} vs {expected} within sampling error (n = {n})"
    fields = dict(what="x_t 的均值", value="0.01", expected="0", n=1000)
    assert i18n.tr(template, **fields).endswith("within sampling error (n = 1000)")
    i18n.set_language("zh", font=None)
    assert "抽样误差" in i18n.tr(template, **fields)
    assert i18n.tr("a sentence no catalog has") == "a sentence no catalog has"
    for english, chinese in __import__("diffusion_lab.locale.zh", fromlist=["MESSAGES"]).MESSAGES.items():
        assert i18n.template_fields(english) == i18n.template_fields(chinese), english


def test_without_a_chinese_font_figures_stay_english(capsys):
    i18n.set_language("zh", font=None)
    assert "fonts-noto-cjk" in capsys.readouterr().out
    assert i18n.language() == "zh" and i18n.figure_language() == "en"
    assert i18n.tr_fig("{what}: {value} vs {expected} within sampling error (n = {n})", what="a", value=1,
                       expected=1, n=2).endswith("(n = 2)")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # "Glyph … missing" would be a warning
        ax.set_title("前向过程 x_t")
        fig.canvas.draw()
    assert not i18n.has_chinese(ax.get_title())
    i18n.set_language("en")
    ax.set_title("前向过程")
    assert ax.get_title() == "前向过程"                        # the hook is gone again


def test_fstring_fallback_maps_fields_back_in_their_english_order():
    pattern, template = i18n._fstring_pattern(["离散程度 ", ["s"], "（t = ", ["t"], "）"],
                                              ["t = ", ["t"], ": spread ", ["s"]])
    assert pattern.match("离散程度 0.25（t = 10）").expand(template) == "t = 10: spread 0.25"


@pytest.mark.skipif(i18n.find_cjk_font() is None, reason="no Chinese font installed (fonts-noto-cjk)")
def test_with_a_chinese_font_figures_draw_chinese_without_missing_glyphs(caplog):
    i18n.set_language("zh")
    assert i18n.figure_language() == "zh"
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="数据 x_0")
    ax.set_title("前向过程：√ᾱ_t·x0 与 ε̂")
    ax.set_xlabel(r"噪声步 $t$（共 $T$ 步）")
    ax.legend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.canvas.draw()
    # mathtext reports a missing glyph by logging ("Font 'default' does not have a glyph …"), not warning
    assert "does not have a glyph" not in caplog.text
    assert matplotlib.rcParams["font.family"][0] == i18n.find_cjk_font()
    i18n.set_language("en")
    assert matplotlib.rcParams["font.family"] == ["sans-serif"]


def test_tool_status_runs():
    assert tool.main(["status"]) == 0          # the CLI's status must not raise on the real tree


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
@pytest.mark.parametrize("lang, url", [("zh", "/lab/tree/zh/00_welcome.ipynb"),
                                       ("zh_CN.UTF-8", "/lab/tree/zh/00_welcome.ipynb"),
                                       ("en_US.UTF-8", "/lab/tree/00_welcome.ipynb")])
def test_make_course_opens_the_edition_of_LANG(lang, url):
    import subprocess
    out = subprocess.run(["make", "-n", "course", f"LANG={lang}"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert url in out
    assert ("LANG=C.UTF-8" in out) == (lang == "zh")        # a bare "zh" is no locale: Jupyter gets a real one


def test_the_chinese_readme_has_the_same_set_up():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    zh = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "README.zh-CN.md" in readme and "README.md" in zh
    for command in ("make course", "make test", "make course LANG=zh"):
        assert command in zh, f"README.zh-CN.md lacks `{command}`"
    assert i18n.has_chinese(zh) and "fonts-noto-cjk" in zh and "font-ttf-noto-cjk" in zh


@pytest.mark.skipif(i18n.find_cjk_font() is None, reason="no Chinese font installed (fonts-noto-cjk)")
def test_a_font_installed_after_matplotlib_cached_its_list_is_found(monkeypatch):
    from matplotlib import font_manager
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [f for f in font_manager.fontManager.ttflist if f.name not in i18n.CJK_FONTS])
    assert i18n.find_cjk_font() in i18n.CJK_FONTS          # found in the system's font folders and added
