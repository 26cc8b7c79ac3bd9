#!/usr/bin/env python3
"""Build the read-only course site: every chapter executed and exported to static HTML.

    .venv/bin/python scripts/build_site.py                 # all notebooks/NN_*.ipynb -> build/site/
    .venv/bin/python scripts/build_site.py --only 01 03    # just some chapters (by number or name)
    .venv/bin/python scripts/build_site.py --no-execute    # export as stored (no figures; quick look)

What it makes (build/ is git-ignored; executed copies are never written next to the sources):

* ``index.html`` — the chapter map: each chapter's title (its first heading), a one-line
  description (the first sentence of its first paragraph), how many figures it holds.
* ``NN_name.html`` — one page per chapter, executed with nbconvert's ExecutePreprocessor (kernel
  ``python3``, working directory ``notebooks/``; its transport comes from the project's Jupyter
  config, ``jupyter-config/jupyter_config.py``: IPC sockets in a private temporary folder on Linux
  and macOS, TCP on Windows). Figures are inline PNG (``data:image/png;base64``),
  so a page is one file. Widgets cannot run without a kernel: each widget output is replaced by
  its snapshot (what its Image / Output widget or ipympl canvas showed when the cell ran) plus a note.
* Links between chapters (``02_scatter_2d.ipynb``) point to their pages (``02_scatter_2d.html``); a link to a
  Markdown file of the repository (the glossary) points to a page made from it at the site's root
  (``glossary.html``), so every link a chapter holds works in the site as it does in JupyterLab.
* ``assets/mathjax/`` — MathJax 2.7 from the ``jupyter-server-mathjax`` PyPI package, so math
  renders offline; nothing on any page is fetched from a CDN. ``assets/site.css`` — navigation.
* ``report.json`` — per chapter: seconds to execute, number of figures, error (if any).

Exits with status 1 if any chapter failed to execute (its page is still written, with the error).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as _dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = ROOT / "site_template"
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# An inline figure: <img ... src="data:image/png;base64,...">. (nbconvert writes alt= before src=.)
PNG_IMG = re.compile(r"""<img\b[^>]*?\bsrc=["']data:image/png;base64,""", re.IGNORECASE)
# Anything a page would fetch from the network (the test and the build both check for these).
CDN_PATTERN = re.compile(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"'\s>]*)""", re.IGNORECASE)
# ipywidgets controls whose value the snapshot note lists ("t = 0, schedule = linear").
CONTROL_MODELS = {"IntSliderModel", "FloatSliderModel", "FloatLogSliderModel", "IntRangeSliderModel",
                  "FloatRangeSliderModel", "DropdownModel", "ToggleButtonsModel", "RadioButtonsModel",
                  "SelectionSliderModel", "CheckboxModel", "ToggleButtonModel", "IntTextModel",
                  "FloatTextModel", "BoundedIntTextModel", "BoundedFloatTextModel", "PlayModel"}


@dataclass
class Chapter:
    """One chapter of the site (what the index lists and report.json records)."""

    source: str                 # file name under notebooks/
    stem: str
    href: str
    title: str
    description: str
    figures: int = 0
    executed: bool = False
    seconds: float = 0.0
    widgets_flattened: int = 0
    error: str | None = None
    extra: dict = field(default_factory=dict)


# ---- reading a notebook ------------------------------------------------------------------------

def find_chapters(notebooks_dir: Path, only: list[str] | None = None) -> list[Path]:
    """``notebooks/NN_*.ipynb`` in order; ``only`` keeps those whose number or name matches."""
    paths = sorted(Path(notebooks_dir).glob(CHAPTER_GLOB))
    if only:
        keep = [str(o).removesuffix(".ipynb") for o in only]
        paths = [p for p in paths if any(p.stem == k or p.stem.startswith(k + "_") or p.stem.startswith(k)
                                         for k in keep)]
    return paths


