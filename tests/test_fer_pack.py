"""FER2013 packed small for a training machine comes back bit for bit."""
import json
import lzma

import numpy as np

from training import fer_pack


def test_pack_unpack_roundtrip(tmp_path, shared_data):
    src = shared_data / "fer2013" / "fer2013.npz"
    with np.load(src) as d:  # a slice keeps the test quick; the packer reads any fer_data form
        small = {k: d[k][:500] for k in ("train_x", "train_y", "val_x", "val_y")}
    np.savez(tmp_path / "fer.npz", **small)

    index = fer_pack.pack(tmp_path / "fer.npz", tmp_path / "packed")
    assert index["train"]["n"] == 500 and index["train"]["exact_pixels"] > 0.8
    assert json.loads((tmp_path / "packed" / "index.json").read_text()) == index

    assert fer_pack.unpack(tmp_path / "packed", tmp_path / "back.npz") == {"train": "exact", "val": "exact"}
    with np.load(tmp_path / "back.npz") as back:
        for k, v in small.items():
            assert np.array_equal(back[k], v)


def test_a_different_decoder_keeps_near_pixels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (120, 48, 48)).astype(np.uint8)
    y = np.arange(120) % 7
    np.savez(tmp_path / "fer.npz", train_x=x, train_y=y, val_x=x[:20], val_y=y[:20])
    fer_pack.pack(tmp_path / "fer.npz", tmp_path / "packed")
    # A residual that no longer matches stands in for a JPEG decoder that rounds differently.
    (tmp_path / "packed" / "val.residual.xz").write_bytes(
        lzma.compress(np.zeros((20, 48, 48), np.int8).tobytes()))
    report = fer_pack.unpack(tmp_path / "packed", tmp_path / "back.npz")
    assert report == {"train": "exact", "val": "near (decoder differs)"}
    with np.load(tmp_path / "back.npz") as back:
        assert back["val_x"].shape == (20, 48, 48) and np.array_equal(back["val_y"], y[:20])
