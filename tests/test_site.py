"""The read-only course site (scripts/build_site.py): executed chapters as static HTML pages.

Fast checks run on small fake chapters made here (one with math and two figures, one with a real
``diffusion_lab.widgets.explorer`` over a tiny view, one that fails); the real chapters are built
by the ``slow`` test at the end (one real chapter) and rendered in a browser by tests/e2e.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def _load_build_site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_site", module)   # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bs = _load_build_site()

MATH_NB = [
    new_markdown_cell("# 01 · Fake *math* chapter\n\nThis page checks the site build. It has two figures."),
    new_markdown_cell("## The forward step\n\n"
                      "$$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon$$\n\n"
                      "with $\\beta_t$ small."),
    new_code_cell("import matplotlib.pyplot as plt\nfor k in (1, 2):\n"
                  "    plt.figure(figsize=(2, 1.5)); plt.plot([0, 1, 2], [0, k, 0]); plt.show()"),
]
EXPLORER_NB = [
    new_markdown_cell("# 02 · Fake explorer chapter\n\n- a list is not a description\n\n"
                      "The `diffusion_lab` explorer turns into a snapshot! The rest is ignored."),
    # the explorer renders its own PNG into an Image widget: no inline backend needed
    new_code_cell(
        "import ipywidgets as W\nfrom diffusion_lab.plotting import new_figure\n"
        "from diffusion_lab.views import View\nfrom diffusion_lab.widgets import explorer\n\n"
        "class Tiny(View):\n    def __init__(self):\n        self.fig, self.ax = new_figure(figsize=(2, 1.5))\n"
        "        (self.line,) = self.ax.plot([0, 1], [0, 0])\n"
        "    def update(self, t=0):\n        self.line.set_ydata([0, t])\n\n"
        "explorer(Tiny(), t=W.IntSlider(3, 0, 9, description='t'))"),
]
FAILING_NB = [
    new_markdown_cell("# 03 · Broken chapter"),
    new_code_cell("raise ValueError('boom: this chapter is broken')"),
]


def _write(folder: Path, name: str, cells) -> Path:
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def fake_site(tmp_path_factory):
    """Build a site from three fake chapters once for the whole module."""
    src = tmp_path_factory.mktemp("notebooks")
    sources = [_write(src, "01_fake_math.ipynb", MATH_NB), _write(src, "02_fake_explorer.ipynb", EXPLORER_NB),
               _write(src, "03_broken.ipynb", FAILING_NB), _write(src, "scratch.ipynb", FAILING_NB)]
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sources}
    out = tmp_path_factory.mktemp("site")
    chapters = bs.build_site(src, out, timeout=120, log=lambda *a: None)
    return {"out": out, "chapters": {c.stem: c for c in chapters}, "sources": sources, "digests": digests}


def _page(fake_site, stem: str) -> str:
    return (fake_site["out"] / f"{stem}.html").read_text(encoding="utf-8")


# ---- the built pages ---------------------------------------------------------------------------

def test_only_numbered_chapters_are_built(fake_site):
    assert sorted(fake_site["chapters"]) == ["01_fake_math", "02_fake_explorer", "03_broken"]
    assert not (fake_site["out"] / "scratch.html").exists()


def test_chapter_pages_hold_their_figures_inline(fake_site):
    assert bs.count_figures(_page(fake_site, "01_fake_math")) == 2
    assert fake_site["chapters"]["01_fake_math"].figures == 2
    # the explorer's figure comes from its Image widget's snapshot (the PNG buffer in the state)
    assert bs.count_figures(_page(fake_site, "02_fake_explorer")) == 1
    assert not list(fake_site["out"].glob("*.png")), "figures must be inline, not separate files"


def test_widgets_become_a_snapshot_with_their_control_values(fake_site):
    page = _page(fake_site, "02_fake_explorer")
    assert "dl-widget-snapshot" in page and "t = 3" in page
    assert "application/vnd.jupyter.widget" not in page  # no widget state or views left to render
    assert fake_site["chapters"]["02_fake_explorer"].widgets_flattened == 1


def test_pages_need_no_cdn(fake_site):
    for stem in fake_site["chapters"]:
        page = _page(fake_site, stem)
        assert bs.cdn_references(page) == []
        for host in ("cdnjs", "unpkg.com", "jsdelivr", "googleapis", "mathjax.org"):
            assert host not in page, f"{stem}.html mentions {host}"
        # every local script/stylesheet a page loads exists in the site
        for ref in re.findall(r"""<(?:script|link)[^>]+(?:src|href)="([^"?#]+)""", page):
            assert (fake_site["out"] / ref).is_file(), f"{stem}.html loads missing {ref}"