def _plain(markdown: str) -> str:
    """Markdown inline text as plain text: no emphasis marks, code ticks or link targets."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)            # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)            # links -> their text
    text = re.sub(r"<[^>]+>", "", text)                             # inline html
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"(?<!\w)[*_]([^*_\n]+)[*_](?!\w)", r"\1", text)   # *em* / _em_, not snake_case
    return re.sub(r"\s+", " ", text).strip()


def chapter_title(nb) -> str:
    """The text of the notebook's first markdown heading (any level)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
            if m:
                return _plain(m.group(1))
    return ""


def chapter_description(nb, max_chars: int = 200) -> str:
    """One line: the first sentence of the first prose paragraph (not a heading, list or table)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for para in re.split(r"\n\s*\n", cell.source):
            first = para.strip()
            if not first or re.match(r"^(#|[-*+] |\d+\. |\||>|\$\$|<|```|---)", first):
                continue
            text = _plain(first)
            m = re.match(r"(.+?[.!?])(\s|$)", text)
            sentence = m.group(1) if m else text
            if len(sentence) > max_chars:
                sentence = sentence[: max_chars - 1].rsplit(" ", 1)[0] + "…"
            return sentence
    return ""


# ---- widgets -> static snapshot ----------------------------------------------------------------

def _model_refs(value) -> list[str]:
    """Model ids referenced as "IPY_MODEL_<id>" anywhere inside a widget state value."""
    if isinstance(value, str):
        return [value[len("IPY_MODEL_"):]] if value.startswith("IPY_MODEL_") else []
    if isinstance(value, list):
        return [ref for item in value for ref in _model_refs(item)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _model_refs(item)]
    return []


def _snapshot(model_id: str, state: dict, seen: set) -> tuple[list[dict], list[str]]:
    """(outputs, control descriptions) found under one widget model, depth first in child order."""
    if model_id in seen or model_id not in state:
        return [], []
    seen.add(model_id)
    model = state[model_id]
    name, st = model.get("model_name", ""), model.get("state", {})
    outputs, controls = [], []
    if name == "OutputModel":
        outputs.extend(copy.deepcopy(st.get("outputs", [])))
    elif name in CONTROL_MODELS:
        label = st.get("description") or name.removesuffix("Model")
        value = st.get("value", st.get("index"))
        if name in {"DropdownModel", "ToggleButtonsModel", "RadioButtonsModel", "SelectionSliderModel"}:
            labels = st.get("_options_labels") or []
            idx = st.get("index")
            value = labels[idx] if isinstance(idx, int) and 0 <= idx < len(labels) else value
        controls.append(f"{label} = {value}")
    elif name == "ImageModel":
        # the explorer's figure: PNG bytes kept as a base64 binary buffer at path ["value"]
        fmt = st.get("format", "png")
        for buf in model.get("buffers", []):
            if buf.get("path") == ["value"] and buf.get("encoding") == "base64" and fmt in {"png", "jpeg"}:
                outputs.append({"output_type": "display_data", "metadata": {},
                                "data": {f"image/{fmt}": buf["data"], "text/plain": "<Figure>"}})
    elif model.get("model_module") == "jupyter-matplotlib" and name == "CanvasModel":
        url = st.get("_data_url") or ""
        if url.startswith("data:image/png;base64,"):
            outputs.append({"output_type": "display_data", "metadata": {},
                            "data": {"image/png": url.split(",", 1)[1], "text/plain": "<Figure>"}})
    for key in ("children", "outputs_widget", "figure", "canvas"):
        for ref in _model_refs(st.get(key, [])):
            sub_out, sub_ctl = _snapshot(ref, state, seen)
            outputs.extend(sub_out)
            controls.extend(sub_ctl)
    return outputs, controls


PROGRESS_MODELS = {"FloatProgressModel", "IntProgressModel"}


def progress_bar_html(model_id: str, state: dict) -> str | None:
    """A progress-bar widget (tqdm's HBox of HTML, progress, HTML) as static HTML; None if not one."""
    box = state.get(model_id, {})
    children = [state.get(ref, {}) for ref in _model_refs(box.get("state", {}).get("children", []))]
    bars = [c for c in children if c.get("model_name") in PROGRESS_MODELS]
    if box.get("model_name") != "HBoxModel" or len(bars) != 1:
        return None
    bar = bars[0].get("state", {})
    texts = [c.get("state", {}).get("value", "") for c in children if c.get("model_name") == "HTMLModel"]
    value, top = float(bar.get("value") or 0), float(bar.get("max") or 1)
    left, right = (texts + ["", ""])[:2]
    # the HTML texts are tqdm's own (counts, rates); shown as text, never as markup
    return (f'<div class="dl-progress">{html.escape(_strip_tags(left))} '
            f'<progress value="{value:g}" max="{top:g}"></progress> {html.escape(_strip_tags(right))}</div>')


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", str(text)))


def flatten_widgets(nb) -> int:
    """Replace every widget output by its static snapshot; drop the stored widget state.

    An explorer's figure lives in an Image widget (or an ipympl canvas), whose state the executor
    stores in ``metadata.widgets``. A static page has no kernel to drive the widget, so each widget
    output becomes: a short note naming the controls at their starting values, then the outputs the
    widget held (the figure). A progress bar (tqdm) becomes a static ``<progress>`` with its final
    text instead. Returns the number of widget outputs replaced. Mutates ``nb``.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        new_outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {}) if out.get("output_type") in {"display_data", "execute_result"} else {}
            if WIDGET_VIEW not in data:
                new_outputs.append(out)
                continue
            replaced += 1
            progress = progress_bar_html(data[WIDGET_VIEW].get("model_id", ""), state)
            if progress is not None:                  # a tqdm bar: its final state, not an "explorer"
                new_outputs.append({"output_type": "display_data", "metadata": {},
                                    "data": {"text/html": progress, "text/plain": "(progress bar)"}})
                continue
            inner, controls = _snapshot(data[WIDGET_VIEW].get("model_id", ""), state, set())
            if not inner and "image/png" in data:     # no stored state: the explorer's own PNG fallback
                inner = [{"output_type": "display_data", "metadata": {},
                          "data": {"image/png": data["image/png"], "text/plain": "<Figure>"}}]
            where = ("with its controls at " + ", ".join(html.escape(str(c)) for c in controls)
                     if controls else "as first shown")
            note = (f'<div class="dl-widget-snapshot">&#127899; Interactive explorer, shown here {where}. '
                    "Run the notebook to move it.</div>")
            new_outputs.append({"output_type": "display_data", "metadata": {},
                                "data": {"text/html": note, "text/plain": "(interactive explorer)"}})
            new_outputs.extend(inner)
        cell.outputs = new_outputs
    nb.metadata.pop("widgets", None)
    return replaced


# ---- executing and exporting -------------------------------------------------------------------

@contextlib.contextmanager
def kernel_environment():
    """Environment for the kernels this process starts: inline figures, fixed hash seed.

    A caller's ``MPLBACKEND=Agg`` (``make test`` sets it) would be inherited by the kernel and
    stop ``plt.show()`` / ``display(fig)`` from producing any image, so it is replaced here.
    """
    saved = {k: os.environ.get(k) for k in ("MPLBACKEND", "PYTHONHASHSEED")}
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["PYTHONHASHSEED"] = "0"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def kernel_config(runtime_dir: Path):
    """The project's Jupyter config (``jupyter-config/jupyter_config.py``: the kernel transport, IPC
    where the OS has it) with the kernel's connection file, and so its IPC sockets, in ``runtime_dir``.

    ``make course`` gets the same file through ``JUPYTER_CONFIG_PATH``; nbclient reads no config
    files, so the build loads it here and hands it to the kernel manager.
    """
    from unittest import mock

    from traitlets.config.loader import PyFileConfigLoader

    # the config checks the folder the sockets go to (its path length, its owner)
    with mock.patch.dict(os.environ, {"JUPYTER_RUNTIME_DIR": str(runtime_dir)}):
        config = PyFileConfigLoader("jupyter_config.py", path=str(ROOT / "jupyter-config")).load_config()
    config.KernelManager.connection_file = str(Path(runtime_dir) / "kernel.json")
    return config


def execute(nb, cwd: Path, timeout: int = 180) -> None:
    """Run every cell in a fresh ``python3`` kernel started in ``cwd`` (raises on the first error).

    The kernel's connection file and IPC sockets live in a temporary folder only this user can
    enter (mode 0700), removed with the kernel.
    """
    from nbconvert.preprocessors import ExecutePreprocessor

    with tempfile.TemporaryDirectory(prefix="dl-kernel-") as runtime, kernel_environment():
        ep = ExecutePreprocessor(timeout=timeout, kernel_name="python3", allow_errors=False,
                                 store_widget_state=True, config=kernel_config(Path(runtime)))
        ep.preprocess(nb, {"metadata": {"path": str(cwd)}})


def exporter():
    """nbconvert HTMLExporter using site_template/chapter (lab template without any CDN)."""
    from nbconvert import HTMLExporter

    exp = HTMLExporter(extra_template_basedirs=[str(TEMPLATE_DIR)], template_name="chapter")
    exp.embed_images = True          # markdown images become data URIs as well
    exp.exclude_input_prompt = False
    return exp


# A relative link on a page to a chapter (NN_name.ipynb) or a Markdown file, with an optional #anchor.
LOCAL_LINK = re.compile(r"""\bhref=(["'])(?![a-z][a-z0-9+.-]*:|[#/])([^"'#?]+?\.(?:ipynb|md))(#[^"']*)?\1""",
                        re.IGNORECASE)


def markdown_page(md_path: Path, css_href: str) -> str:
    """A standalone HTML page of a Markdown file (the glossary): its text, the site's CSS, no script."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    text = md_path.read_text(encoding="utf-8")
    title = next((m.group(1) for m in re.finditer(r"^#\s+(.+)$", text, re.M)), md_path.stem)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(_plain(title))}</title>'
            f'<link rel="stylesheet" href="{css_href}"></head>\n<body><main class="site-markdown">\n'
            f"{markdown2html_mistune(text)}\n</main></body></html>\n")


