"""Chapter 4 exercises: the references pass, typical mistakes get the RIGHT hint, blanks are 'not attempted'."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import diffusion_lab as dl
from diffusion_lab.exercises import ch4
from diffusion_lab.exercises.base import CORRECT, INCORRECT, NOT_ATTEMPTED


def status(q, answer):
    res = q.result(answer)
    return res.status, res.message


def blank_function(*args, **kwargs):
    # YOUR CODE HERE
    ...


# ---- the references agree with the package ------------------------------------------------------------
def test_reference_noisy_sample_is_q_sample():
    sch = dl.make_schedule("linear", 1000)
    x0 = torch.randn(5, 1, 4, 4, generator=dl.make_generator(0))
    eps = torch.randn(x0.shape, generator=dl.make_generator(1))
    t = torch.tensor([0, 1, 200, 700, 999])
    torch.testing.assert_close(ch4.reference_noisy_sample(x0, t, eps, sch), dl.q_sample(sch, x0, t, noise=eps))
    torch.testing.assert_close(ch4.reference_noisy_sample(x0, 300, eps, sch), dl.q_sample(sch, x0, 300, noise=eps))


def test_buggy_template_differs_from_the_closed_form():
    sch = dl.make_schedule("linear", 1000)
    x0 = torch.ones(2, 2)
    eps = torch.zeros(2, 2)
    abar = float(sch.alphas_cumprod[500])
    assert float(ch4.buggy_noisy_sample(x0, 500, eps, sch)[0, 0]) == pytest.approx(abar, rel=1e-6)
    assert float(ch4.reference_noisy_sample(x0, 500, eps, sch)[0, 0]) == pytest.approx(abar ** 0.5, rel=1e-6)
    assert "alphas_cumprod" in ch4.BUGGY_TEMPLATE and "def buggy_noisy_sample" in ch4.BUGGY_TEMPLATE


def test_reference_simple_loss_matches_the_training_loop_formula():
    sch = dl.make_schedule("linear", 1000)
    model = lambda x, t: 0.5 * x  # noqa: E731
    x0 = torch.randn(32, 2, generator=dl.make_generator(2))
    t = torch.randint(0, 1000, (32,), generator=dl.make_generator(3))
    eps = torch.randn(x0.shape, generator=dl.make_generator(4))
    expected = F.mse_loss(model(dl.q_sample(sch, x0, t, noise=eps), t), eps)
    torch.testing.assert_close(ch4.reference_simple_loss(model, x0, t, eps, sch), expected)


def test_sketch_ignores_t_and_the_fixed_sketch_does_not():
    x = torch.randn(2, 1, 8, 8)
    assert not ch4.reference_uses_time(ch4.SketchDenoiser().eval(), x)
    assert ch4.reference_uses_time(ch4.ReferenceFixedSketch().eval(), x)
    from diffusion_lab.models import TinyUNet
    assert ch4.reference_uses_time(TinyUNet(base=8, channel_mults=(1, 2)).eval(), x)


# ---- every exercise: reference passes, blanks are not attempted -----------------------------------------
def test_references_pass_and_blanks_are_not_attempted():
    for q in (ch4.q1, ch4.q2, ch4.q3, ch4.q4):
        assert status(q, q.reference)[0] == CORRECT, q.name
        assert status(q, None)[0] == NOT_ATTEMPTED
        assert status(q, ...)[0] == NOT_ATTEMPTED
    for q in (ch4.q1, ch4.q2, ch4.q3):
        assert status(q, blank_function)[0] == NOT_ATTEMPTED

    class Blank(ch4.SketchDenoiser):
        def forward(self, x, t):
            # YOUR CODE HERE
            ...
    assert status(ch4.q4, Blank)[0] == NOT_ATTEMPTED


def test_checks_do_not_touch_the_global_rng():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ch4.q3.result(ch4.q3.reference)
    ch4.q4.result(ch4.q4.reference)
    assert torch.equal(torch.get_rng_state(), before)


# ---- q1: noisy_sample ------------------------------------------------------------------------------------
def _coef(sch, name, t, x):
    v = getattr(sch, name)[t].to(x.dtype)
    return v.reshape(-1, *[1] * (x.dim() - 1)) if isinstance(t, torch.Tensor) else v


def test_q1_the_template_bug_gets_its_hint():
    st, msg = status(ch4.q1, ch4.buggy_noisy_sample)
    assert st == INCORRECT and "template" in msg and "√ᾱ_t" in msg


def test_q1_typical_mistakes():
    def no_sqrt_noise(x0, t, eps, sch):
        a = _coef(sch, "alphas_cumprod", t, x0)
        return a.sqrt() * x0 + (1 - a) * eps

    def one_step(x0, t, eps, sch):
        return _coef(sch, "alphas", t, x0).sqrt() * x0 + _coef(sch, "betas", t, x0).sqrt() * eps

    def off_by_one(x0, t, eps, sch):
        a = _coef(sch, "alphas_cumprod_prev", t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * eps

    def swapped(x0, t, eps, sch):
        a = _coef(sch, "alphas_cumprod", t, x0)
        return (1 - a).sqrt() * x0 + a.sqrt() * eps

    def no_broadcast(x0, t, eps, sch):
        a = sch.alphas_cumprod[t].to(x0.dtype)
        return a.sqrt() * x0 + (1 - a).sqrt() * eps

    def returns_numpy_garbage(x0, t, eps, sch):
        return x0 * 0

    cases = {no_sqrt_noise: "(1 − ᾱ_t)", one_step: "ONE noising step", off_by_one: "ᾱ_{t−1}",
             swapped: "swapped", no_broadcast: "broadcast", returns_numpy_garbage: "differs"}
    for fn, expected in cases.items():
        st, msg = status(ch4.q1, fn)
        assert st == INCORRECT and expected in msg, (fn.__name__, msg)


def test_q1_not_a_function():
    st, msg = status(ch4.q1, 3.0)
    assert st == INCORRECT and "no brackets" in msg


# ---- q2: simple_loss -------------------------------------------------------------------------------------------
def _xt(x0, t, eps, sch):
    a = sch.alphas_cumprod[t].to(x0.dtype).reshape(-1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def test_q2_typical_mistakes():
    def summed(model, x0, t, eps, sch):
        return ((eps - model(_xt(x0, t, eps, sch), t)) ** 2).sum()

    def predicts_x0(model, x0, t, eps, sch):
        return ((x0 - model(_xt(x0, t, eps, sch), t)) ** 2).mean()

    def clean_input(model, x0, t, eps, sch):
        return ((eps - model(x0, t)) ** 2).mean()

    def per_sample(model, x0, t, eps, sch):
        return ((eps - model(_xt(x0, t, eps, sch), t)) ** 2).mean(1)

    def template_bug(model, x0, t, eps, sch):
        a = sch.alphas_cumprod[t].to(x0.dtype).reshape(-1, 1)
        return ((eps - model(a * x0 + (1 - a).sqrt() * eps, t)) ** 2).mean()

    cases = {summed: "MEAN", predicts_x0: "target is the noise", clean_input: "clean x0",
             per_sample: "ONE number", template_bug: "exercise 4.1"}
    for fn, expected in cases.items():
        st, msg = status(ch4.q2, fn)
        assert st == INCORRECT and expected in msg, (fn.__name__, msg)


# ---- q3: uses_time -----------------------------------------------------------------------------------------------
def test_q3_typical_mistakes():
    def always_true(model, x):
        return True

    def always_false(model, x):
        return False

    def neighbours(model, x):
        b = x.shape[0]
        with torch.no_grad():
            return not torch.equal(model(x, torch.zeros(b, dtype=torch.long)), model(x, torch.ones(b, dtype=torch.long)))

    def tolerant(model, x):
        b = x.shape[0]
        with torch.no_grad():
            return not torch.allclose(model(x, torch.zeros(b, dtype=torch.long)), model(x, torch.full((b,), 999)),
                                      atol=1e-3)

    def tensor_answer(model, x):
        b = x.shape[0]
        with torch.no_grad():
            return (model(x, torch.zeros(b, dtype=torch.long)) != model(x, torch.full((b,), 999))).any()

    def says_yes_to_sketch(model, x):
        return True if isinstance(model, ch4.SketchDenoiser) else ch4.reference_uses_time(model, x)

    assert "every model" in status(ch4.q3, always_true)[1]
    assert "False for every model" in status(ch4.q3, always_false)[1]
    assert "far apart" in status(ch4.q3, neighbours)[1]
    assert "torch.equal" in status(ch4.q3, tolerant)[1]
    assert status(ch4.q3, tensor_answer)[0] == CORRECT          # a 0-dim bool tensor is a fine answer
    st, msg = status(ch4.q3, says_yes_to_sketch)
    assert st == INCORRECT and "identical for every t" in msg


# ---- q4: fix the sketch -----------------------------------------------------------------------------------------
def test_q4_typical_mistakes():
    class Unchanged(ch4.SketchDenoiser):
        pass

    class RawT(ch4.SketchDenoiser):
        def forward(self, x, t):
            h = F.silu(self.conv_in(x)) + t.float()[:, None, None, None] / 1000
            return self.conv_out(F.silu(self.conv_mid(h)))

    class AddsToOutput(ch4.SketchDenoiser):
        def forward(self, x, t):
            emb = self.time_proj(self.time_embed(t))
            return super().forward(x, t) + emb[:, :, None, None]

    class DropsX(ch4.SketchDenoiser):
        def forward(self, x, t):
            emb = self.time_proj(self.time_embed(t))
            return self.conv_out(emb[:, :, None, None].expand(-1, -1, *x.shape[-2:]))

    cases = {Unchanged: "does not change with t", RawT: "time_proj gets no gradient",
             AddsToOutput: "shape", DropsX: "no longer depends on the image"}
    for cls, expected in cases.items():
        st, msg = status(ch4.q4, cls)
        assert st == INCORRECT and expected in msg, (cls.__name__, msg)
    st, msg = status(ch4.q4, ch4.ReferenceFixedSketch())      # an instance instead of the class
    assert st == INCORRECT and "class itself" in msg
