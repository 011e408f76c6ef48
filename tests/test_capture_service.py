"""The capture service over HTTP with the real Redis and RQ: what it accepts,
what it refuses and why, and where the frames go (no workers here)."""
import json
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from musicalface.contracts import (FRAME_JOB_FUNC, FRAME_QUEUE, PENDING_FRAMES, CameraMood, FrameJob,
                                   camera_state_key, frame_key)
from services.capture.app import create_app
from services.capture.settings import CaptureSettings
from tests.pipeline_parts import astronaut_jpeg, frame_keys, wait_for

JPEG = astronaut_jpeg()


def png(w=64, h=48) -> bytes:
    return cv2.imencode(".png", np.zeros((h, w), np.uint8))[1].tobytes()


def png_claiming(w, h) -> bytes:
    """A PNG header that claims a w x h canvas: a decompression bomb's calling card."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))


def settings(redis_url, **kw) -> CaptureSettings:
    kw.setdefault("frames_per_job", 1)
    return CaptureSettings(redis_url=redis_url, **kw)


@pytest.fixture
def service(redis_url, redis_client):
    def make(**kw):
        return TestClient(create_app(settings(redis_url, **kw)))
    return make


def post(client, data, camera="cam1", headers=None):
    return client.post(f"/v1/cameras/{camera}/frames", content=data,
                       headers={"Content-Type": "image/jpeg", **(headers or {})})


def queued_jobs(redis_client):
    q = Queue(FRAME_QUEUE, connection=redis_client, serializer=JSONSerializer)
    return [Job.fetch(i, connection=redis_client, serializer=JSONSerializer) for i in q.job_ids]


def test_a_frame_is_stored_briefly_and_queued_by_reference(service, redis_client):
    with service(frame_ttl_s=20, job_ttl_s=15, failure_ttl_s=7200) as c:
        r = post(c, JPEG)
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["camera_id"] == "cam1" and body["queued"] == 1 and len(body["frame_id"]) == 32
    key = frame_key(body["frame_id"])
    assert redis_client.get(key) == JPEG
    assert 0 < redis_client.ttl(key) <= 20
    (job,) = queued_jobs(redis_client)
    assert job.func_name == FRAME_JOB_FUNC
    (frames,) = job.args
    ref = FrameJob.model_validate(frames[0])
    assert ref.frame_id == body["frame_id"] and ref.key == key and ref.camera_id == "cam1"
    assert abs(ref.frame_ts - time.time()) < 60
    # The job is JSON and carries no image bytes; it expires, keeps no result, keeps failures for hours.
    raw = zlib.decompress(redis_client.hget(job.key, "data"))
    assert json.loads(raw) and JPEG[:64] not in raw and len(raw) < 2000
    assert job.ttl == 15 and job.result_ttl == 0 and job.failure_ttl == 7200
    assert 0 < redis_client.ttl(job.key) <= 15
    assert redis_client.zscore(PENDING_FRAMES, body["frame_id"]) == pytest.approx(ref.frame_ts)


def test_png_and_a_form_upload_are_accepted(service, redis_client):
    with service() as c:
        assert post(c, png(), headers={"Content-Type": "image/png"}).status_code == 202
        r = c.post("/v1/cameras/cam1/frames", files={"frame": ("face.jpg", JPEG, "image/jpeg")})
        assert r.status_code == 202, r.text
        assert redis_client.get(frame_key(r.json()["frame_id"])) == JPEG


@pytest.mark.parametrize("data, status, message", [
    (b"", 400, "empty frame"),
    (b"GIF89a" + bytes(100), 415, "not a JPEG or PNG"),
    (cv2.imencode(".bmp", np.zeros((8, 8), np.uint8))[1].tobytes(), 415, "not a JPEG or PNG"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", 400, "corrupt JPEG"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", 400, "corrupt PNG"),
    (png_claiming(40_000, 40_000), 413, "1,600,000,000 pixels"),
    (bytes(2_000_001), 413, "frame too large"),
])
def test_bad_frames_get_clear_errors_and_are_not_queued(service, redis_client, data, status, message):
    with service(max_frame_bytes=2_000_000, max_frame_pixels=20_000_000) as c:
        r = post(c, data)
    assert r.status_code == status and message in r.json()["detail"], r.text
    assert queued_jobs(redis_client) == [] and frame_keys(redis_client) == []


def test_a_huge_body_is_refused_while_it_streams(service):
    def chunks():  # no Content-Length: the service must count as it reads
        for _ in range(100):
            yield bytes(100_000)

    with service(max_frame_bytes=1_000_000) as c:
        r = c.post("/v1/cameras/cam1/frames", content=chunks())
    assert r.status_code == 413 and "over 1,000,000 bytes" in r.json()["detail"]


@pytest.mark.parametrize("camera", ["has space", "-leading-dash", "x" * 65, "semi;colon"])
def test_bad_camera_ids(service, camera):
    with service() as c:
        r = post(c, JPEG, camera=camera)
        assert r.status_code == 422 and "bad camera id" in r.json()["detail"]
        assert c.get(f"/v1/cameras/{camera}/mood").status_code == 422


def test_bearer_token(service):
    with service(capture_token="s3cret-token") as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
            r = post(c, JPEG, headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert "token" in r.json()["detail"] and "s3cret" not in r.text
        assert c.get("/v1/cameras/cam1/mood").status_code == 401
        assert post(c, JPEG, headers={"Authorization": "Bearer s3cret-token"}).status_code == 202
        assert c.get("/health").status_code == 200  # health needs no token


def test_429_with_retry_after_when_too_many_frames_wait(service, redis_client):
    with service(max_queue_depth=3) as c:
        assert [post(c, JPEG).status_code for _ in range(3)] == [202] * 3
        r = post(c, JPEG)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "too many frames waiting (3)" in r.json()["detail"]
        assert c.get("/health").json()["frames_waiting"] == 3
        # A worker taking a frame makes room again.
        (first,) = queued_jobs(redis_client)[0].args[0]
        redis_client.zrem(PENDING_FRAMES, first["frame_id"])
        assert post(c, JPEG).status_code == 202
    assert len(frame_keys(redis_client)) == 4


def test_frames_nobody_takes_expire_and_leave_no_bytes(service, redis_client):
    with service(frame_ttl_s=1, job_ttl_s=1, max_queue_depth=2) as c:
        assert post(c, JPEG).status_code == 202 and post(c, JPEG).status_code == 202
        assert len(frame_keys(redis_client)) == 2
        wait_for(lambda: not frame_keys(redis_client), 10, "frame keys to expire")
        wait_for(lambda: not queued_jobs_alive(redis_client), 10, "jobs to expire")
        # Expired frames no longer count as waiting.
        assert c.get("/health").json()["frames_waiting"] == 0
        assert post(c, JPEG).status_code == 202


def queued_jobs_alive(redis_client):
    return [k for k in redis_client.scan_iter("rq:job:*")]


def test_frames_that_arrive_while_a_job_waits_share_one_job(service, redis_client):
    q = Queue(FRAME_QUEUE, connection=redis_client, serializer=JSONSerializer)
    q.enqueue_call(FRAME_JOB_FUNC, args=([],), ttl=60)  # a job already waiting: a backlog
    with service(frames_per_job=4, batch_wait_ms=2000) as c:
        ids = [post(c, JPEG, camera=f"cam{i % 2}").json()["frame_id"] for i in range(4)]
        wait_for(lambda: q.count == 2, 10, "the batch of four")
        ids.append(post(c, JPEG).json()["frame_id"])
    # closing the service queues what is still buffered
    jobs = queued_jobs(redis_client)[1:]
    assert [[f["frame_id"] for f in j.args[0]] for j in jobs] == [ids[:4], ids[4:]]


def test_mood_and_health(service, redis_client):
    with service() as c:
        r = c.get("/v1/cameras/cam9/mood")
        assert r.status_code == 200 and r.json() == CameraMood(camera_id="cam9").model_dump()
        redis_client.set(camera_state_key("cam9"), json.dumps(
            {"camera_id": "cam9", "mood": "happy", "since": 12.5, "event_id": "e1", "window": [[1, "happy", 1, None]],
             "last": {"frame_id": "f", "camera_id": "cam9", "frame_ts": 12.5, "label": "happy", "emotion": "Happy",
                      "confidence": 0.9}}))
        body = c.get("/v1/cameras/cam9/mood").json()
        assert body["mood"] == "happy" and body["last"]["emotion"] == "Happy" and "window" not in body
        h = c.get("/health").json()
        assert h == {"status": "ok", "frames_waiting": 0, "jobs_waiting": 0, "workers": 0}


def test_redis_down_is_a_clear_503(redis_url):
    s = CaptureSettings(redis_url="redis://127.0.0.1:1/0", frames_per_job=1)
    with TestClient(create_app(s)) as c:
        r = post(c, JPEG)
        assert r.status_code == 503 and "frame store unavailable" in r.json()["detail"]
        assert c.get("/health").status_code == 503
