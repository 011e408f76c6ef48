"""`musicalface up` against the real Redis: a photo sent with the capture client
comes out as a mood event, and the player answers it with links."""
import os
import signal
import subprocess
import sys

import pytest

from musicalface.contracts import PLAYS_STREAM, PlayRecord
from tests.conftest import REPO, free_port
from tests.pipeline_parts import emotion_model_dir, mood_events, wait_for


@pytest.fixture
def up(redis_url, redis_client, tmp_path):
    model_dir, _ = emotion_model_dir()
    cap, lyr = free_port(), free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'lyrics.db'}",
           "PLAYER_MODE": "links", "EMOTION_MODEL_DIR": str(model_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("TFSERVING_ADDR", None)
    log = open(tmp_path / "up.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "musicalface.cli", "up", "--capture-port", str(cap),
                             "--lyrics-port", str(lyr)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b"musicalface up:" in (tmp_path / "up.log").read_bytes() or proc.poll() is not None,
                 240, "musicalface up to start")
        assert proc.poll() is None, (tmp_path / "up.log").read_text()
        yield {"capture_url": f"http://127.0.0.1:{cap}", "env": env, "log": tmp_path / "up.log"}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_photo_to_mood_event_to_links(up, redis_client, tmp_path):
    from musicalface.paths import ASSETS_DIR

    client = subprocess.run(
        [sys.executable, "-m", "musicalface.cli", "capture", str(ASSETS_DIR / "astronaut.jpg"), "--camera", "hall",
         "--loop", "--count", "12", "--fps", "4", "--wait", "20", "--url", up["capture_url"]],
        cwd=REPO, env=up["env"], capture_output=True, text=True, timeout=180)
    assert client.returncode == 0, client.stdout + client.stderr

    ev = wait_for(lambda: [e for e in mood_events(redis_client, "hall") if e.mood != "none"], 60,
                  "a mood event for camera hall")[0]
    assert ev.mood == "happy" and ev.emotion == "Happy"

    rec = wait_for(lambda: [p for p in (PlayRecord.from_stream(f) for _, f in redis_client.xrange(PLAYS_STREAM))
                            if p.event_id == ev.event_id], 60, "the player's record of that event")[0]
    assert rec.status == "ok" and rec.mode == "links" and rec.mood == "happy" and len(rec.tracks) == 10
    assert all(t.url.startswith("https://open.spotify.com/search/") for t in rec.tracks)
    assert "Traceback" not in up["log"].read_text()