def test_math_is_rendered_by_the_local_mathjax(fake_site):
    page = _page(fake_site, "01_fake_math")
    assert "\\sqrt{\\bar\\alpha_t}" in page and "$\\beta_t$" in page   # left for MathJax to typeset
    assert 'src="assets/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"' in page
    mj = fake_site["out"] / "assets" / "mathjax"
    assert (mj / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert (mj / "extensions" / "Safe.js").is_file()
    assert list((mj / "fonts" / "HTML-CSS" / "STIX-Web" / "woff").glob("*.woff"))
    assert not (mj / "localization" / "de").exists() and (mj / "localization" / "en").is_dir()


def test_index_links_every_chapter_with_title_and_description(fake_site):
    index = (fake_site["out"] / "index.html").read_text(encoding="utf-8")
    for stem in fake_site["chapters"]:
        assert f'href="{stem}.html"' in index
    assert "01 · Fake math chapter" in index and "This page checks the site build." in index
    assert "The diffusion_lab explorer turns into a snapshot!" in index
    assert index.index("01_fake_math.html") < index.index("02_fake_explorer.html") < index.index("03_broken.html")


def test_chapter_pages_link_to_neighbours(fake_site):
    page = _page(fake_site, "02_fake_explorer")
    assert 'href="index.html"' in page and 'href="01_fake_math.html"' in page and 'href="03_broken.html"' in page


def test_a_failing_chapter_is_reported_not_hidden(fake_site):
    ch = fake_site["chapters"]["03_broken"]
    assert ch.error and "ValueError" in ch.error and "boom" in ch.error
    assert "failed to execute" in _page(fake_site, "03_broken")
    assert "failed to execute" in (fake_site["out"] / "index.html").read_text(encoding="utf-8")
    report = json.loads((fake_site["out"] / "report.json").read_text())
    assert [r["error"] is not None for r in report] == [False, False, True]


def test_sources_are_never_written(fake_site):
    for path, digest in fake_site["digests"].items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path.name} was modified"


# ---- pure helpers (no kernel) ------------------------------------------------------------------

def test_title_and_description_helpers():
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_markdown_cell("Intro text first.\n\n# 05 · Sampling")])
    assert bs.chapter_title(nb) == "05 · Sampling"
    assert bs.chapter_description(nb) == "Intro text first."
    long = new_notebook(cells=[new_markdown_cell("# T\n\n" + "word " * 100)])
    assert len(bs.chapter_description(long, max_chars=50)) <= 50
    assert bs.chapter_title(new_notebook(cells=[new_markdown_cell("no heading")])) == ""


def test_cdn_detection_finds_remote_scripts():
    assert bs.cdn_references('<script src="https://cdnjs.cloudflare.com/x.js"></script>') == \
        ["https://cdnjs.cloudflare.com/x.js"]
    assert bs.cdn_references("<link href='//unpkg.com/a.css'>") == ["//unpkg.com/a.css"]
    assert bs.cdn_references('<script src="assets/mathjax/MathJax.js"></script><a href="#x">') == []


