"""The Chinese catalog covers everything the package says (diffusion_lab/locale/zh.py).

* every template the package passes to ``tr`` / ``tr_fig`` / ``Message`` (read from the source with
  ``ast``), every mistake hint written in a ``Mistake(...)`` and every literal ``what`` an exercise gives
  ``as_float64`` and its kin has a Chinese entry with the same ``{fields}``;
* every exercise of chapters 0–7: its name, each hint, each mistake's hint and a solution written as
  text (not a reference function's source) is in the catalog;
* with ``set_language("zh")`` a wrong answer is told in Chinese, and ``set_language("en")`` brings the
  English back;
* a view built after ``set_language("zh")`` draws Chinese (where a Chinese font is installed) without
  a single "Glyph … missing" warning, and with no font (``font=None``) it draws English, never boxes.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import warnings
from pathlib import Path

import pytest

import diffusion_lab as dl
from diffusion_lab import i18n
from diffusion_lab.exercises.base import Exercise, source_of
from diffusion_lab.locale.zh import MESSAGES

PACKAGE = Path(dl.__file__).resolve().parent
CHAPTERS = [f"diffusion_lab.exercises.ch{n}" for n in range(8)]

#: call name → index of the positional argument that is an English text shown to a student
TEXT_ARGUMENT = {"tr": 0, "tr_fig": 0, "Message": 0, "Mistake": 1,
                 "as_float64": 1, "as_number": 1, "as_index": 1, "as_bool": 1}
#: keyword arguments of the exercise helpers that are shown (looked up in the catalog when shown)
TEXT_KEYWORDS = {"what", "otherwise", "prefix", "shape_fix", "hint"}
#: a ``what`` that is a bare name or expression (``x_t``, ``first_t_near_origin``) stays as it is
CODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.()\[\]]*$")


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the package speaking English, whatever it did or however it failed."""
    yield
    dl.set_language("en")


