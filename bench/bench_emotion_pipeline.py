"""Frames per second through the emotion workers, and frame-to-event latency.
Real Redis, real RQ, real `musicalface emotion worker` processes, loopback only;
prints numbers, asserts nothing, runs in about two minutes.

    .venv/bin/python bench/bench_emotion_pipeline.py [--model both|inprocess|tfserving] [--frames 32]

What it shows:
  1. the queue alone: no-op jobs through one SimpleWorker (jobs/s);
  2. saturated throughput: N frames queued at once, drained by 1 worker and by
     2, with 1 frame a job and with several (one Predict call for a job's faces);
     the job rate each needs, against what the queue alone can do;
  3. latency: frames sent over HTTP to the capture service at about half the
     measured capacity, faces and empty frames taking turns, 2 workers;
     frame -> handled result and frame -> mood event (the frame that made the
     change; the smoothing's own wait is by design and not counted), p50/p99.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import redis  # noqa: E402

from musicalface.contracts import (FRAME_JOB_FUNC, FRAME_QUEUE, LIVE_CHANNEL_PREFIX, MOODS_STREAM,  # noqa: E402
                                   PENDING_FRAMES, FrameJob, MoodEvent, frame_key)

DEFAULT_REDIS = "redis://127.0.0.1:6379/13"  # a db of its own: the bench flushes it
SOLO_QUEUE = "bench-one-worker"


def pct(xs, q) -> float:
    return float(np.percentile(np.asarray(xs) * 1000, q)) if len(xs) else float("nan")


class Results:
    """Every handled frame's result, from the live channel."""

    def __init__(self, conn):
        self.sub = conn.pubsub()
        self.sub.psubscribe(f"{LIVE_CHANNEL_PREFIX}*")
        self.items: list[dict] = []
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            m = self.sub.get_message(timeout=0.2)
            if m and m["type"] == "pmessage":
                r = json.loads(m["data"])
                r["received"] = time.time()
                self.items.append(r)

    def wait(self, n: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while len(self.items) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.items) >= n

    def close(self):
        self._stop = True
        self._t.join(2)
        self.sub.close()


def noop_jobs(conn, redis_url: str, n: int) -> float:
    """Jobs/s of one SimpleWorker on jobs that do nothing (the same job function, no frames)."""
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    q = Queue("bench-noop", connection=conn, serializer=JSONSerializer)
    with conn.pipeline() as pipe:
        for _ in range(n):
            q.enqueue_call(FRAME_JOB_FUNC, args=([],), result_ttl=0, ttl=60, failure_ttl=3600, pipeline=pipe)
        pipe.execute()
    w = SimpleWorker([q], connection=conn, serializer=JSONSerializer)
    t0 = time.perf_counter()
    w.work(burst=True, logging_level="WARNING", with_scheduler=False)
    return n / (time.perf_counter() - t0)


def queue_frames(conn, store, data: bytes, n: int, per_job: int, cameras: int, tag: str) -> None:
    """n frames stored and queued at once, per_job to a job, the way the capture service does."""
    refs = []
    now = time.time()
    with conn.pipeline(transaction=False) as pipe:
        for i in range(n):
            fid = uuid.uuid4().hex
            ref = FrameJob(frame_id=fid, camera_id=f"{tag}-{i % cameras}", frame_ts=now + i * 1e-4,
                           key=frame_key(fid))
            pipe.set(ref.key, data, ex=120)
            pipe.zadd(PENDING_FRAMES, {fid: ref.frame_ts})
            refs.append(ref)
        pipe.execute()
    for i in range(0, n, per_job):
        store.enqueue(refs[i:i + per_job])


def saturated(conn, store, results: Results, data: bytes, n: int, per_job: int, tag: str) -> tuple[float, int]:
    start = len(results.items)
    t0 = time.time()
    queue_frames(conn, store, data, n, per_job, cameras=4, tag=tag)
    if not results.wait(start + n, timeout_s=120):
        print(f"  ({tag}: only {len(results.items) - start} of {n} frames came back in 120 s)")
    done = results.items[start:start + n]
    t1 = max(r["received"] for r in done) if done else time.time()
    return len(done) / (t1 - t0), len(done)


def paced_http(url: str, conn, results: Results, rate: float, seconds: float, face: bytes, blank: bytes):
    """Frames over HTTP at `rate` a second on two cameras; faces and empty frames take turns every 2 s,
    so each camera's mood changes about every 2 s."""
    import httpx

    start_items = len(results.items)
    first_event = conn.xlen(MOODS_STREAM)
    sent, refused = 0, 0
    client = httpx.Client(base_url=url, timeout=10)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        k = sent
        target = t0 + k / rate
        if target > time.monotonic():
            time.sleep(target - time.monotonic())
        phase = int((time.monotonic() - t0) / 2) % 2
        camera = f"live-{k % 2}"
        data = face if (phase + k % 2) % 2 == 0 else blank
        r = client.post(f"/v1/cameras/{camera}/frames", content=data, headers={"Content-Type": "image/jpeg"})
        sent += 1
        refused += r.status_code != 202
    client.close()
    results.wait(start_items + sent - refused, timeout_s=60)
    items = results.items[start_items:]
    frame_lat = [r["handled_ts"] - r["frame_ts"] for r in items]
    events = [MoodEvent.from_stream(f) for _, f in conn.xrange(MOODS_STREAM)][first_event:]
    event_lat = [e.ts - e.frame_ts for e in events]
    return sent, refused, len(items), frame_lat, event_lat


