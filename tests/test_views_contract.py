"""The view contract (diffusion_lab.views.View; docs/architecture.md, "Views and widgets"), checked for
every view class of the course, headless:

* update(**params) changes only what it is given (None or absent keeps the value), and ``state`` is the
  one place the parameters live;
* an out-of-range value raises ValueError naming the allowed values, before anything changes, in every
  view the same way;
* a view that blits names dynamic artists exactly when it declares DYNAMIC_PARAMS.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import torch

import diffusion_lab as dl
import diffusion_lab.views as views_pkg
from diffusion_lab.plotting import figure_png
from diffusion_lab.views import Interval, View

pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py

SHORT = dl.make_schedule("linear", 60, beta_start=1e-3, beta_end=0.2, warn=False)
RING = dl.make_distribution("ring")


def _trace():
    return dl.record(dl.ddpm_steps(RING.eps_model(SHORT), SHORT, (30, 2), generator=dl.make_generator(1)))


def _x_T():
    return torch.randn((30, 2), generator=dl.make_generator(3))


#: A small instance of every view class, by class name; each factory gets the class's module. A new view
#: class gets a line here (test_every_view_class_has_a_factory says which one is missing).
FACTORIES = {
    "Forward1DView": lambda m: m.Forward1DView(SHORT, n_traj=40, n_show=5),
    "Scatter2DView": lambda m: m.Scatter2DView(n=40),
    "SchedulesView": lambda m: m.SchedulesView(n_points=30),
    "EpsFieldView": lambda m: m.EpsFieldView(RING.eps_model(SHORT), SHORT, RING, grid_n=5, n_points=30, t=10),
    "DenoiseView": lambda m: m.DenoiseView(lambda x, t: torch.zeros_like(x), SHORT, torch.zeros(2, 1, 4, 4), t=10),
    "SamplingView": lambda m: m.SamplingView(_trace(), data=RING.sample(30, generator=dl.make_generator(2))),
    "DDIMView": lambda m: m.DDIMView(RING.eps_model(SHORT), SHORT, RING, _x_T(), RING.sample(30), step_choices=(2, 5)),
    "ScoreFieldView": lambda m: m.ScoreFieldView(RING, SHORT, arrows_n=5, image_n=20, t=10),
    "SamplerPathsView": lambda m: m.SamplerPathsView(RING.eps_model(SHORT), SHORT, RING, _x_T(), RING.sample(30),
                                                     n_paths=4, nfe=5),
    "GuidedField2DView": lambda m: m.GuidedField2DView(m.labelled_ring(), SHORT, n=30, ws=(0.0, 1.0, 3.0),
                                                       t_choices=(5, 20), grid_n=5, num_steps=3),
    "GuidanceGridView": lambda m: m.GuidanceGridView({0.0: torch.zeros(2, 3, 1, 4, 4), 2.0: torch.ones(2, 3, 1, 4, 4)},
                                                     classes=(0, 1)),
}


def _view_classes() -> dict:
    """{class name: (module, class)} for every View subclass defined in a module of diffusion_lab.views."""
    found = {}
    for info in pkgutil.iter_modules(views_pkg.__path__):
        module = importlib.import_module(f"diffusion_lab.views.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, View) and obj.__module__ == module.__name__:
                found[obj.__name__] = (module, obj)
    return found


CLASSES = _view_classes()


def test_every_view_class_has_a_factory():
    missing = sorted(set(CLASSES) - set(FACTORIES))
    assert not missing, f"add a small instance of {missing} to FACTORIES in tests/test_views_contract.py"
    assert {"Forward1DView", "Scatter2DView", "SchedulesView", "EpsFieldView", "DenoiseView", "SamplingView",
            "DDIMView"} <= set(CLASSES)


@pytest.fixture(scope="module", params=sorted(CLASSES))
def view(request):
    module, _ = CLASSES[request.param]
    return FACTORIES[request.param](module)


def _other_value(allowed, current):
    """A valid value different from ``current``."""
    if isinstance(allowed, range):
        return allowed.start if current != allowed.start else allowed.start + 1
    if isinstance(allowed, Interval):
        return allowed.lo if current != allowed.lo else allowed.hi
    return next(choice for choice in allowed if choice != current)


def _bad_values(allowed):
    """Values just outside what is allowed, with the text the error must show."""
    if isinstance(allowed, range):
        span = f"it runs {allowed.start}..{allowed.stop - 1}"
        return [(allowed.stop, span), (allowed.start - 1, span)]
    if isinstance(allowed, Interval):
        span = f"from {allowed.lo:g} to {allowed.hi:g}"
        return [(allowed.hi + 0.5, span), (allowed.lo - 0.5, span)]
    if all(isinstance(choice, str) for choice in allowed):
        return [("no such name", "Known")]
    return [(max(allowed) + 1, "not one of the allowed values")]


def test_state_holds_exactly_the_parameters_update_takes(view):
    params = inspect.signature(type(view).update).parameters
    names = [n for n in params if n != "self"]
    assert set(view.state) == set(names)
    assert all(params[n].default is None for n in names)          # None (or absent) keeps the value
    assert set(view.DYNAMIC_PARAMS) <= set(view.state)
    assert bool(view.dynamic_artists()) == bool(view.DYNAMIC_PARAMS)


def test_update_without_arguments_changes_nothing(view):
    state, picture = dict(view.state), figure_png(view.fig)
    view.update()
    assert view.state == state and figure_png(view.fig) == picture


def test_update_changes_only_what_it_is_given(view):
    for name in list(view.state):
        before = dict(view.state)
        value = _other_value(view.allowed(name, before), before[name])
        view.update(**{name: value})
        assert view.state == {**before, name: value}, name
        view.update(**{name: before[name]})
        assert view.state == before


def test_out_of_range_is_a_clear_error_and_changes_nothing(view):
    for name in list(view.state):
        for bad, text in _bad_values(view.allowed(name, view.state)):
            state, picture = dict(view.state), figure_png(view.fig)
            with pytest.raises(ValueError, match=text) as err:
                view.update(**{name: bad})
            assert name in str(err.value)
            assert view.state == state and figure_png(view.fig) == picture, name


def test_a_number_where_a_whole_number_belongs_is_a_type_error(view):
    ints = [n for n in view.state if isinstance(view.allowed(n, view.state), range)]
    for name in ints:
        with pytest.raises(TypeError, match="whole number"):
            view.update(**{name: 1.5})
        whole = float(view.state[name])
        view.update(**{name: whole})                               # 3.0 is accepted as 3
        assert isinstance(view.state[name], int)


def test_unknown_parameters_are_rejected(view):
    state = dict(view.state)
    with pytest.raises(TypeError):
        view.update(no_such_parameter=1)
    assert view.state == state