def source_texts() -> list[tuple[str, int, str]]:
    """(file, line, text) for each literal text the package source hands to the catalog."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "locale" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            candidates = []
            if name in TEXT_ARGUMENT and len(node.args) > TEXT_ARGUMENT[name]:
                arg = node.args[TEXT_ARGUMENT[name]]
                branches = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]   # tr("a" if c else "b")
                candidates += [(name, branch) for branch in branches]
            if name in TEXT_ARGUMENT or name in ("check_close", "diagnose"):
                candidates += [(kw.arg, kw.value) for kw in node.keywords if kw.arg in TEXT_KEYWORDS]
            for role, arg in candidates:
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)) or not arg.value:
                    continue
                if role not in ("tr", "tr_fig", "Message", "Mistake", "hint") and CODE_NAME.match(arg.value):
                    continue
                found.append((str(path.relative_to(PACKAGE.parent)), node.lineno, arg.value))
    return found


SOURCE_TEXTS = source_texts()


def test_the_source_scan_finds_the_package_texts():
    """The scan sees the exercises, the views and the warnings (a broken scan would pass vacuously)."""
    files = {f for f, _, _ in SOURCE_TEXTS}
    assert len(SOURCE_TEXTS) > 300
    for expected in ("diffusion_lab/exercises/base.py", "diffusion_lab/exercises/ch4.py",
                     "diffusion_lab/views/forward_1d.py", "diffusion_lab/schedules.py"):
        assert expected in files, expected


@pytest.mark.parametrize("where, line, text", SOURCE_TEXTS, ids=[f"{f}:{n}" for f, n, _ in SOURCE_TEXTS])
def test_every_package_text_has_chinese_with_the_same_fields(where, line, text):
    assert text in MESSAGES, f"{where}:{line}: no Chinese in diffusion_lab/locale/zh.py for {text!r}"
    zh = MESSAGES[text]
    assert i18n.has_chinese(zh) or not re.search(r"[A-Za-z]{3}", zh.replace("{", " ").replace("}", " ")), \
        f"{where}:{line}: the Chinese entry is still English: {zh!r}"
    assert i18n.template_fields(zh) == i18n.template_fields(text), f"{where}:{line}: fields differ: {zh!r}"


def test_catalog_entries_keep_their_fields():
    """No entry, used or not, gains or loses a field (a format() would raise KeyError for a student)."""
    bad = [en for en, zh in MESSAGES.items() if _fields(en) != _fields(zh)]
    assert not bad, bad


def _fields(text: str):
    try:
        return i18n.template_fields(text)
    except ValueError:                 # a static text with literal braces (a dict in a hint): compared as text
        return text.count("{"), text.count("}")


# ---- the exercises ------------------------------------------------------------------------------------
def exercise_texts() -> list[tuple[str, str, str]]:
    """(exercise, role, English text) for every shown text of every exercise of chapters 0–7."""
    out = []
    for module_name in CHAPTERS:
        module = importlib.import_module(module_name)
        for qname, q in vars(module).items():
            if not isinstance(q, Exercise):
                continue
            label = f"{module_name.rsplit('.', 1)[1]}.{qname}"
            out.append((label, "name", q.name))
            out += [(label, f"hint {k}", h) for k, h in enumerate(q.hints, 1)]
            out += [(label, f"mistake {k}", getattr(m.hint, "template", m.hint)) for k, m in enumerate(q.mistakes)]
            written_out = not (callable(q.reference) and q._solution == source_of(q.reference))
            if written_out:
                out.append((label, "solution", q._solution))
    return out


EXERCISE_TEXTS = exercise_texts()


@pytest.mark.parametrize("label, role, text", EXERCISE_TEXTS, ids=[f"{q}-{r}" for q, r, _ in EXERCISE_TEXTS])
def test_every_exercise_text_has_chinese(label, role, text):
    assert text in MESSAGES, f"{label} {role}: no Chinese in diffusion_lab/locale/zh.py for {text!r}"
    assert _fields(MESSAGES[text]) == _fields(text)


def test_every_chapter_has_its_exercises_covered():
    assert {label.split(".")[0] for label, _, _ in EXERCISE_TEXTS} == {f"ch{n}" for n in range(8)}


def test_wrong_answers_are_told_in_chinese_and_english_comes_back(capsys):
    from diffusion_lab.exercises import ch0, ch2, ch3

    dl.set_language("zh")
    capsys.readouterr()
    verdicts = [ch0.q1.result(ch0.T_CROSS - 1), ch0.q1.result(3.0), ch2.q1.result(lambda mu, S, a: (mu, S)),
                ch3.q4.result(0.5), ch3.q4.result(None)]
    for res in verdicts:
        assert not res.passed and i18n.has_chinese(res.message), res.message
    assert verdicts[0].message.startswith("练习 0.1") and "259" in verdicts[0].message
    ch0.q1.check(5)
    ch0.q1.hint(2)
    out = capsys.readouterr().out
    assert "还不太对" in out and "提示 2/3" in out
    assert i18n.has_chinese(ch0.q1.result(ch0.T_CROSS).message)          # the tick too

    dl.set_language("en")
    english = ch0.q1.result(ch0.T_CROSS - 1).message
    assert not i18n.has_chinese(english)
    assert english.startswith("Exercise 0.1 — where the noise overtakes the signal: not quite. 259 is one step early")


def test_the_schedule_warning_speaks_the_chosen_language():
    dl.set_language("zh")
    with pytest.warns(dl.schedules.ScheduleWarning) as caught:
        dl.make_schedule("linear", 200)
    assert i18n.has_chinese(str(caught[0].message)) and "ᾱ_T = 0.132" in str(caught[0].message)
    dl.set_language("en")
    with pytest.warns(dl.schedules.ScheduleWarning, match="linear schedule with T = 200 leaves"):
        dl.make_schedule("linear", 200)


def test_view_keys_are_shown_in_chinese():
    """Every view's HTML key (a ``*LEGEND_HTML`` of a views module, shown by the explorer) has Chinese."""
    import pkgutil

    import diffusion_lab.views as views

    keys = {}
    for info in pkgutil.iter_modules(views.__path__):
        module = importlib.import_module(f"diffusion_lab.views.{info.name}")
        keys.update({f"{info.name}.{name}": value for name, value in vars(module).items()
                     if name.endswith("LEGEND_HTML") and isinstance(value, str)})
    assert len(keys) >= 5, keys
    dl.set_language("zh")
    for name, key in keys.items():
        shown = i18n.localized(key)
        assert i18n.has_chinese(shown), name
        for colour in re.findall(r"#[0-9A-Fa-f]{3,6}", key):
            assert colour in shown, name                             # the same colours as the English key


