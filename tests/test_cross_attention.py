"""Cross-attention conditioning of TinyUNet: shapes, weights, the one-token case, label dependence,
and that the existing configs (unconditional, label embedding) are unchanged."""

import pytest
import torch

from diffusion_lab.models import CrossAttention2d, TinyUNet, build_model


def _cross_unet(**kw):
    torch.manual_seed(0)
    return TinyUNet(base=8, channel_mults=(1, 2), groups=4, num_classes=3, conditioning="cross_attention", **kw)


def test_cross_attention_block_shapes_and_weights_sum_to_one():
    torch.manual_seed(0)
    block = CrossAttention2d(channels=8, token_dim=5, heads=2, groups=4)
    x, tokens = torch.randn(3, 8, 4, 6), torch.randn(3, 7, 5)
    out = block(x, tokens, keep_weights=True)
    assert out.shape == x.shape
    w = block.last_weights
    assert w.shape == (3, 2, 4, 6, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 2, 4, 6))
    assert bool((w >= 0).all())
    block(x, tokens)  # without keep_weights nothing is kept
    assert block.last_weights is None


def test_cross_attention_matches_the_formula():
    """out_p = h_p + W_o Σ_j softmax_j(q_p·k_j/√c) v_j, written out by hand for one head."""
    torch.manual_seed(1)
    block = CrossAttention2d(channels=4, token_dim=3, heads=1, groups=2)
    x, tokens = torch.randn(2, 4, 3, 3), torch.randn(2, 5, 3)
    q = block.to_q(block.norm(x)).flatten(2).transpose(1, 2)          # (B, HW, C)
    k, v = block.to_k(tokens), block.to_v(tokens)                      # (B, L, C)
    a = torch.softmax(q @ k.transpose(1, 2) / 2.0, dim=-1)            # √c = √4
    read = (a @ v).transpose(1, 2).reshape(2, 4, 3, 3)
    torch.testing.assert_close(block(x, tokens), x + block.proj(read))


def test_one_token_cross_attention_adds_the_same_vector_everywhere():
    """With L = 1 the softmax weight is 1 at every position, so the block adds W_o v + b_o to each."""
    torch.manual_seed(2)
    block = CrossAttention2d(channels=6, token_dim=4, heads=2, groups=3)
    x, token = torch.randn(2, 6, 5, 5), torch.randn(2, 1, 4)
    out = block(x, token, keep_weights=True)
    torch.testing.assert_close(block.last_weights, torch.ones(2, 2, 5, 5, 1))
    vector = block.proj.weight[:, :, 0, 0] @ block.to_v(token)[:, 0, :, None] + block.proj.bias[:, None]  # (B, C, 1)
    torch.testing.assert_close(out, x + vector[..., None])
    # and that vector does not depend on the image at all
    out2 = block(x + 3.0, token)
    torch.testing.assert_close(out2 - (x + 3.0), out - x)


def test_cross_attention_unet_shapes_maps_and_label_dependence():
    model = _cross_unet()
    x, t = torch.randn(4, 1, 8, 8), torch.tensor([0, 10, 500, 999])
    y = torch.tensor([0, 1, 2, 3])  # 3 = ∅
    out = model(x, t, y)
    assert out.shape == x.shape
    maps = model.cross_attention_maps(x, t, y)
    assert list(maps) == ["middle", "up level 1", "up level 0"]
    assert maps["middle"].shape == (4, 1, 4, 4, 2) and maps["up level 0"].shape == (4, 1, 8, 8, 2)
    for m in maps.values():
        torch.testing.assert_close(m.sum(-1), torch.ones(m.shape[:-1]))
    assert all(b.last_weights is None for b in model.cross_attention_blocks.values())
    # the output depends on the label, and y=None is the "no label" index
    assert not torch.allclose(model(x, t, 0), model(x, t, 1))
    torch.testing.assert_close(model(x, t), model(x, t, model.null_label))
    # the label does not enter the time embedding: e(t) is the same for every label
    assert model.prompt_tokens(None, 2).shape == (2, 2, model.config["token_dim"])


def test_cross_attention_unet_without_start_token_adds_a_label_vector():
    model = _cross_unet(start_token=False)
    x, t = torch.randn(2, 1, 8, 8), 100
    maps = model.cross_attention_maps(x, t, 1)
    assert all(m.shape[-1] == 1 and bool((m == 1).all()) for m in maps.values())
    assert not torch.allclose(model(x, t, 0), model(x, t, 2))


def test_cross_attention_unet_odd_size_and_config_round_trip():
    model = _cross_unet()
    cfg = model.config
    assert cfg["conditioning"] == "cross_attention" and cfg["start_token"] is True
    rebuilt = build_model(cfg)
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(2, 1, 7, 9)
    torch.testing.assert_close(rebuilt(x, 5, 1), model(x, 5, 1))


def test_existing_configs_are_unchanged():
    plain = TinyUNet(base=8, groups=4)
    labelled = TinyUNet(base=8, groups=4, num_classes=4)
    for m in (plain, labelled):
        assert not {"conditioning", "token_dim", "start_token"} & set(m.config)
        assert m.cross_attention_blocks == {} and m.start_token is None
        assert not any("cross" in name for name in m.state_dict())
    with pytest.raises(ValueError, match="no cross-attention"):
        labelled.cross_attention_maps(torch.randn(1, 1, 8, 8), 0, 1)


def test_bad_conditioning_arguments_raise_clearly():
    with pytest.raises(ValueError, match="conditioning must be one of"):
        TinyUNet(base=8, num_classes=2, conditioning="concat")
    with pytest.raises(ValueError, match="needs labels"):
        TinyUNet(base=8, conditioning="cross_attention")
    with pytest.raises(ValueError, match="heads must be"):
        CrossAttention2d(6, 4, heads=4)