def rewrite_local_links(page: str, page_dir: Path, source_dir: Path, site_root: Path) -> str:
    """Point a page's links to chapters (``NN_x.ipynb`` → ``NN_x.html``, same folder) and to Markdown files
    of the repository (rendered once into ``site_root`` by :func:`markdown_page`) at what the site holds.

    ``source_dir``: the folder of the notebook the page came from (links are relative to it);
    ``page_dir``: the folder the page is written to. Links that lead nowhere are left as they are.
    """
    def replace(m: re.Match) -> str:
        quote, target, anchor = m.group(1), m.group(2), m.group(3) or ""
        if target.lower().endswith(".ipynb"):
            return f"href={quote}{target[:-len('.ipynb')]}.html{anchor}{quote}"
        md_path = (source_dir / target).resolve()
        if not md_path.is_file():
            return m.group(0)
        site_root.mkdir(parents=True, exist_ok=True)
        out = site_root / f"{md_path.stem}.html"
        if not out.exists() or out.stat().st_mtime < md_path.stat().st_mtime:
            out.write_text(markdown_page(md_path, "assets/site.css"), encoding="utf-8")
        return f"href={quote}{os.path.relpath(out, page_dir).replace(os.sep, '/')}{anchor}{quote}"

    return LOCAL_LINK.sub(replace, page)