def test_flatten_widgets_walks_nested_boxes_in_order():
    ref = "IPY_MODEL_{}".format
    png = {"output_type": "display_data", "data": {"image/png": "AAAA"}, "metadata": {}}
    state = {
        "box": {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls",
                "state": {"children": [ref("hbox"), ref("out")]}},
        "hbox": {"model_name": "HBoxModel", "state": {"children": [ref("t"), ref("sched")]}},
        "t": {"model_name": "IntSliderModel", "state": {"description": "t", "value": 7}},
        "sched": {"model_name": "DropdownModel", "state": {"description": "schedule", "index": 1,
                                                           "_options_labels": ["linear", "cosine"]}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [png]}},
    }
    nb = new_notebook(cells=[new_code_cell("explorer(...)")])
    nb.cells[0].outputs = [nbformat.from_dict({"output_type": "display_data", "metadata": {}, "data": {
        "text/plain": "VBox(...)", bs.WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0}}})]
    nb.metadata["widgets"] = {bs.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    assert bs.flatten_widgets(nb) == 1
    outs = nb.cells[0].outputs
    assert len(outs) == 2 and outs[1]["data"]["image/png"] == "AAAA"
    assert "t = 7, schedule = cosine" in outs[0]["data"]["text/html"]
    assert "widgets" not in nb.metadata


def test_flatten_widgets_takes_an_image_widget_png_from_its_buffer():
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_t", "IPY_MODEL_img"]}},
        "t": {"model_name": "IntSliderModel", "state": {"description": "t", "value": 2}},
        "img": {"model_name": "ImageModel", "state": {"format": "png"},
                "buffers": [{"path": ["value"], "encoding": "base64", "data": "iVBORw0KGgo="}]},
    }
    nb = new_notebook(cells=[new_code_cell("explorer(...)")])
    nb.cells[0].outputs = [nbformat.from_dict({"output_type": "execute_result", "execution_count": 1,
                                               "metadata": {}, "data": {
        "text/plain": "Explorer(...)", "image/png": "iVBORw0KGgo=",
        bs.WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0}}})]
    nb.metadata["widgets"] = {bs.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    assert bs.flatten_widgets(nb) == 1
    outs = nb.cells[0].outputs
    assert [o["data"].get("image/png") for o in outs] == [None, "iVBORw0KGgo="]   # note, then one figure
    assert "t = 2" in outs[0]["data"]["text/html"]


def test_a_progress_bar_becomes_a_static_progress_element_not_an_explorer():
    state = {
        "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]}},
        "l": {"model_name": "HTMLModel", "state": {"value": "training TimeMLP: 100%"}},
        "p": {"model_name": "FloatProgressModel", "state": {"value": 3500, "max": 3500}},
        "r": {"model_name": "HTMLModel", "state": {"value": " 3500/3500 [00:27&lt;00:00, loss=0.2565]"}},
    }
    nb = new_notebook(cells=[new_code_cell("train(...)")])
    nb.cells[0].outputs = [nbformat.from_dict({"output_type": "display_data", "metadata": {}, "data": {
        "text/plain": "HBox(...)", bs.WIDGET_VIEW: {"model_id": "bar", "version_major": 2, "version_minor": 0}}})]
    nb.metadata["widgets"] = {bs.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    assert bs.flatten_widgets(nb) == 1
    (out,) = nb.cells[0].outputs
    shown = out["data"]["text/html"]
    assert '<progress value="3500" max="3500">' in shown and "training TimeMLP: 100%" in shown
    assert "3500/3500 [00:27&lt;00:00" in shown and "explorer" not in shown


def test_flatten_widgets_without_state_keeps_a_note():
    nb = new_notebook(cells=[new_code_cell("w")])
    nb.cells[0].outputs = [nbformat.from_dict({"output_type": "display_data", "metadata": {},
                                               "data": {bs.WIDGET_VIEW: {"model_id": "gone"}}})]
    assert bs.flatten_widgets(nb) == 1
    assert len(nb.cells[0].outputs) == 1 and "as first shown" in nb.cells[0].outputs[0]["data"]["text/html"]
    # an explorer's own PNG fallback in the bundle is kept when the state is missing
    nb.cells[0].outputs = [nbformat.from_dict({"output_type": "display_data", "metadata": {},
                                               "data": {bs.WIDGET_VIEW: {"model_id": "gone"}, "image/png": "QUJD"}})]
    assert bs.flatten_widgets(nb) == 1
    assert [o["data"].get("image/png") for o in nb.cells[0].outputs] == [None, "QUJD"]


# ---- one real chapter --------------------------------------------------------------------------

REAL = sorted((ROOT / "notebooks").glob("0[1-9]_*.ipynb"))


@pytest.mark.slow
@pytest.mark.skipif(not REAL, reason="no real chapter (notebooks/01_*.ipynb ...) written yet")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_real_chapter_builds_and_its_page_holds_its_figures(tmp_path, lang):
    """The whole course in each edition, as `make site` builds it (every chapter executed: minutes)."""
    folder = ROOT / "notebooks" / ("zh" if lang == "zh" else "")
    expected = sorted(p.stem for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not expected:
        pytest.skip(f"no chapter in {folder} yet")
    out = tmp_path / "zh" if lang == "zh" else tmp_path
    built = {c.stem: c for c in bs.build_site(folder, out, log=lambda *a: None, lang=lang)}
    assert sorted(built) == expected
    index = (out / "index.html").read_text(encoding="utf-8")
    for stem, chapter in built.items():
        assert chapter.error is None, f"{stem}: {chapter.error}"
        page = (out / f"{stem}.html").read_text(encoding="utf-8")
        assert bs.cdn_references(page) == [], stem
        assert chapter.title and f'href="{stem}.html"' in index, stem
        assert bs.count_figures(page) == chapter.figures, stem
        # every explorer became a snapshot; one that shows a figure is followed by its picture
        notes = [m.start() for m in re.finditer(r'class="dl-widget-snapshot"', page)]
        bars = len(re.findall(r'class="dl-progress"', page))
        assert len(notes) + bars == chapter.widgets_flattened and len(notes) >= 1, stem
        if stem != "00_welcome":                         # chapter 0's slider drives text, not a figure
            assert chapter.figures >= 3, f"{stem} shows only {chapter.figures} figures"
            for start in notes:
                assert "<img" in page[start:start + 4000], f"{stem}: an explorer snapshot without its figure"


# ---- two editions: English at the root, 中文 under zh/, each page linking to the other -------------

ZH_MATH_NB = [
    new_markdown_cell("# 01 · 带公式的测试章节\n\n本页用来检查网站生成，含两幅图。"),
    MATH_NB[1],
    MATH_NB[2],
]


def test_the_chinese_edition_is_built_under_zh_with_a_language_switch(tmp_path):
    src = tmp_path / "notebooks"
    (src / "zh").mkdir(parents=True)
    _write(src, "01_fake_math.ipynb", MATH_NB)
    _write(src / "zh", "01_fake_math.ipynb", ZH_MATH_NB)
    out = tmp_path / "site"
    assert bs.main(["--notebooks", str(src), "--out", str(out)]) == 0
    en_page = (out / "01_fake_math.html").read_text(encoding="utf-8")
    zh_page = (out / "zh" / "01_fake_math.html").read_text(encoding="utf-8")
    zh_index = (out / "zh" / "index.html").read_text(encoding="utf-8")
    assert 'href="zh/01_fake_math.html"' in en_page and "中文版" in en_page
    assert 'href="../01_fake_math.html"' in zh_page and ">English<" in zh_page
    assert "带公式的测试章节" in zh_index and '<html lang="zh-CN">' in zh_index and "全部章节" not in zh_index
    assert "全部章节" in zh_page and "静态副本" in zh_page
    # the Chinese pages use the root's assets: nothing is copied twice, nothing comes from a CDN
    assert 'href="../assets/site.css"' in zh_page and "../assets/mathjax/MathJax.js" in zh_page
    assert not (out / "zh" / "assets").exists() and bs.cdn_references(zh_page) == []
    assert 'href="zh/index.html"' in (out / "index.html").read_text(encoding="utf-8")


def test_without_a_chinese_edition_there_is_no_switch(fake_site):
    assert "中文版" not in _page(fake_site, "01_fake_math")
    assert "zh/index.html" not in (fake_site["out"] / "index.html").read_text(encoding="utf-8")


def test_links_to_chapters_and_to_the_glossary_point_into_the_site(tmp_path):
    """A chapter's links work in the site as in JupyterLab: NN_x.ipynb → NN_x.html in the same folder, a
    repository Markdown file (the glossary, linked from both editions) → one page at the site's root."""
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "notebooks" / "zh").mkdir(parents=True)
    (repo / "docs" / "glossary.md").write_text("# Glossary\n\n| term | 中文 |\n|---|---|\n| timestep | 时间步 |\n",
                                               encoding="utf-8")
    site = tmp_path / "site"
    page = ('<a href="02_scatter_2d.ipynb#sec">next</a> <a href="../docs/glossary.md">terms</a> '
            '<a href="https://example.org/x.md">away</a> <a href="missing.md">gone</a>')
    en = bs.rewrite_local_links(page, site, repo / "notebooks", site)
    assert 'href="02_scatter_2d.html#sec"' in en and 'href="glossary.html"' in en
    assert 'href="https://example.org/x.md"' in en and 'href="missing.md"' in en
    glossary = (site / "glossary.html").read_text(encoding="utf-8")
    assert "<title>Glossary</title>" in glossary and "<td>时间步</td>" in glossary and "assets/site.css" in glossary
    zh = bs.rewrite_local_links(page.replace("../docs", "../../docs"), site / "zh", repo / "notebooks" / "zh", site)
    assert 'href="02_scatter_2d.html#sec"' in zh and 'href="../glossary.html"' in zh
