"""The course's two languages: English (the default) and Chinese (中文).

A chapter chooses its language once, in its first code cell::

    dl.set_language("zh")        # the Chinese edition (notebooks/zh/); "en" is the default

From then on the package's own words come in that language: the claim checks' sentences
(``claims``), exercise feedback (``check``, ``hint``, ``solution``), warnings, widget labels and the
figure text drawn by the views. Text the chapter writes itself (its Markdown, comments, strings in
its code cells) is translated in the chapter file: see docs/translating.md.

Messages are keyed by their English text, as gettext does: ``tr("spread of x_t: {value}", value=0.3)``
looks the English template up in the catalog of the chosen language (``locale/zh.py``) and fills in
the fields. A template missing from the catalog falls back to English (tests/test_i18n.py fails on
any template the catalog lacks, so this never happens in a shipped edition).

Figures need a font with Chinese characters. ``set_language("zh")`` looks for one (Noto Sans CJK,
Source Han Sans, WenQuanYi, the Windows and macOS system fonts); where none is installed it prints one
line saying how to install one and keeps figure text in English, so a figure never shows boxes in
place of characters: ``tr_fig`` then returns English, and Chinese strings a chapter passes to
matplotlib are mapped back to the English chapter's strings (``locale/zh_code_strings.json``).
"""
from __future__ import annotations

import ast
import json
import re
import string
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "zh")
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}

#: Fonts with Chinese glyphs that matplotlib can use, in order of preference. Noto Sans CJK SC is
#: what Debian's ``fonts-noto-cjk`` and conda-forge's ``font-ttf-noto-cjk`` install.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
             "Heiti SC", "Hiragino Sans GB", "Noto Sans CJK JP", "Noto Sans CJK TC")

#: What a student without a Chinese font reads once (in both languages, as figures stay English).
NO_FONT_NOTICE = ("没有找到中文字体，图中文字暂用英文 (no Chinese font found: figure labels stay in English). "
                  "安装方法 / to install one: Debian/Ubuntu `sudo apt install fonts-noto-cjk`, "
                  "conda `conda install -c conda-forge font-ttf-noto-cjk`, then run the chapter again.")

_LOCALE_DIR = Path(__file__).parent / "locale"
_CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")

_state = {"language": "en", "figures": "en", "font": None}


def has_chinese(text: str) -> bool:
    """True when ``text`` contains a Chinese character (or full-width punctuation)."""
    return bool(_CJK.search(text))


def check_language(lang: str) -> str:
    """``lang`` if it is one of ``LANGUAGES``, else a ValueError naming them."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of the course's languages: use one of "
                         f"{', '.join(repr(x) for x in LANGUAGES)} (e.g. dl.set_language('zh')).")
    return lang


def language() -> str:
    """The language the package speaks now: "en" or "zh"."""
    return _state["language"]


def figure_language() -> str:
    """The language of figure text: the chosen language, or "en" where no Chinese font was found."""
    return _state["figures"]


def set_language(lang: str, *, font: str | None | bool = True) -> None:
    """Choose the language of the package's messages, widgets and figures for this notebook.

    ``font`` is for tests: ``True`` (default) looks for a Chinese font, ``None`` pretends none is
    installed, a family name uses that font.
    """
    check_language(lang)
    from . import plotting                          # plotting imports nothing from here at load time

    _state["language"] = lang
    if lang == "en":
        _state["figures"], _state["font"] = "en", None
        plotting.use_font(None)
        _english_figure_text(False)
        return
    family = find_cjk_font() if font is True else (font or None)
    _state["font"] = family
    if family is None:
        _state["figures"] = "en"
        plotting.use_font(None)
        _english_figure_text(True)
        print(NO_FONT_NOTICE)
    else:
        _state["figures"] = lang
        plotting.use_font(family)
        _english_figure_text(False)


#: File names of Chinese fonts, for a font installed after matplotlib cached its list of fonts.
_CJK_FILE = re.compile(r"(NotoSans(Mono)?CJK|NotoSansSC|SourceHanSans|wqy|msyh|simhei|PingFang|STHeiti"
                       r"|Hiragino Sans GB)", re.I)


def find_cjk_font() -> str | None:
    """The first of ``CJK_FONTS`` that matplotlib knows, or None.

    matplotlib caches its font list the first time it runs, so a font installed afterwards (as the notice
    suggests) is unknown to it; the system's font folders are then searched once for a Chinese font file,
    which is added."""
    from matplotlib import font_manager

    def first_known():
        known = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in known), None)

    found = first_known()
    if found is None:
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(Path(path).name):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = first_known()
    return found


# ---- the message catalog ---------------------------------------------------------------------

@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """English template → template in ``lang`` (empty for English)."""
    check_language(lang)
    if lang == "en":
        return {}
    from .locale import zh

    return zh.MESSAGES


def template_fields(template: str) -> set[str]:
    """The names of the ``{fields}`` in a format template ("{x:.3f} at {t}" → {"x", "t"})."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _translate(message: str, lang: str, fields: dict) -> str:
    text = catalog(lang).get(message, message) if lang != "en" else message
    return text.format(**fields) if fields else text


def tr(message: str, **fields) -> str:
    """``message`` (an English template) in the chosen language, with ``fields`` filled in."""
    return _translate(message, _state["language"], fields)


