"""The emotion worker: an RQ job that reads a batch of frames, and the
`musicalface emotion worker` process that runs such jobs.

A job carries frame references (contracts.FrameJob), never the bytes: it takes
each frame's bytes from Redis with GETDEL, so a frame is gone once a worker has
it, finds the faces, classifies all of them with one model call, and folds the
results into each camera's smoothed mood. The model client is made once per
process; the worker is RQ's SimpleWorker, which runs jobs in that process
instead of forking one per job.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections import defaultdict

from musicalface.contracts import FRAME_QUEUE, NO_FACE, PENDING_FRAMES, FrameJob, FrameResult

log = logging.getLogger(__name__)

EXPIRED = "frame expired before a worker took it"

_lock = threading.Lock()
_context: dict = {}


def preload(settings=None) -> dict:
    """Make this process's reader, smoother and Redis client, once."""
    with _lock:
        if not _context:
            import redis

            from services.emotion.cli import make_reader
            from services.emotion.settings import EmotionSettings
            from services.emotion.smoothing import MoodSmoother

            s = settings or EmotionSettings()
            conn = redis.Redis.from_url(s.redis_url)
            _context.update(settings=s, reader=make_reader(s), redis=conn,
                            smoother=MoodSmoother(conn, s.smoothing(), s.mood_state_ttl_s, s.moods_stream_maxlen,
                                                  s.live_results))
            log.info("emotion model: %s", getattr(_context["reader"].model, "name", type(_context["reader"].model)))
        return _context


def take_frames(conn, jobs: list[FrameJob]) -> list[bytes | None]:
    """Each frame's bytes, deleted from Redis in the same step; None where it expired."""
    with conn.pipeline(transaction=False) as pipe:
        for j in jobs:
            pipe.getdel(j.key)
        pipe.zrem(PENDING_FRAMES, *[j.frame_id for j in jobs])
        return pipe.execute()[:-1]


def results_for(jobs: list[FrameJob], frames: list[bytes | None], reader) -> list[FrameResult]:
    present = [i for i, data in enumerate(frames) if data is not None]
    readings = dict(zip(present, reader.read_many([frames[i] for i in present], [jobs[i].frame_id for i in present])))
    out = []
    for i, j in enumerate(jobs):
        base = dict(frame_id=j.frame_id, camera_id=j.camera_id, frame_ts=j.frame_ts)
        r = readings.get(i)
        if r is None:
            out.append(FrameResult(**base, error=EXPIRED))
        elif r.error:
            out.append(FrameResult(**base, error=r.error))
        elif r.emotion is None:
            out.append(FrameResult(**base, label=NO_FACE))
        else:
            out.append(FrameResult(**base, label=r.mood, emotion=r.emotion, confidence=r.confidence,
                                   probabilities=r.probabilities, face=r.face))
    return out


def handle_frames(frames: list[dict]) -> dict:
    """The RQ job: frames is a list of contracts.FrameJob as dicts (RQ's JSON serializer)."""
    jobs = [FrameJob.model_validate(f) for f in frames]
    if not jobs:  # the bench's no-op job: what the queue alone costs
        return {"frames": 0}
    ctx = preload()
    results = results_for(jobs, take_frames(ctx["redis"], jobs), ctx["reader"])
    by_camera: dict[str, list[FrameResult]] = defaultdict(list)
    for r in results:
        by_camera[r.camera_id].append(r)
    summary = {"frames": len(jobs), "faces": sum(r.emotion is not None for r in results),
               "errors": sum(r.error is not None for r in results), "events": 0, "late": 0}
    for camera_id, rs in by_camera.items():
        applied = ctx["smoother"].apply(camera_id, rs)
        summary["events"] += len(applied.events)
        summary["late"] += applied.late
        for ev in applied.events:
            log.info("camera %s: mood %s (%s %.2f)", camera_id, ev.mood, ev.emotion or "-", ev.confidence)
    return summary


# --- the worker process ---------------------------------------------------------------------------

def _worker_class():
    from rq.worker import SimpleWorker

    from services.emotion.classifier import ModelUnavailable

    class FrameWorker(SimpleWorker):
        """SimpleWorker that says in one line why a job failed when the model is away."""

        def handle_exception(self, job, *exc_info):
            if exc_info and isinstance(exc_info[1], ModelUnavailable):
                self.log.warning("job %s failed: %s", job.id, exc_info[1])
                return
            super().handle_exception(job, *exc_info)

    return FrameWorker


def run_worker(args) -> int:
    if args.workers > 1:
        return _run_several(args)
    from rq import Queue
    from rq.serializers import JSONSerializer

    ctx = preload()
    names = args.queue or [FRAME_QUEUE]
    queues = [Queue(n, connection=ctx["redis"], serializer=JSONSerializer) for n in names]
    worker = _worker_class()(queues, connection=ctx["redis"], serializer=JSONSerializer, name=args.name)
    log.info("emotion worker %s on queue %s (%s)", worker.name, ", ".join(names),
             re.sub(r"//[^@/]*@", "//***@", ctx["settings"].redis_url))
    worker.work(burst=args.burst, with_scheduler=False, max_jobs=args.max_jobs,
                logging_level="DEBUG" if getattr(args, "verbose", False) else "WARNING")  # not 4 lines a job
    return 0


def _run_several(args) -> int:
    """N worker processes, each with its own model client; signals go to all of them."""
    cmd = [sys.executable, "-m", "musicalface.cli", "emotion", "worker"]
    for name in args.queue or []:
        cmd += ["--queue", name]
    if args.burst:
        cmd.append("--burst")
    if args.max_jobs:
        cmd += ["--max-jobs", str(args.max_jobs)]
    procs = [subprocess.Popen(cmd + (["--name", f"{args.name}-{i}"] if args.name else [])) for i in range(args.workers)]

    def forward(signum, _frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(p.wait() for p in procs)


def add_worker_command(esub) -> None:
    w = esub.add_parser("worker", help="handle frames from the capture service (an RQ SimpleWorker)")
    w.add_argument("--workers", type=int, default=1, help="worker processes to run (each loads the model once)")
    w.add_argument("--queue", action="append", help=f"RQ queue; repeat for several, first first (default {FRAME_QUEUE})")
    w.add_argument("--burst", action="store_true", help="quit once the queue is empty")
    w.add_argument("--max-jobs", type=int, help="quit after this many jobs")
    w.add_argument("--name", help="worker name (default: RQ's)")
    w.set_defaults(func=run_worker)


if __name__ == "__main__":  # `python -m services.emotion.worker` == `musicalface emotion worker`
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from musicalface.cli import main

    sys.exit(main(["emotion", "worker", *sys.argv[1:]]))
