"""Models: shapes, parameter counts, config round trips, and that t really changes the output."""
import json

import pytest
import torch

from diffusion_lab.models import (DigitClassifier, SinusoidalTimeEmbedding, TimeMLP, TinyUNet, build_model,
                                  count_parameters)


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ------------------------------------------------------------------ time embedding
def test_sinusoidal_embedding_matches_formula():
    emb = SinusoidalTimeEmbedding(8)
    t = torch.tensor([0, 1, 10, 999])
    out = emb(t)
    assert out.shape == (4, 8)
    # by hand: half = 4, ω_k = 10000^(−k/4) = 1, 0.1, 0.01, 0.001
    omega = torch.tensor([1.0, 0.1, 0.01, 0.001])
    expected = torch.cat([torch.sin(t[:, None] * omega), torch.cos(t[:, None] * omega)], dim=1)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    # t = 0 → sin = 0, cos = 1
    assert out[0, :4].abs().max() == 0 and torch.all(out[0, 4:] == 1)


def test_sinusoidal_embedding_odd_dim_and_float_t():
    emb = SinusoidalTimeEmbedding(7)
    out = emb(torch.tensor([0.5, 2.0]))
    assert out.shape == (2, 7)
    assert torch.all(out[:, -1] == 0)  # padded column
    # neighbouring steps differ (ω_0 = 1 separates single steps)
    e = SinusoidalTimeEmbedding(64)(torch.arange(1000))
    d = (e[1:] - e[:-1]).norm(dim=1)
    assert d.min() > 0.5


def test_sinusoidal_embedding_rejects_bad_dim():
    with pytest.raises(ValueError):
        SinusoidalTimeEmbedding(1)


# ------------------------------------------------------------------ TimeMLP
@pytest.mark.parametrize("data_dim", [1, 2])
def test_time_mlp_shapes_and_int_t(data_dim):
    m = TimeMLP(data_dim=data_dim, hidden=32, depth=2, time_dim=16, T=100)
    x = torch.randn(5, data_dim)
    out = m(x, torch.randint(0, 100, (5,)))
    assert out.shape == x.shape
    # an int t equals the same t given per sample
    torch.testing.assert_close(m(x, 7), m(x, torch.full((5,), 7)))


def test_time_mlp_param_count():
    # default TimeMLP(2, 128, 3, 64): time MLP 64·128+128 + 128·128+128, input 2·128+128,
    # 3 blocks × 3 Linear(128,128), output 128·2+2
    expected = (64 * 128 + 128 + 128 * 128 + 128) + (2 * 128 + 128) + 3 * 3 * (128 * 128 + 128) + (128 * 2 + 2)
    assert count_parameters(TimeMLP()) == expected == 174_082


def test_time_mlp_rejects_wrong_shape():
    m = TimeMLP(data_dim=2)
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        m(torch.randn(4), 0)
    with pytest.raises(ValueError, match="batch size"):
        m(torch.randn(4, 2), torch.zeros(3, dtype=torch.long))


def _t_sensitivity(model, x):
    """Relative change of the output when only t changes (5 → 800)."""
    with torch.no_grad():
        a = model(x, torch.full((x.shape[0],), 5))
        b = model(x, torch.full((x.shape[0],), 800))
    return float((a - b).norm() / a.norm())


def _time_grads(model, x, name_filter):
    """Gradient norms of parameters whose name contains name_filter, for a loss that is the output's square."""
    model.zero_grad()
    model(x, torch.randint(0, 1000, (x.shape[0],))).pow(2).mean().backward()
    norms = {n: float(p.grad.norm()) for n, p in model.named_parameters() if name_filter(n)}
    assert norms, "no parameters matched"
    return norms


def _zero_(modules):
    with torch.no_grad():
        for mod in modules:
            for p in mod.parameters():
                p.zero_()


def test_time_mlp_uses_t_in_every_block():
    m = TimeMLP(hidden=64, depth=3)
    x = torch.randn(16, 2)
    # changing only t changes the output (already at init: ≈2 % here; a model that ignores t gives
    # exactly 0, float32 round-off ≈ 1e-7, so 1e-3 separates the two cases)
    assert _t_sensitivity(m, x) > 1e-3
    # every block's time projection and the time MLP receive gradient
    norms = _time_grads(m, x, lambda n: n.startswith("tproj") or n.startswith("time_mlp"))
    assert len([n for n in norms if n.startswith("tproj") and n.endswith("weight")]) == 3
    assert all(v > 0 for v in norms.values()), norms
    # t enters only through the per-block projections: cutting them makes the output t-independent
    _zero_(m.tproj)
    assert _t_sensitivity(m, x) == 0.0


