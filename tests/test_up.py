"""`musicalface up` against the real Redis: a photo sent with the capture client
comes out as a mood event, and the player answers it with links."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from musicalface.contracts import MOODS_STREAM, PLAYS_STREAM
from tests.conftest import REPO, free_port
from tests.pipeline_parts import emotion_model_dir


def wait_for(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


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

    def event():
        for _, fields in redis_client.xrange(MOODS_STREAM):
            f = {k.decode(): v.decode() for k, v in fields.items()}
            if f["camera_id"] == "hall" and f["mood"] != "none":
                return f
    ev = wait_for(event, 60, "a mood event for camera hall")
    assert ev["mood"] == "happy" and ev["emotion"] == "Happy"

    def play():
        for _, fields in redis_client.xrange(PLAYS_STREAM):
            f = {k.decode(): v.decode() for k, v in fields.items()}
            if f["event_id"] == ev["event_id"]:
                return f
    rec = wait_for(play, 60, "the player's record of that event")
    tracks = json.loads(rec["tracks"])
    assert rec["status"] == "ok" and rec["mode"] == "links" and len(tracks) == 10
    assert all(t["url"].startswith("https://open.spotify.com/search/") for t in tracks)
    assert "Traceback" not in up["log"].read_text()