def count_figures(page: str) -> int:
    """Inline PNG figures on a page."""
    return len(PNG_IMG.findall(page))


def cdn_references(page: str) -> list[str]:
    """``src=``/``href=`` URLs that point off-site (http, https or protocol-relative)."""
    return [m.group(1) for m in CDN_PATTERN.finditer(page)]


def copy_assets(out_dir: Path) -> None:
    """MathJax (from the jupyter-server-mathjax package) and the site CSS into ``out/assets``."""
    try:
        import jupyter_server_mathjax
    except ImportError as exc:  # pragma: no cover - environment problem
        raise SystemExit("build_site needs the `jupyter-server-mathjax` package for offline math: "
                         "`.venv/bin/pip install jupyter-server-mathjax`") from exc
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    assets = out_dir / "assets"
    dest = assets / "mathjax"
    stamp = dest / ".source"
    marker = f"jupyter-server-mathjax {getattr(jupyter_server_mathjax, '__version__', '?')} {src}"
    if not (stamp.exists() and stamp.read_text() == marker):
        shutil.rmtree(dest, ignore_errors=True)
        # Only the English localization is ever loaded; the rest is 2 MB of unused files.
        shutil.copytree(src, dest, ignore=lambda d, names: [n for n in names if Path(d).name == "localization"
                                                             and n != "en"])
        stamp.write_text(marker)
    assets.mkdir(parents=True, exist_ok=True)
    shutil.copy2(TEMPLATE_DIR / "site.css", assets / "site.css")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def render_index(chapters: list[Chapter], title: str, ui: dict | None = None, switch_href: str | None = None,
                 source_dir: str = "notebooks") -> str:
    import jinja2

    ui = ui or UI["en"]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)
    return env.get_template("index.html.j2").render(
        title=title, chapters=chapters, commit=_git_commit(), ui=ui, switch_href=switch_href,
        source_dir=source_dir,
        built=_dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))


