"""The fused augmentation layer: what it does to an image, and that it saves and loads."""
import keras
import numpy as np
import pytest
from skimage import data

from training.random_affine import RandomAffine


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (64, 48, 48, 1)).astype("float32")


def test_without_rotation_zoom_or_shift_it_only_mirrors(faces):
    out = keras.ops.convert_to_numpy(RandomAffine(rotation=0, zoom=0, shift=0, flip=True, seed=1)(faces, training=True))
    same = np.all(out == faces, axis=(1, 2, 3))
    mirrored = np.all(out == faces[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(same | mirrored) and 10 < mirrored.sum() < 54  # about half, never anything else


def test_inference_passes_the_image_through(faces):
    out = keras.ops.convert_to_numpy(RandomAffine(seed=1)(faces, training=False))
    assert np.array_equal(out, faces)


def test_a_real_face_stays_a_face():
    img = keras.ops.image.rgb_to_grayscale(data.astronaut()[None, 20:220, 150:350].astype("float32"))
    img = keras.ops.convert_to_numpy(keras.ops.image.resize(img, (48, 48)))
    out = keras.ops.convert_to_numpy(RandomAffine(seed=3)(np.repeat(img, 32, 0), training=True))
    assert out.shape == (32, 48, 48, 1)
    assert out.min() >= img.min() - 1e-3 and out.max() <= img.max() + 1e-3  # bilinear: no overshoot
    assert not np.allclose(out[0], out[1])  # each image its own transform
    # Small moves: every view still correlates with the original or its mirror image.
    for o in out:
        r = max(np.corrcoef(o.ravel(), img.ravel())[0, 1], np.corrcoef(o.ravel(), img[0, :, ::-1].ravel())[0, 1])
        assert r > 0.4


def test_saves_and_loads(tmp_path):
    inp = keras.Input((48, 48, 1))
    model = keras.Model(inp, keras.layers.Flatten()(RandomAffine(rotation=10, zoom=0.2, seed=5)(inp)))
    model.save(tmp_path / "m.keras")
    layer = keras.models.load_model(tmp_path / "m.keras").layers[1]
    assert isinstance(layer, RandomAffine) and (layer.rotation, layer.zoom, layer.shift) == (10, 0.2, 0.1)
