"""Real parts of the frame pipeline for the tests: the model to serve, the
capture service on a loopback port, emotion worker processes, test images."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.conftest import REPO, _loud_skip
from tests.http_servers import serve_app


def emotion_model_dir() -> tuple[Path, bool]:
    """(model dir, committed?): the newest committed models/emotion/<N>, or EMOTION_MODEL_DIR
    when a developer points the tests at another export."""
    from musicalface.paths import MODELS_DIR, latest_version

    override = os.environ.get("EMOTION_MODEL_DIR")
    model_dir = Path(override) if override else MODELS_DIR / "emotion"
    try:
        latest_version(model_dir)
    except FileNotFoundError:
        _loud_skip(f"no emotion model under {model_dir}: commit models/emotion/<N> "
                   "(python -m training.train_emotion --export N) or set EMOTION_MODEL_DIR")
    return model_dir, not override


def astronaut_jpeg() -> bytes:
    from musicalface.paths import ASSETS_DIR

    path = ASSETS_DIR / "astronaut.jpg"
    if path.exists():
        return path.read_bytes()
    import cv2
    from skimage import data

    return cv2.imencode(".jpg", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))[1].tobytes()


def blank_jpeg(size: int = 320, value: int = 128) -> bytes:
    """A frame with no face in it."""
    import cv2

    return cv2.imencode(".jpg", np.full((size, size, 3), value, np.uint8))[1].tobytes()


def corrupt_jpeg() -> bytes:
    """A JPEG whose header is sound and whose image data is not: only a decoder finds out."""
    good = astronaut_jpeg()
    sos = good.index(b"\xff\xda")
    return good[:sos] + b"\xff\xda\x00\x0c" + bytes(range(256)) * 4


@contextlib.contextmanager
def capture_service(settings):
    """The capture service under uvicorn on a free loopback port; yields its URL."""
    from services.capture.app import create_app

    with serve_app(create_app(settings), "capture service") as url:
        yield url


def start_workers(n: int, env: dict, redis_url: str, names: list[str],
                  queues: list[list[str]] | None = None) -> list[subprocess.Popen]:
    """n `musicalface emotion worker` processes (worker i on queues[i], default the frames queue);
    returns once all have registered with RQ."""
    import redis
    from rq import Worker

    full_env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "REDIS_URL": redis_url, **env}
    procs = []
    for i, name in enumerate(names[:n]):
        cmd = [sys.executable, "-m", "musicalface.cli", "emotion", "worker", "--name", name]
        for q in (queues[i] if queues else []):
            cmd += ["--queue", q]
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    conn = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        registered = {w.name for w in Worker.all(connection=conn)}
        if set(names[:n]) <= registered:
            return procs
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            stop_workers(procs)
            raise RuntimeError(f"an emotion worker exited at start:\n{dead[0].stdout.read()}")
        time.sleep(0.2)
    stop_workers(procs)
    raise RuntimeError("emotion workers did not register within 180 s")


def stop_workers(procs: list[subprocess.Popen]) -> list[str]:
    """SIGTERM (RQ's warm shutdown), then each worker's output."""
    outputs = []
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        outputs.append(out or "")
    return outputs


def wait_for(predicate, timeout_s: float = 60.0, what: str = "condition", interval_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def mood_events(conn, camera_id: str | None = None):
    from musicalface.contracts import MOODS_STREAM, MoodEvent

    events = [MoodEvent.from_stream(fields) for _, fields in conn.xrange(MOODS_STREAM)]
    return [e for e in events if camera_id is None or e.camera_id == camera_id]


def frame_keys(conn) -> list:
    from musicalface.contracts import FRAME_KEY_PREFIX

    return list(conn.scan_iter(f"{FRAME_KEY_PREFIX}*"))