# ------------------------------------------------------------------ TinyUNet
def test_tiny_unet_8x8_shapes_and_size():
    m = TinyUNet()
    x = torch.randn(3, 1, 8, 8)
    assert m(x, torch.tensor([0, 500, 999])).shape == x.shape
    n = count_parameters(m)
    assert n == 427_489 and n < 500_000  # the brief: ≲ 0.5M parameters for the 8×8 default


@pytest.mark.parametrize("mults,size", [((1, 2), 28), ((1, 2, 2), 28), ((1, 2), 7), ((1, 2, 2), 9)])
def test_tiny_unet_odd_sizes(mults, size):
    m = TinyUNet(base=8, channel_mults=mults, groups=4)
    x = torch.randn(2, 1, size, size + 1)
    assert m(x, 3).shape == x.shape


def test_tiny_unet_uses_t_inside_each_block():
    m = TinyUNet(base=8, channel_mults=(1, 2), groups=4)
    x = torch.randn(4, 1, 8, 8)
    assert _t_sensitivity(m, x) > 1e-3  # see the TimeMLP test for the threshold
    norms = _time_grads(m, x, lambda n: "time_proj" in n or n.startswith("time_mlp"))
    block_projs = [n for n in norms if n.endswith("time_proj.weight")]
    # down 2 + middle 1 + up 2 ResBlocks, each with its own projection of e(t)
    assert len(block_projs) == 5
    assert all(v > 0 for v in norms.values()), norms
    # every block's projection matters: cutting one of them still leaves t in the output …
    projs = [mod for name, mod in m.named_modules() if name.endswith("time_proj")]
    _zero_(projs[:1])
    assert _t_sensitivity(m, x) > 1e-3
    # … cutting all of them removes it exactly (t has no other way in)
    _zero_(projs)
    assert _t_sensitivity(m, x) == 0.0


def test_tiny_unet_skip_connections_concatenate():
    m = TinyUNet(base=8, channel_mults=(1, 2), groups=4)
    # up-path blocks take concat(h, skip): input width = own width + skip width
    up_in = [lvl.blocks[0].conv1.in_channels for lvl in m.up]
    assert up_in == [16 + 16, 16 + 8]


def test_tiny_unet_attention_toggle_changes_params():
    with_attn = count_parameters(TinyUNet(base=8, groups=4))
    without = count_parameters(TinyUNet(base=8, groups=4, attention=False))
    # SelfAttention2d(16): GroupNorm 2·16 + qkv 16·48+48 + proj 16·16+16
    assert with_attn - without == 2 * 16 + (16 * 48 + 48) + (16 * 16 + 16)


def test_tiny_unet_rejects_wrong_channels():
    with pytest.raises(ValueError, match="expects x_t of shape"):
        TinyUNet(in_channels=1, base=8, groups=4)(torch.randn(2, 3, 8, 8), 0)


# ------------------------------------------------------------------ classifier
@pytest.mark.parametrize("size", [8, 28])
def test_digit_classifier_shapes(size):
    m = DigitClassifier(width=8, feature_dim=16, image_size=size)
    x = torch.randn(5, 1, size, size)
    assert m(x).shape == (5, 10)
    f = m.features(x)
    assert f.shape == (5, 16) and (f >= 0).all()  # post-ReLU features
    torch.testing.assert_close(m.head(f), m(x))


# ------------------------------------------------------------------ configs
@pytest.mark.parametrize("model", [
    TimeMLP(data_dim=1, hidden=16, depth=1, time_dim=8, T=50),
    TinyUNet(base=8, channel_mults=(1, 2, 2), groups=4, attention=False),
    DigitClassifier(width=8, feature_dim=16, image_size=8),
])
def test_config_round_trip(model):
    cfg = json.loads(json.dumps(model.config))  # JSON-serialisable
    rebuilt = build_model(cfg)
    assert type(rebuilt) is type(model)
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict(), strict=True)  # same architecture
    assert type(model).from_config(cfg).config == model.config


def test_build_model_errors_name_the_fix():
    with pytest.raises(ValueError, match="known types"):
        build_model({"type": "ResNet50"})
    with pytest.raises(ValueError, match="'type'"):
        build_model({"hidden": 3})
    with pytest.raises(ValueError, match="does not match"):
        build_model({"type": "TimeMLP", "widht": 3})