#: The site's own words in each edition; the chapters' text comes from the chapters themselves.
UI = {
    "en": {"html_lang": "en", "title": "diffusion_lab — diffusion models from first principles",
           "lead": "Read the course without running anything: every chapter below was executed when this site "
                   "was built, so its figures are here. The sliders only move in a live notebook — run "
                   "<code>make course</code> (JupyterLab) or <code>make dashboard</code> (Voilà) for those.",
           "all_chapters": "All chapters", "figures": "figures", "figure": "figure", "executed_in": "executed in",
           "source": "source", "failed": "failed to execute", "built": "Built", "from_commit": "from commit",
           "by": "by",
           "static_note": "Static copy of <code>{source}</code>, executed when the site was built: figures show "
                          "the lesson, sliders do not move here. To play with the explorers run "
                          "<code>make course</code> (JupyterLab) or <code>make dashboard</code> (Voilà).",
           "error": "This chapter failed to execute when the site was built:",
           "switch_label": "中文版", "switch_title": "阅读中文版"},
    "zh": {"html_lang": "zh-CN", "title": "diffusion_lab — 从第一性原理学扩散模型",
           "lead": "无需运行任何代码即可阅读本课程：下列各章都在生成本网站时执行过，图都在页面里。滑块只有在"
                   "交互式笔记本中才能拖动——请运行 <code>make course LANG=zh</code>（JupyterLab）或 "
                   "<code>make dashboard LANG=zh</code>（Voilà）。",
           "all_chapters": "全部章节", "figures": "幅图", "figure": "幅图", "executed_in": "执行用时",
           "source": "源文件", "failed": "执行失败", "built": "生成于", "from_commit": "提交",
           "by": "生成工具",
           "static_note": "这是 <code>{source}</code> 的静态副本，在生成网站时执行：图展示了本课内容，但滑块在此"
                          "不能拖动。想动手操作交互图，请运行 <code>make course LANG=zh</code>（JupyterLab）或 "
                          "<code>make dashboard LANG=zh</code>（Voilà）。",
           "error": "生成网站时本章执行失败：",
           "switch_label": "English", "switch_title": "Read the English edition"},
}
#: Where each edition's chapters live (as the pages name their source).
EDITIONS = {"en": "notebooks", "zh": "notebooks/zh"}


