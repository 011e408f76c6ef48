"""The container health checks say unhealthy until their service really works."""
import socket

from rq import Queue, Worker

from musicalface.paths import MODELS_DIR
from services.emotion import health as emotion_health
from services.emotion.settings import EmotionSettings
from services.player import health as player_health
from services.player.settings import PlayerSettings
from tests.conftest import free_port
from tests.player_support import lyrics, lyrics_catalog, lyrics_session  # noqa: F401  (fixtures)


def test_emotion_check_wants_a_registered_worker_of_this_host(redis_client, redis_url):
    settings = EmotionSettings(redis_url=redis_url, tfserving_addr=None, emotion_model_dir=MODELS_DIR / "emotion")
    assert any("no RQ worker" in p for p in emotion_health.problems(settings))
    worker = Worker([Queue("frames", connection=redis_client)], connection=redis_client)
    worker.register_birth()
    try:
        assert worker.hostname == socket.gethostname()
        assert emotion_health.problems(settings) == []
    finally:
        worker.register_death()


def test_emotion_check_reports_redis_and_model_trouble(tmp_path):
    settings = EmotionSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0", emotion_model_dir=tmp_path)
    found = emotion_health.problems(settings)
    assert any(p.startswith("Redis") for p in found) and any("no model versions" in p for p in found)


def test_player_check(redis_url, lyrics):  # noqa: F811
    dead = PlayerSettings(redis_url=redis_url, lyrics_url=f"http://127.0.0.1:{free_port()}")
    assert any("lyrics service" in p for p in player_health.problems(dead))
    alive = PlayerSettings(redis_url=redis_url, lyrics_url=lyrics.url)
    assert player_health.problems(alive) == []