# ------------------------------------------------------------------ label conditioning
def _conditional_models():
    return [TimeMLP(hidden=32, depth=2, time_dim=16, T=100, num_classes=4),
            TinyUNet(base=8, channel_mults=(1, 2), groups=4, num_classes=4)]


def _inputs(model, batch=6):
    return torch.randn(batch, 2) if isinstance(model, TimeMLP) else torch.randn(batch, 1, 8, 8)


@pytest.mark.parametrize("model", _conditional_models(), ids=["TimeMLP", "TinyUNet"])
def test_conditional_output_depends_on_the_label(model):
    x, t = _inputs(model), torch.tensor([3, 50, 99, 3, 50, 99])
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    with torch.no_grad():
        out = model(x, t, y)
        other = model(x, t, (y + 1) % 4)
        # changing every label changes every row (at init: smallest relative change 6–64 % over seeds 0–2;
        # a model that ignored y gives exactly 0, so 1e-3 separates the two)
        change = (out - other).reshape(6, -1).norm(dim=1) / out.reshape(6, -1).norm(dim=1)
        assert torch.all(change > 1e-3), change
        # the label of one sample changes only that sample's ε̂
        y2 = y.clone()
        y2[2] = 0
        diff = (model(x, t, y2) - out).abs().reshape(6, -1).amax(1)
        assert diff[2] > 0 and torch.all(diff[[0, 1, 3, 4, 5]] == 0)
        # an int label is the same label for every sample; None is the "no label" index ∅ = K
        torch.testing.assert_close(model(x, t, 2), model(x, t, torch.full((6,), 2)))
        assert model.null_label == model.num_classes == 4
        torch.testing.assert_close(model(x, t), model(x, t, torch.full((6,), 4)))
        torch.testing.assert_close(model(x, t, None), model(x, t, model.null_label))
        # ∅ is a label of its own: it differs from every class
        assert all(float((model(x, t) - model(x, t, k)).abs().max()) > 0 for k in range(4))
    # y enters only through the label embedding: with its rows equal, the output cannot depend on y
    with torch.no_grad():
        model.label_embed.weight.copy_(model.label_embed.weight[:1].expand_as(model.label_embed.weight))
        torch.testing.assert_close(model(x, t, y), model(x, t, (y + 1) % 4), rtol=0, atol=0)


def test_label_embedding_adds_one_row_per_class_plus_null():
    K = 10
    mlp, unet = TimeMLP(hidden=32, num_classes=K), TinyUNet(base=8, groups=4, num_classes=K)
    assert count_parameters(mlp) - count_parameters(TimeMLP(hidden=32)) == (K + 1) * 32       # width: hidden
    assert count_parameters(unet) - count_parameters(TinyUNet(base=8, groups=4)) == (K + 1) * 32  # time_dim = 4·base
    assert mlp.label_embed.num_embeddings == K + 1 and unet.label_embed.weight.shape == (K + 1, 32)


@pytest.mark.parametrize("num_classes", [None, 0])
def test_unconditional_models_are_unchanged_and_reject_labels(num_classes):
    for model in (TimeMLP(hidden=16, depth=1, time_dim=8, num_classes=num_classes),
                  TinyUNet(base=8, groups=4, num_classes=num_classes)):
        assert "num_classes" not in model.config and model.label_embed is None
        assert model.num_classes == 0 and model.null_label is None
        assert not any("label" in name for name in model.state_dict())
        with pytest.raises(ValueError, match="y must be None; build it with num_classes=K"):
            model(_inputs(model, 2), 0, torch.zeros(2, dtype=torch.long))


def test_conditional_config_round_trip():
    for model in _conditional_models():
        cfg = json.loads(json.dumps(model.config))
        assert cfg["num_classes"] == 4
        rebuilt = build_model(cfg)
        assert rebuilt.num_classes == 4 and rebuilt.config == model.config
        rebuilt.load_state_dict(model.state_dict(), strict=True)


def test_bad_labels_name_the_fix():
    m = TimeMLP(hidden=16, depth=1, time_dim=8, num_classes=3)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2 \(classes\) or 3 \(the 'no label' index"):
        m(x, 0, torch.tensor([0, 1, 2, 4]))
    with pytest.raises(ValueError, match="labels must be in"):
        m(x, 0, -1)
    with pytest.raises(TypeError, match=r"y\.long\(\)"):
        m(x, 0, torch.zeros(4))
    with pytest.raises(ValueError, match="one label per sample"):
        m(x, 0, torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="bool"):
        m(x, 0, True)
    with pytest.raises(ValueError, match="num_classes must be a non-negative int"):
        TimeMLP(num_classes=-2)
