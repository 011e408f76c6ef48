"""The whole frame path with real parts: the capture service over HTTP, Redis,
RQ, two `musicalface emotion worker` processes, and a real gRPC TF Serving
stand-in serving the newest emotion model."""
import json
import time

import httpx
import numpy as np
import pytest
import redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from musicalface.contracts import (FRAME_QUEUE, NO_FACE, PENDING_FRAMES, FrameJob, frame_key, live_channel,
                                   mood_probabilities)
from services.capture.settings import CaptureSettings
from tests.pipeline_parts import (astronaut_jpeg, blank_jpeg, capture_service, corrupt_jpeg, emotion_model_dir,
                                  frame_keys, mood_events, start_workers, stop_workers, wait_for)

JPEG, BLANK = astronaut_jpeg(), blank_jpeg()
WORKERS = ["emotion-test-1", "emotion-test-2"]
# Smoothing for the test: three frames of a label over a second change the mood; the thresholds
# themselves are tried in test_smoothing. Confidence 0 lets a throwaway model pass too.
WORKER_ENV = {"MOOD_WINDOW_S": "1.0", "MOOD_MIN_FRAMES": "3", "MOOD_MIN_SHARE": "0.6",
              "MOOD_MIN_CONFIDENCE": "0", "MOOD_MIN_DWELL_S": "0", "TFSERVING_TIMEOUT_S": "3",
              "TFSERVING_RETRIES": "1", "EMOTION_MODEL_NAME": "emotion"}


@pytest.fixture(scope="module")
def model():
    model_dir, committed = emotion_model_dir()
    from services.emotion.classifier import InProcessModel
    from services.emotion.reader import EmotionReader

    expected = EmotionReader(InProcessModel(model_dir)).read_bytes(JPEG)
    assert expected.emotion, "the astronaut's face was not found"
    if committed:  # the real CNN must see her smile
        assert (expected.emotion, expected.mood) == ("Happy", "happy")
    return model_dir, expected


@pytest.fixture(scope="module")
def serving(model):
    from tests.tfserving_standin import StandInServing

    s = StandInServing(model[0]).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def conn(redis_url):
    c = redis.Redis.from_url(redis_url)
    c.flushdb()
    yield c
    c.flushdb()
    c.close()


@pytest.fixture(scope="module")
def workers(conn, redis_url, serving):
    procs = start_workers(2, {**WORKER_ENV, "TFSERVING_ADDR": serving.addr}, redis_url, WORKERS)
    yield procs
    outputs = stop_workers(procs)
    print("\n".join(f"--- {n}\n{o[-3000:]}" for n, o in zip(WORKERS, outputs)))


@pytest.fixture(scope="module")
def url(conn, redis_url, workers):
    with capture_service(CaptureSettings(redis_url=redis_url, frames_per_job=2, batch_wait_ms=5)) as u:
        yield u