def run_model(kind: str, args, conn, model_dir: Path, face: bytes, blank: bytes, noop_rate: float):
    from services.capture.frame_store import FrameStore
    from services.capture.settings import CaptureSettings
    from tests.pipeline_parts import capture_service, start_workers, stop_workers

    # Smoothing that changes on the first frame of a new label: the bench times the pipeline, not the
    # smoothing's wait (that is a choice, set by MOOD_* for real cameras).
    env = {"EMOTION_MODEL_DIR": str(model_dir), "MOOD_MIN_CONFIDENCE": "0", "MOOD_MIN_FRAMES": "1",
           "MOOD_MIN_SHARE": "0.5", "MOOD_WINDOW_S": "0.5", "MOOD_MIN_DWELL_S": "0"}
    serving = None
    if kind == "tfserving":
        from tests.tfserving_standin import StandInServing

        serving = StandInServing(model_dir).start()
        env["TFSERVING_ADDR"] = serving.addr
    conn.flushdb()
    settings = CaptureSettings(redis_url=args.redis_url, frames_per_job=1)
    # Worker 1 also serves a queue of its own: the one-worker runs go there while worker 2 idles.
    stores = {1: FrameStore(conn, settings, queue_name=SOLO_QUEUE), 2: FrameStore(conn, settings)}
    results = Results(conn)
    procs = []
    try:
        print(f"\n== model: {kind}" + (f" (stand-in TF Serving on {serving.addr}, gRPC Predict)" if serving else ""))
        procs += start_workers(2, env, args.redis_url, [f"bench-{kind}-1", f"bench-{kind}-2"],
                               queues=[[SOLO_QUEUE, FRAME_QUEUE], [FRAME_QUEUE]])
        for workers in (1, 2):
            queue_frames(conn, stores[workers], face, 4, 1, 1, "warm")  # first calls compile; not counted
            results.wait(4 * workers, 60)
        rows = []
        for workers, per_job in ((1, 1), (1, 8), (2, 1), (2, 4)):
            predicts = serving.requests if serving else None
            fps, got = saturated(conn, stores[workers], results, face, args.frames, per_job,
                                 f"{kind}-w{workers}-b{per_job}")
            rows.append((workers, per_job, fps, got, serving.requests - predicts if serving else None))

        print(f"saturated: {args.frames} frames of a 512x512 JPEG with one face, queued at once, 4 cameras")
        print("  workers  frames/job  frames/s  jobs/s needed  share of queue capacity  Predict calls")
        for workers, per_job, fps, got, calls in rows:
            jobs = fps / per_job
            print(f"  {workers:7d}  {per_job:10d}  {fps:8.1f}  {jobs:13.1f}  {jobs / noop_rate:22.1%}  "
                  f"{'-' if calls is None else calls:>13}")

        worst = max(fps / per_job for _, per_job, fps, _, _ in rows)
        print(f"  -> the busiest setting needs {worst / noop_rate:.1%} of what the queue alone can carry: "
              "face detection and the CNN set the pace, not RQ")

        rate = max(2.0, 0.5 * max(r[2] for r in rows))
        with capture_service(CaptureSettings(redis_url=args.redis_url)) as url:
            sent, refused, got, frame_lat, event_lat = paced_http(url, conn, results, rate, args.seconds, face, blank)
        print(f"latency: {sent} frames over HTTP at {rate:.1f}/s for {args.seconds:g} s on 2 cameras, 2 workers "
              f"({refused} refused, {got} handled)")
        print(f"  frame -> result      p50 {pct(frame_lat, 50):7.1f} ms   p99 {pct(frame_lat, 99):7.1f} ms"
              f"   (n={len(frame_lat)})")
        print(f"  frame -> mood event  p50 {pct(event_lat, 50):7.1f} ms   p99 {pct(event_lat, 99):7.1f} ms"
              f"   (n={len(event_lat)} events)")
    finally:
        stop_workers(procs)
        results.close()
        if serving:
            serving.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=("both", "inprocess", "tfserving"), default="both")
    p.add_argument("--frames", type=int, default=24, help="frames per saturated run")
    p.add_argument("--seconds", type=float, default=8.0, help="length of the paced latency run")
    p.add_argument("--noop-jobs", type=int, default=500)
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    args = p.parse_args()

    from tests.pipeline_parts import astronaut_jpeg, blank_jpeg

    os.environ.pop("REDIS_URL", None)
    override = os.environ.get("EMOTION_MODEL_DIR")
    from musicalface.paths import MODELS_DIR, latest_version

    model_dir = Path(override) if override else MODELS_DIR / "emotion"
    try:
        version = latest_version(model_dir)
    except FileNotFoundError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    conn = redis.Redis.from_url(args.redis_url)
    conn.flushdb()
    face, blank = astronaut_jpeg(), blank_jpeg(512)
    load = os.getloadavg()
    print(f"emotion pipeline bench: model {model_dir}/{version}; {os.cpu_count()} CPUs; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; Redis {args.redis_url}")
    t0 = time.perf_counter()
    conn.flushdb()
    noop = noop_jobs(conn, args.redis_url, args.noop_jobs)
    print(f"queue alone: {args.noop_jobs} no-op jobs through one SimpleWorker: {noop:.0f} jobs/s")
    kinds = ("inprocess", "tfserving") if args.model == "both" else (args.model,)
    for kind in kinds:
        run_model(kind, args, conn, model_dir, face, blank, noop)
    conn.flushdb()
    print(f"\n(bench took {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