def build_site(notebooks_dir: Path = ROOT / "notebooks", out_dir: Path = ROOT / "build" / "site",
               only: list[str] | None = None, run: bool = True, timeout: int = 180,
               title: str | None = None, log=print, lang: str = "en") -> list[Chapter]:
    """Execute and export every chapter of one edition; write its index, assets and report.json.

    ``lang="zh"`` builds the Chinese edition: ``out_dir`` is then the site's ``zh/`` folder, sharing the
    root's assets (``../assets``); every page links to the same page of the other edition.
    """
    import nbformat

    ui = UI[lang]
    title = title or ui["title"]
    notebooks_dir, out_dir = Path(notebooks_dir).resolve(), Path(out_dir).resolve()
    paths = find_chapters(notebooks_dir, only)
    if not paths:
        raise SystemExit(f"no chapters matching {CHAPTER_GLOB!r} in {notebooks_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    up = "../" if lang != "en" else ""
    switch_prefix = "../" if lang != "en" else "zh/"      # en → zh/NAME.html, zh → ../NAME.html
    other_dir = notebooks_dir.parent if lang != "en" else notebooks_dir / "zh"
    copy_assets(out_dir.parent if lang != "en" else out_dir)
    exp = exporter()
    chapters: list[Chapter] = []
    notebooks = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        chapters.append(Chapter(source=path.name, stem=path.stem, href=f"{path.stem}.html",
                                title=chapter_title(nb) or path.stem, description=chapter_description(nb)))
        notebooks.append(nb)
    for i, (path, nb, ch) in enumerate(zip(paths, notebooks, chapters)):
        start = time.perf_counter()
        if run:
            try:
                execute(nb, cwd=path.parent, timeout=timeout)
                ch.executed = True
            except Exception as exc:  # CellExecutionError, timeouts, dead kernels: report, keep going
                ch.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
            ch.seconds = time.perf_counter() - start
        ch.widgets_flattened = flatten_widgets(nb)
        site = {"source": f"{EDITIONS[lang]}/{path.name}", "error": ch.error, "ui": ui, "lang": lang,
                "css_href": f"{up}assets/site.css", "mathjax_src": f"{up}assets/mathjax/MathJax.js",
                "switch": {"href": f"{switch_prefix}{ch.href}", "label": ui["switch_label"],
                           "title": ui["switch_title"]} if (other_dir / path.name).exists() else None,
                "prev": {"href": chapters[i - 1].href, "label": chapters[i - 1].title} if i > 0 else None,
                "next": {"href": chapters[i + 1].href, "label": chapters[i + 1].title}
                if i + 1 < len(chapters) else None}
        page, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": ch.title}, "site": site})
        page = rewrite_local_links(page, out_dir, path.parent, out_dir.parent if lang != "en" else out_dir)
        refs = cdn_references(page)
        if refs:
            raise RuntimeError(f"{path.name}: the page would load from the network: {refs[:3]}")
        (out_dir / ch.href).write_text(page, encoding="utf-8")
        ch.figures = count_figures(page)
        status = "FAILED: " + ch.error if ch.error else "ok"
        log(f"  {path.name:32s} {ch.seconds:6.1f} s  {ch.figures:3d} figures  "
            f"{ch.widgets_flattened:2d} widgets  {status}")
    has_other = any((other_dir / p.name).exists() for p in paths)
    index = render_index(chapters, title, ui, f"{switch_prefix}index.html" if has_other else None,
                         source_dir=EDITIONS[lang])
    (out_dir / "index.html").write_text(index, encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps([asdict(c) for c in chapters], indent=1), encoding="utf-8")
    return chapters


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="folder of NN_*.ipynb chapters")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="output folder (default build/site)")
    ap.add_argument("--only", nargs="*", help="chapter numbers or names to build, e.g. 01 03_noise_schedules")
    ap.add_argument("--no-execute", dest="run", action="store_false", help="export as stored, without running")
    ap.add_argument("--timeout", type=int, default=180, help="seconds allowed per cell (default 180)")
    ap.add_argument("--lang", choices=["both", "en"], default="both",
                    help="both: the English site and the Chinese edition (notebooks/zh) under zh/ (default)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    print(f"build_site: {args.notebooks} -> {args.out}")
    chapters = build_site(args.notebooks, args.out, only=args.only, run=args.run, timeout=args.timeout)
    zh_dir = args.notebooks / "zh"
    if args.lang == "both" and zh_dir.is_dir() and find_chapters(zh_dir, args.only):
        print(f"build_site: {zh_dir} -> {args.out / 'zh'} (中文版)")
        chapters += build_site(zh_dir, args.out / "zh", only=args.only, run=args.run, timeout=args.timeout,
                               lang="zh")
    failed = [c.source for c in chapters if c.error]
    total = time.perf_counter() - start
    print(f"build_site: {len(chapters)} chapters, {sum(c.figures for c in chapters)} figures in {total:.1f} s; "
          f"open {args.out / 'index.html'}")
    if failed:
        print(f"build_site: FAILED to execute: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