def post(url, camera, data):
    r = httpx.post(f"{url}/v1/cameras/{camera}/frames", content=data, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 202, r.text
    return r.json()["frame_id"]


def drained(conn):
    q = Queue(FRAME_QUEUE, connection=conn, serializer=JSONSerializer)
    return q.count == 0 and conn.zcard(PENDING_FRAMES) == 0 and q.started_job_registry.count == 0


def last_result(url, camera):
    return httpx.get(f"{url}/v1/cameras/{camera}/mood").json()


def redis_holds(conn, needle: bytes) -> list:
    """Every key whose value contains needle: strings, hashes, lists, streams."""
    found = []
    for key in conn.scan_iter("*"):
        kind = conn.type(key)
        if kind == b"string":
            values = [conn.get(key)]
        elif kind == b"hash":
            values = list(conn.hgetall(key).values())
        elif kind == b"list":
            values = conn.lrange(key, 0, -1)
        elif kind == b"stream":
            values = [v for _, f in conn.xrange(key) for v in f.values()]
        else:
            values = []
        if any(needle in (v or b"") for v in values):
            found.append(key)
    return found


def test_an_image_through_the_capture_service_is_the_right_mood_event(url, conn, model):
    _, expected = model
    sub = conn.pubsub()
    sub.subscribe(live_channel("solo"))
    sub.get_message(timeout=2)
    ids = [post(url, "solo", JPEG) for _ in range(4)]
    (event,) = wait_for(lambda: mood_events(conn, "solo"), 120, "the mood event")
    wait_for(lambda: drained(conn), 60, "the queue to drain")

    assert len(mood_events(conn, "solo")) == 1
    assert event.mood == expected.mood and event.emotion == expected.emotion
    for name, p in expected.probabilities.items():
        assert event.probabilities[name] == pytest.approx(p, abs=1e-4)
    assert event.confidence == pytest.approx(mood_probabilities(expected.probabilities)[expected.mood], abs=1e-3)
    assert event.frame_ts <= event.ts and len(event.event_id) == 32

    live = [json.loads(m["data"]) for m in iter(lambda: sub.get_message(timeout=1), None) if m["type"] == "message"]
    assert {r["frame_id"] for r in live} <= set(ids) and live
    assert all(r["emotion"] == expected.emotion and r["face"] == expected.face for r in live)
    sub.close()

    mood = last_result(url, "solo")
    assert mood["mood"] == expected.mood and mood["event_id"] == event.event_id
    # Processed frames leave no bytes behind: not under their keys, not inside a job.
    assert frame_keys(conn) == [] and redis_holds(conn, JPEG[200:264]) == []


def test_two_workers_two_cameras_one_event_per_change(url, conn, model):
    _, expected = model
    before = {w.name: w.successful_job_count for w in Worker.all(connection=conn)}

    def phase(a_frame, b_frame, n_events):
        for _ in range(10):
            post(url, "cam-a", a_frame)
            post(url, "cam-b", b_frame)
        wait_for(lambda: len(mood_events(conn, "cam-a")) >= n_events and len(mood_events(conn, "cam-b")) >= n_events,
                 180, f"{n_events} event(s) per camera")
        wait_for(lambda: drained(conn), 60, "the queue to drain")

    phase(JPEG, BLANK, 1)
    # The next frames come more than a window (1 s) later: only they decide the next mood.
    time.sleep(1.2)
    phase(BLANK, JPEG, 2)

    assert [e.mood for e in mood_events(conn, "cam-a")] == [expected.mood, NO_FACE]
    assert [e.mood for e in mood_events(conn, "cam-b")] == [NO_FACE, expected.mood]
    after = {w.name: w.successful_job_count for w in Worker.all(connection=conn)}
    assert all(after[n] > before.get(n, 0) for n in WORKERS), f"not both workers took jobs: {before} -> {after}"
    assert frame_keys(conn) == []


def test_corrupt_empty_huge_and_expired_frames_do_not_kill_workers(url, conn, workers):
    import cv2

    corrupt = post(url, "bad", corrupt_jpeg())
    r = wait_for(lambda: (m := last_result(url, "bad"))["last"] and m["last"]["frame_id"] == corrupt and m, 60,
                 "the corrupt frame's result")
    assert r["last"]["error"] == "corrupt JPEG: could not be decoded" and r["last"]["label"] is None

    assert httpx.post(f"{url}/v1/cameras/bad/frames", content=b"").status_code == 400
    huge = cv2.imencode(".png", np.zeros((4000, 4000), np.uint8))[1].tobytes()  # 16 MP > 12 MP default
    assert httpx.post(f"{url}/v1/cameras/bad/frames", content=huge).status_code == 413

    # A job whose frame expired before a worker took it.
    from services.capture.frame_store import FrameStore

    store = FrameStore(conn, CaptureSettings(frames_per_job=1))
    gone = FrameJob(frame_id="0" * 32, camera_id="bad", frame_ts=time.time(), key=frame_key("0" * 32))
    store.enqueue([gone])
    wait_for(lambda: last_result(url, "bad")["last"]["frame_id"] == gone.frame_id, 60, "the expired frame's result")
    assert last_result(url, "bad")["last"]["error"] == "frame expired before a worker took it"

    ok = post(url, "bad", BLANK)
    wait_for(lambda: last_result(url, "bad")["last"]["frame_id"] == ok, 60, "a good frame after the bad ones")
    assert last_result(url, "bad")["last"]["label"] == NO_FACE
    assert all(p.poll() is None for p in workers)
    assert FailedJobRegistry(FRAME_QUEUE, connection=conn, serializer=JSONSerializer).count == 0
    assert frame_keys(conn) == []


def test_tf_serving_down_fails_jobs_cleanly_and_they_recover(url, conn, serving, workers, model):
    _, expected = model
    failed = FailedJobRegistry(FRAME_QUEUE, connection=conn, serializer=JSONSerializer)
    serving.stop()
    try:
        post(url, "down", JPEG)
        wait_for(lambda: failed.count >= 1, 60, "the job to fail")
        (job,) = failed.get_job_ids()
        from rq.job import Job

        j = Job.fetch(job, connection=conn, serializer=JSONSerializer)
        assert "is unavailable after 2 tries: UNAVAILABLE" in j.latest_result().exc_string
        assert j.failure_ttl == CaptureSettings().failure_ttl_s
        assert 0 < conn.ttl(j.key) <= CaptureSettings().failure_ttl_s
        assert all(p.poll() is None for p in workers)
        assert frame_keys(conn) == []  # the failed frame's bytes are gone too
    finally:
        serving.start()
    ok = post(url, "down", JPEG)
    r = wait_for(lambda: (m := last_result(url, "down"))["last"] and m["last"]["frame_id"] == ok and m, 60,
                 "a frame handled after TF Serving came back")
    assert r["last"]["emotion"] == expected.emotion and r["last"]["error"] is None
    assert failed.count == 1