def tr_fig(message: str, **fields) -> str:
    """Like ``tr`` for text drawn in a figure: English where no Chinese font is installed."""
    return _translate(message, _state["figures"], fields)


class Message(str):
    """English text filled in now that is translated by its template when shown.

    ``Message("{k} is one step early", k=259)`` is the str ``"259 is one step early"`` (tests and English
    output see plain text); :func:`localized` gives it in the chosen language, looking the template up
    in the catalog. For texts fixed when a module is imported that quote a computed number or colour
    (an exercise's mistake hint, a view's HTML key).
    """

    template: str
    fields: dict

    def __new__(cls, template: str, **fields):
        self = super().__new__(cls, template.format(**fields) if fields else template)
        self.template, self.fields = template, fields
        return self


def localized(text: str) -> str:
    """``text`` (English: a :class:`Message`, or a static text looked up as it is) in the chosen language."""
    if isinstance(text, Message):
        return tr(text.template, **text.fields)
    return tr(text)


# ---- Chinese strings of a chapter's code, mapped back to English for a font-less machine -----

CODE_STRINGS_FILE = _LOCALE_DIR / "zh_code_strings.json"


@lru_cache(maxsize=1)
def _code_string_table() -> tuple[dict[str, str], list[tuple[re.Pattern, str]]]:
    """Exact Chinese strings → English, and (pattern, English template) for f-strings."""
    if not CODE_STRINGS_FILE.exists():
        return {}, []
    pairs = json.loads(CODE_STRINGS_FILE.read_text(encoding="utf-8"))["pairs"]
    exact, patterns = {}, []
    for zh, en in pairs:
        if isinstance(zh, str):
            exact[zh] = en
        else:
            patterns.append(_fstring_pattern(zh, en))
    return exact, patterns


def _fstring_pattern(zh_parts: list, en_parts: list) -> tuple[re.Pattern, str]:
    """An f-string's Chinese parts as a regex whose groups are its fields; the English as a template
    that refers to the same groups (fields are matched by their expression's text)."""
    names, regex = {}, []
    for part in zh_parts:
        if isinstance(part, str):
            regex.append(re.escape(part))
        elif part[0] in names:
            regex.append(f"(?P={names[part[0]]})")        # the same expression twice: the same text
        else:
            names[part[0]] = f"f{len(names)}"
            regex.append(f"(?P<{names[part[0]]}>.+?)")
    template = "".join(p.replace("\\", "\\\\") if isinstance(p, str)
                       else (f"\\g<{names[p[0]]}>" if p[0] in names else "…") for p in en_parts)
    return re.compile("^" + "".join(regex) + "$", re.S), template


def english_for_figure(text: str) -> str:
    """The English a Chinese figure string of a chapter stands for (font-less fallback).

    Chinese text not found in the table loses its Chinese characters rather than drawing boxes.
    """
    if not isinstance(text, str) or not has_chinese(text):
        return text
    exact, patterns = _code_string_table()
    if text in exact:
        return exact[text]
    for pattern, template in patterns:
        m = pattern.match(text)
        if m:
            return m.expand(template)
    return " ".join(_CJK.sub(" ", text).split())


_original_set_text = None


def _english_figure_text(on: bool) -> None:
    """Route matplotlib's ``Text.set_text`` through ``english_for_figure`` (on) or restore it (off)."""
    global _original_set_text
    from matplotlib.text import Text

    if on and _original_set_text is None:
        _original_set_text = Text.set_text

        def set_text(self, s):
            return _original_set_text(self, english_for_figure(s) if isinstance(s, str) else s)

        Text.set_text = set_text
    elif not on and _original_set_text is not None:
        Text.set_text = _original_set_text
        _original_set_text = None


# ---- reading code the way the editions are compared -----------------------------------------

def code_strings(source: str) -> list:
    """The string literals of a code cell in order: plain strings as str, f-strings as a list of parts
    (str, or [expression text] for a field). Used to pair a Chinese chapter's strings with English."""
    tree = ast.parse(_without_magics(source))
    in_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)
                   for v in ast.walk(n) if v is not n and isinstance(v, ast.Constant)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append([v.value if isinstance(v, ast.Constant) else [ast.unparse(v.value)] for v in node.values])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings:
            out.append(node.value)
    return out


def _without_magics(source: str) -> str:
    """A code cell with IPython magics/shell lines commented out, so ``ast`` can parse it."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def code_skeleton(source: str) -> str:
    """A code cell with every string literal emptied, comments and ``set_language`` calls dropped:
    two editions' cells hold the same code exactly when their skeletons are equal."""
    tree = ast.parse(_without_magics(source))

    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node):
            return ast.Constant("") if isinstance(node.value, str) else node

        def visit_JoinedStr(self, node):
            # a translation may reorder an f-string's fields: compare the fields, not their order
            fields = [v for v in node.values if isinstance(v, ast.FormattedValue)]
            return ast.JoinedStr(sorted(fields, key=lambda v: ast.dump(v.value)))

        def visit_Expr(self, node):
            call = node.value
            if (isinstance(call, ast.Call) and isinstance(call.func, (ast.Attribute, ast.Name))
                    and getattr(call.func, "attr", getattr(call.func, "id", "")) == "set_language"):
                return None
            return self.generic_visit(node)

    return ast.dump(Blank().visit(tree), include_attributes=False)
