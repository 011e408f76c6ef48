"""Frames into Redis, references onto the RQ queue.

A frame's bytes sit under their own key with a short expiry (the worker deletes
them with GETDEL); the RQ job carries only contracts.FrameJob references, with
RQ's JSON serializer, a short `ttl`, no kept result, and failures kept for hours.
Frames that arrive while a job is already waiting share the next job, so that
under load one job (and one Predict call) covers several frames.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

from musicalface.contracts import FRAME_JOB_FUNC, FRAME_QUEUE, PENDING_FRAMES, FrameJob, frame_key
from services.capture.settings import CaptureSettings

log = logging.getLogger(__name__)


class QueueFull(Exception):
    def __init__(self, depth: int, retry_after_s: int = 1):
        super().__init__(f"{depth} frames are waiting for a worker")
        self.depth, self.retry_after_s = depth, retry_after_s


class FrameStore:
    def __init__(self, redis, settings: CaptureSettings | None = None, queue_name: str = FRAME_QUEUE):
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.redis, self.settings = redis, settings or CaptureSettings()
        self.queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)
        self.jobs_enqueued = 0
        self._buffer: list[FrameJob] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = None
        if self.settings.frames_per_job > 1:
            self._thread = threading.Thread(target=self._flush_loop, name="frame-batcher", daemon=True)
            self._thread.start()

    # --- frames -----------------------------------------------------------------------------------

    def depth(self) -> int:
        """Frames stored and not yet taken by a worker (frames past their expiry do not count)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(PENDING_FRAMES, "-inf", time.time() - self.settings.frame_ttl_s)
            pipe.zcard(PENDING_FRAMES)
            return pipe.execute()[1]

    def put(self, data: bytes, camera_id: str) -> tuple[FrameJob, int]:
        """Store one frame and queue it; returns its job reference and the frames now waiting."""
        s = self.settings
        now = time.time()
        frame_id = uuid.uuid4().hex
        # Count this frame in before storing its bytes, so that concurrent requests cannot overshoot.
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(PENDING_FRAMES, "-inf", now - s.frame_ttl_s)
            pipe.zadd(PENDING_FRAMES, {frame_id: now})
            pipe.zcard(PENDING_FRAMES)
            depth = pipe.execute()[2]
        if depth > s.max_queue_depth:
            self.redis.zrem(PENDING_FRAMES, frame_id)
            raise QueueFull(depth - 1)
        job = FrameJob(frame_id=frame_id, camera_id=camera_id, frame_ts=now, key=frame_key(frame_id))
        self.redis.set(job.key, data, ex=s.frame_ttl_s)
        self._submit(job)
        return job, depth

    # --- jobs -------------------------------------------------------------------------------------

    def enqueue(self, frames: list[FrameJob]):
        s = self.settings
        job = self.queue.enqueue_call(FRAME_JOB_FUNC, args=([f.model_dump() for f in frames],),
                                      ttl=s.job_ttl_s, result_ttl=0, failure_ttl=s.failure_ttl_s,
                                      timeout=s.job_timeout_s,
                                      description=f"{len(frames)} frame(s) from {frames[0].camera_id}")
        self.jobs_enqueued += 1
        return job

    def _submit(self, job: FrameJob) -> None:
        if self._thread is None:
            self.enqueue([job])
            return
        with self._cond:
            self._buffer.append(job)
            self._cond.notify()

    def _flush_loop(self) -> None:
        s = self.settings
        while True:
            with self._cond:
                while not self._buffer and not self._closed:
                    self._cond.wait()
                if not self._buffer and self._closed:
                    return
            # Only wait for company when a job is already waiting: an idle worker gets the frame at once.
            if not self._closed and len(self._buffer) < s.frames_per_job and self._backlog():
                deadline = time.monotonic() + s.batch_wait_ms / 1000
                with self._cond:
                    while len(self._buffer) < s.frames_per_job and not self._closed:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
            with self._cond:
                batch, self._buffer = self._buffer[:s.frames_per_job], self._buffer[s.frames_per_job:]
            if batch:
                try:
                    self.enqueue(batch)
                except Exception as e:  # the frames expire by themselves; the service goes on
                    log.error("could not queue %d frame(s): %s", len(batch), e)

    def _backlog(self) -> bool:
        try:
            return self.queue.count > 0
        except Exception:
            return False

    def close(self) -> None:
        """Queue what is buffered and stop the batcher."""
        if self._thread is None:
            return
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(5)
