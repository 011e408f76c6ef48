"""The exported CNN honours the serving contract of musicalface.contracts."""
import numpy as np
import pytest
import tensorflow as tf

from musicalface.contracts import EmotionSignature as Sig
from musicalface.paths import MODELS_DIR, latest_version

MODEL = MODELS_DIR / "emotion"


@pytest.fixture(scope="module")
def signature():
    return tf.saved_model.load(str(MODEL / str(latest_version(MODEL)))).signatures[Sig.name]


def test_signature_names_types_and_shapes(signature):
    (spec,) = signature.structured_input_signature[1].values()
    assert list(signature.structured_input_signature[1]) == [Sig.input]
    assert spec.dtype == tf.float32 and spec.shape.as_list() == [None, 48, 48, 1]
    out = signature.structured_outputs
    assert list(out) == [Sig.output]
    assert out[Sig.output].dtype == tf.float32 and out[Sig.output].shape.as_list() == [None, 7]


def test_softmax_over_any_batch_of_raw_grey_values(signature):
    rng = np.random.default_rng(1)
    for n in (1, 5, 33):
        x = rng.integers(0, 256, (n, 48, 48, 1)).astype(np.float32)
        p = signature(**{Sig.input: tf.constant(x)})[Sig.output].numpy()
        assert p.shape == (n, 7)
        assert np.all(p >= 0) and np.allclose(p.sum(1), 1, atol=1e-4)


def test_scaling_happens_inside_the_graph(signature):
    """Raw 0..255 in: feeding values pre-scaled to 0..1 must give another answer."""
    x = np.random.default_rng(2).integers(0, 256, (4, 48, 48, 1)).astype(np.float32)
    raw = signature(**{Sig.input: tf.constant(x)})[Sig.output].numpy()
    scaled = signature(**{Sig.input: tf.constant(x / 255.0)})[Sig.output].numpy()
    assert not np.allclose(raw, scaled, atol=1e-3)


def test_warmup_requests_for_tf_serving():
    from tensorflow_serving.apis import prediction_log_pb2

    path = MODEL / str(latest_version(MODEL)) / "assets.extra" / "tf_serving_warmup_requests"
    records = list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator())
    assert records
    for raw in records:
        log = prediction_log_pb2.PredictionLog.FromString(raw)
        req = log.predict_log.request
        assert req.model_spec.signature_name == Sig.name
        t = tf.make_ndarray(req.inputs[Sig.input])
        assert t.dtype == np.float32 and t.shape[1:] == (48, 48, 1)