# ---- figures ------------------------------------------------------------------------------------------
def _small_views():
    """A small instance of every view class, built by the factories of tests/test_views_contract.py."""
    spec = importlib.util.spec_from_file_location("views_contract", Path(__file__).with_name("test_views_contract.py"))
    contract = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(contract)
    classes = contract._view_classes()
    for name, factory in contract.FACTORIES.items():
        yield factory(classes[name][0])


def _figure_texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


@pytest.mark.skipif(i18n.find_cjk_font() is None, reason="no Chinese font installed (fonts-noto-cjk)")
def test_views_draw_chinese_without_missing_glyphs():
    import matplotlib.pyplot as plt

    from diffusion_lab.plotting import figure_png

    dl.set_language("zh")
    for view in _small_views():
        texts = _figure_texts(view.fig)
        assert any(i18n.has_chinese(t) for t in texts), (type(view).__name__, texts)          # its words in Chinese
        with warnings.catch_warnings():
            warnings.simplefilter("error")                # "Glyph … missing from font" would fail here
            figure_png(view.fig)
        plt.close(view.fig)


@pytest.mark.skipif(i18n.find_cjk_font() is None, reason="no Chinese font installed (fonts-noto-cjk)")
def test_static_figures_draw_chinese_without_missing_glyphs():
    """The chapters' static figure helpers (mathtext labels included) in Chinese, no glyph missing."""
    import matplotlib.pyplot as plt

    from diffusion_lab.plotting import figure_png
    from diffusion_lab.views import forward_1d, guidance_explorer, schedule_comparison

    dl.set_language("zh")
    schedules = schedule_comparison.make_schedules(T=100)
    fig, axes = plt.subplots(1, 4, figsize=(12, 3))
    for ax, quantity in zip(axes, schedule_comparison.QUANTITIES):
        schedule_comparison.plot_overlay(schedules, quantity, ax, mark_half=True)
    forward_1d.draw_band(axes[3], schedules["linear"], data=5.0)
    axes[3].legend()
    numbers = {w: {"precision": 0.9, "spread": 1.0 + w / 10} for w in (1.0, 2.0)}
    curves = {"w": [1, 2], "accuracy": [0.5, 0.6], "confidence": [0.5, 0.7], "diversity": [1.0, 0.9],
              "fid": [3.0, 2.0], "fid_real": 1.0}
    figures = [fig, guidance_explorer.plot_precision_spread(numbers), guidance_explorer.plot_guidance_curves(curves)]
    for figure in figures:
        texts = _figure_texts(figure)
        assert any(i18n.has_chinese(t) for t in texts), texts
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            figure_png(figure)
        plt.close(figure)


def test_views_draw_english_when_no_chinese_font(capsys):
    import matplotlib.pyplot as plt

    from diffusion_lab.plotting import figure_png

    dl.set_language("zh", font=None)
    assert "fonts-noto-cjk" in capsys.readouterr().out              # the one-line notice
    for view in _small_views():
        texts = _figure_texts(view.fig)
        assert texts and not any(i18n.has_chinese(t) for t in texts), (type(view).__name__, texts)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            figure_png(view.fig)
        plt.close(view.fig)
