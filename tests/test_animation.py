"""diffusion_lab.animation and scripts/make_animations.py, on a tiny dummy view (fast, headless)."""
from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusion_lab import animation
from diffusion_lab.plotting import new_figure
from diffusion_lab.views import View

ROOT = Path(__file__).resolve().parents[1]


class DummyView(View):
    """A bar whose height is ``k``: every frame of a sweep over k looks different."""

    def __init__(self):
        self.fig, self.ax = new_figure(figsize=(2, 1.5))
        self.ax.set_ylim(0, 5)
        self.ax.set_xlim(-0.5, 0.5)
        (self.bar,) = self.ax.bar([0], [0], width=0.8)
        self.calls = []

    def update(self, k=0):
        self.calls.append(k)
        self.bar.set_height(k)
        self.redraw()


SWEEP = [{"k": 1}, {"k": 2}, {"k": 3}, {"k": 4}]


def _gif_frames(path):
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")).copy())
    return frames


def test_gif_has_one_distinct_frame_per_sweep_entry(tmp_path):
    view = DummyView()
    path = animation.save_gif(view, SWEEP, tmp_path / "sub" / "dummy.gif", fps=5, dpi=50)
    frames = _gif_frames(path)
    assert len(frames) == len(SWEEP)
    assert frames[0].shape == (75, 100, 3)          # 2 x 1.5 inches at 50 dpi
    # the bar grows frame after frame: more "bar coloured" (non-white) pixels each time
    ink = [int((f.sum(axis=2) < 600).sum()) for f in frames]
    assert ink == sorted(ink) and len(set(ink)) == len(SWEEP), ink
    assert set(view.calls) == {1, 2, 3, 4}


def test_label_shows_the_frame_parameters(tmp_path):
    view = DummyView()
    animation.save_gif(view, SWEEP[:2], tmp_path / "a.gif", dpi=40)
    texts = [t.get_text() for t in view.fig.texts]
    assert texts == ["k = 2"]                            # the last frame drawn
    unlabeled = DummyView()
    animation.save_gif(unlabeled, SWEEP[:2], tmp_path / "b.gif", dpi=40, label=False)
    assert unlabeled.fig.texts == []


def test_html_player_is_self_contained_with_every_frame(tmp_path):
    path = animation.save_html(DummyView(), SWEEP, tmp_path / "dummy.html", fps=5, dpi=40, title="dummy <view>")
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "dummy &lt;view&gt;" in page
    frames = re.findall(r'frames\[(\d+)\] = "data:image/png;base64,', page)
    assert sorted(map(int, frames)) == list(range(len(SWEEP)))
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the player must not load anything remote"


def test_save_animation_writes_both_formats_with_fresh_views(tmp_path):
    made = []

    def factory():
        made.append(DummyView())
        return made[-1]

    out = animation.save_animation(factory, SWEEP, tmp_path, "dummy", dpi=40)
    assert set(out) == {"gif", "html"} and all(p.is_file() for p in out.values())
    assert len(made) == 2
    with pytest.raises(ValueError, match="unknown animation format"):
        animation.save_animation(factory, SWEEP, tmp_path, "dummy", formats=("mp4",))


@pytest.mark.parametrize("sweep, error, match", [
    ([], ValueError, "sweep is empty"),
    ("t", TypeError, "list of parameter dicts"),
    ([{"k": 1}, 2], TypeError, r"sweep\[1\] is int"),
])
def test_bad_sweeps_say_what_to_give(sweep, error, match):
    with pytest.raises(error, match=match):
        animation.animate(DummyView(), sweep)


def test_animate_rejects_a_non_view():
    with pytest.raises(TypeError, match="needs a view"):
        animation.animate(object(), SWEEP)


def test_module_sweep_prefers_animation_sweep():
    mod = types.SimpleNamespace(DEMO_SWEEP=[{"k": 1}], ANIMATION_SWEEP=[{"k": 2}, {"k": 3}])
    assert animation.module_sweep(mod) == [{"k": 2}, {"k": 3}]
    assert animation.module_sweep(types.SimpleNamespace(DEMO_SWEEP=[{"k": 1}])) == [{"k": 1}]


def test_find_view_modules_lists_modules_with_demo_view_and_sweep():
    found = animation.find_view_modules()
    for module in found:
        assert callable(module.demo_view) and module.DEMO_SWEEP
    names = [m.__name__ for m in found]
    assert names == sorted(names)


def _load_script():
    spec = importlib.util.spec_from_file_location("make_animations", ROOT / "scripts" / "make_animations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_animations", module)
    spec.loader.exec_module(module)
    return module


def test_thin_keeps_ends_and_spacing():
    ma = _load_script()
    sweep = [{"t": t} for t in range(100)]
    thinned = ma.thin(sweep, 5)
    assert [s["t"] for s in thinned] == [0, 25, 50, 74, 99] or [s["t"] for s in thinned] == [0, 25, 50, 75, 99]
    assert ma.thin(sweep[:3], 5) == sweep[:3]


def test_script_writes_one_animation_per_view_module_and_an_index(tmp_path):
    ma = _load_script()
    mod = types.ModuleType("diffusion_lab.views.dummy")
    mod.demo_view, mod.DEMO_SWEEP = DummyView, [{"k": k % 5} for k in range(12)]
    written = ma.make_animations(tmp_path, modules=[mod], dpi=30, max_frames=4, log=lambda *a: None)
    assert set(written) == {"dummy"}
    assert len(_gif_frames(written["dummy"]["gif"])) == 4
    index = (tmp_path / "index.html").read_text()
    assert 'href="dummy.gif"' in index and 'href="dummy.html"' in index
    with pytest.raises(SystemExit, match="no view module named"):
        ma.make_animations(tmp_path, only=["nope"], modules=[mod], log=lambda *a: None)
