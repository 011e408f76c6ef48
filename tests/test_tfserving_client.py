"""The gRPC Predict client against a real gRPC PredictionService on loopback
(tests/tfserving_standin.py) serving the newest emotion SavedModel."""
import numpy as np
import pytest

from services.emotion.classifier import InProcessModel, ModelUnavailable, load_model
from services.emotion.settings import EmotionSettings
from services.emotion.tfserving_client import TFServingModel
from tests.pipeline_parts import emotion_model_dir

FACES = np.random.default_rng(7).integers(0, 256, (5, 48, 48)).astype(np.uint8)


@pytest.fixture(scope="module")
def model_dir():
    return emotion_model_dir()[0]


@pytest.fixture(scope="module")
def serving(model_dir):
    from tests.tfserving_standin import StandInServing

    s = StandInServing(model_dir).start()
    yield s
    s.stop()


@pytest.fixture
def up(serving):
    serving.start()
    serving.delay_s = 0.0
    yield serving
    serving.start()
    serving.delay_s = 0.0


def test_predict_matches_the_model_in_process(up, model_dir):
    client = TFServingModel(up.addr, "emotion", timeout_s=10)
    got = client.predict(FACES)
    want = InProcessModel(model_dir).predict(FACES)
    assert got.shape == (5, 7) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got.sum(1), 1, atol=1e-4)
    np.testing.assert_allclose(client.predict(FACES[0]), want[:1], atol=1e-5)  # one face [48, 48]


def test_settings_choose_tf_serving(up, monkeypatch):
    monkeypatch.setenv("TFSERVING_ADDR", up.addr)
    monkeypatch.setenv("EMOTION_MODEL_NAME", "emotion")
    model = load_model(EmotionSettings())
    assert isinstance(model, TFServingModel) and model.addr == up.addr
    before = up.requests
    assert model.predict(FACES).shape == (5, 7)
    assert up.requests == before + 1  # five faces, one Predict call


def test_pinned_version_and_unknown_version(up, model_dir):
    from musicalface.paths import latest_version

    v = latest_version(model_dir)
    assert TFServingModel(up.addr, "emotion", version=v).predict(FACES).shape == (5, 7)
    with pytest.raises(ModelUnavailable, match=r"NOT_FOUND.*Specific\(emotion, 9999\)"):
        TFServingModel(up.addr, "emotion", version=9999, retries=0).predict(FACES)


def test_unknown_model_is_not_found(up):
    with pytest.raises(ModelUnavailable, match=r"model nosuch .*NOT_FOUND: Servable not found"):
        TFServingModel(up.addr, "nosuch", retries=1).predict(FACES)


def test_wrong_signature_is_refused_without_retrying(up):
    before = up.requests
    with pytest.raises(RuntimeError, match=r"refused the request: INVALID_ARGUMENT.*nosig") as e:
        TFServingModel(up.addr, "emotion", signature="nosig", retries=3).predict(FACES)
    assert not isinstance(e.value, ModelUnavailable)
    assert up.requests == before + 1


def test_server_down_then_back(up):
    client = TFServingModel(up.addr, "emotion", timeout_s=2, retries=1)
    assert client.predict(FACES).shape == (5, 7)
    up.stop()
    with pytest.raises(ModelUnavailable, match="UNAVAILABLE"):
        client.predict(FACES)
    up.start()  # same port; the same client reconnects by itself
    assert client.predict(FACES).shape == (5, 7)


def test_deadline_then_retries(up):
    up.delay_s = 0.5
    before = up.requests
    with pytest.raises(ModelUnavailable, match="DEADLINE_EXCEEDED"):
        TFServingModel(up.addr, "emotion", timeout_s=0.1, retries=2).predict(FACES)
    assert up.requests - before == 3  # the first try and two retries all reached the server
