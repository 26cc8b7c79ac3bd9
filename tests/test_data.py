"""Data loaders: digits ranges/splits, a hand-built IDX file for the parser, MNIST search and checks."""
import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import diffusion_lab.data as data
from diffusion_lab.data import load_digits_8x8, load_mnist, make_dataloader, parse_idx, sample_images

REAL_MNIST = data.REPO_ROOT.parent / "shared" / "data" / "mnist"
HAS_REAL_MNIST = (REAL_MNIST / "t10k-images-idx3-ubyte.gz").is_file()


def _idx_bytes(arr: np.ndarray, code: int) -> bytes:
    """Build an IDX file by hand: 0, 0, type code, ndim, big-endian sizes, big-endian data."""
    header = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    be = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    return header + arr.astype(be).tobytes()


# ------------------------------------------------------------------ digits
def test_digits_range_shape_and_splits():
    x, y = load_digits_8x8()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32 and y.shape == (1797,)
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0  # 0 ↦ −1, 16 ↦ +1
    # the 17 grey levels map to v/8 − 1 exactly
    assert torch.equal(torch.unique(x), torch.arange(17, dtype=torch.float32) / 8 - 1)
    xtr, ytr = load_digits_8x8("train")
    xte, yte = load_digits_8x8("test")
    assert (len(ytr), len(yte)) == (1438, 359)
    # disjoint and together the whole set (compare as rows)
    rows = lambda a: {tuple(r) for r in a.reshape(len(a), -1).tolist()}
    assert len(rows(x)) == 1797  # all images distinct, so row sets identify indices
    assert not rows(xtr) & rows(xte) and rows(xtr) | rows(xte) == rows(x)
    assert sorted(torch.cat([ytr, yte]).tolist()) == sorted(y.tolist())
    assert torch.equal(load_digits_8x8("test")[0], xte)  # deterministic
    with pytest.raises(ValueError, match="split"):
        load_digits_8x8("valid")


def test_load_digit_is_one_image_of_the_digits():
    from sklearn.datasets import load_digits

    x = data.load_digit(3)
    assert x.shape == (1, 1, 8, 8) and x.dtype == torch.float32
    assert torch.equal(x[0], load_digits_8x8()[0][3])
    np.testing.assert_array_equal(x[0, 0].numpy(), load_digits().images[3] / 8.0 - 1.0)  # v ∈ {0..16} ↦ v/8 − 1
    x[...] = 0  # a copy: the caller may change it
    assert not torch.equal(data.load_digit(3), x)
    for bad in (-1, 1797):
        with pytest.raises(ValueError, match=r"index must be in \[0, 1797\)"):
            data.load_digit(bad)


# ------------------------------------------------------------------ IDX parser
def test_parse_idx_uint8_images_gz(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / "fake-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(_idx_bytes(arr, 0x08)))
    out = parse_idx(p)
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    assert np.array_equal(out, arr)


@pytest.mark.parametrize("code,dtype", [(0x0B, np.int16), (0x0D, np.float32)])
def test_parse_idx_big_endian_types(code, dtype):
    arr = np.array([[1, -2, 300], [4, 5, -600]], dtype=dtype)
    out = parse_idx(_idx_bytes(arr, code))
    assert out.dtype == np.dtype(dtype) and np.array_equal(out, arr)


def test_parse_idx_rejects_bad_files():
    good = _idx_bytes(np.zeros((2, 2), np.uint8), 0x08)
    with pytest.raises(ValueError, match="not an IDX"):
        parse_idx(b"\x01" + good[1:])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        parse_idx(good[:-1])
    with pytest.raises(ValueError, match="unknown IDX type"):
        parse_idx(good[:2] + b"\x07" + good[3:])


# ------------------------------------------------------------------ MNIST from local files
def _fake_mnist(folder: Path, n=3):
    imgs = np.zeros((n, 28, 28), np.uint8)
    imgs[:, 0, 0] = 255
    imgs[1, 5, 5] = 51  # 51/255·2 − 1 = −0.6
    labels = np.arange(n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(imgs, 0x08)))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(labels, 0x08)))
    return imgs, labels


def _hashes_of(folder: Path):
    return {p.name: ("sha256", hashlib.sha256(p.read_bytes()).hexdigest()) for p in folder.glob("*.gz")}


def test_load_mnist_from_fake_root(tmp_path, monkeypatch):
    _fake_mnist(tmp_path)
    monkeypatch.setattr(data, "MNIST_HASHES", _hashes_of(tmp_path))
    x, y = load_mnist(tmp_path)
    assert x.shape == (3, 1, 28, 28) and x.dtype == torch.float32
    assert y.tolist() == [0, 1, 2] and y.dtype == torch.int64
    assert float(x[0, 0, 0, 0]) == 1.0 and float(x[0, 0, 1, 1]) == -1.0
    assert abs(float(x[1, 0, 5, 5]) - (-0.6)) < 1e-6


def test_load_mnist_checks_hash(tmp_path):
    _fake_mnist(tmp_path)  # not the real file: its sha256 cannot match the published one
    with pytest.raises(ValueError, match="sha256 is .* expected 8d422c7b"):
        load_mnist(tmp_path)


def test_load_mnist_env_var_and_torchvision_layout(tmp_path, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"
    _fake_mnist(raw)
    monkeypatch.setattr(data, "MNIST_HASHES", _hashes_of(raw))
    monkeypatch.setenv(data.MNIST_ENV_VAR, str(tmp_path))
    assert data.mnist_search_paths()[0] == tmp_path
    x, _ = load_mnist()
    assert x.shape[0] == 3


def test_load_mnist_missing_names_the_options(tmp_path, monkeypatch):
    monkeypatch.delenv(data.MNIST_ENV_VAR, raising=False)
    monkeypatch.setattr(data, "REPO_ROOT", tmp_path / "repo")   # no ../shared next to it
    monkeypatch.setattr(data, "DEFAULT_CACHE", tmp_path / "cache")
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path / "empty")
    msg = str(e.value)
    for hint in ("root=", data.MNIST_ENV_VAR, "download=True", "load_digits_8x8", str(tmp_path / "empty")):
        assert hint in msg
    with pytest.raises(ValueError, match="split"):
        load_mnist(split="validation")


@pytest.mark.skipif(not HAS_REAL_MNIST, reason="MNIST t10k files not present in ../shared/data/mnist")
def test_real_mnist_t10k():
    x, y = load_mnist(REAL_MNIST)
    assert x.shape == (10_000, 1, 28, 28) and y.shape == (10_000,)
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert torch.bincount(y).tolist()[:3] == [980, 1135, 1032]  # published t10k class counts
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test labels


# ------------------------------------------------------------------ batches
def test_sample_images_and_dataloader():
    x = torch.arange(10, dtype=torch.float32).reshape(10, 1)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, b = sample_images(x, 50, g1), sample_images(x, 50, g2)
    assert torch.equal(a, b) and a.shape == (50, 1)
    assert len(torch.unique(a)) < 50  # with replacement
    dl = make_dataloader(x, batch_size=4, generator=torch.Generator().manual_seed(0))
    batches = list(dl)
    assert len(batches) == 2 and all(bt.shape == (4, 1) for bt in batches)  # drop_last


def test_a_recorded_command_leaves_out_where_mnist_lives():
    from diffusion_lab.data import without_mnist_root

    argv = ["--protocol", "mnist", "--mnist-root", "/a/b", "--n", "10", "--mnist-root=/c", "--out", "x.json"]
    assert without_mnist_root(argv) == ["--protocol", "mnist", "--n", "10", "--out", "x.json"]
