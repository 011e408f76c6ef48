"""The capture service: takes frames over HTTP and queues them for the emotion workers.

    POST /v1/cameras/{camera_id}/frames   one JPEG or PNG frame (raw body, or a form with one file)
    GET  /v1/cameras/{camera_id}/mood     the camera's smoothed mood and its last handled frame
    GET  /health
"""
from __future__ import annotations

import hmac
import logging
import re
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from musicalface.contracts import CAMERA_ID_PATTERN, CameraMood, camera_state_key
from services.capture.frame_store import FrameStore, QueueFull
from services.capture.settings import CaptureSettings
from services.emotion.image_decode import ImageError, header_size, image_format

log = logging.getLogger(__name__)

_CAMERA_ID = re.compile(CAMERA_ID_PATTERN)
MULTIPART_OVERHEAD = 16 * 1024


def check_frame(data: bytes, max_bytes: int, max_pixels: int) -> tuple[str, int, int]:
    """(format, width, height) of an acceptable frame, or an HTTPException that says why not.
    Only the header is read: decoding is the worker's job."""
    if not data:
        raise HTTPException(400, "empty frame: the request carried no image data")
    if len(data) > max_bytes:
        raise HTTPException(413, f"frame too large: {len(data):,} bytes (limit {max_bytes:,})")
    fmt = image_format(data)
    if fmt not in ("jpeg", "png"):
        raise HTTPException(415, "not a JPEG or PNG frame")
    try:
        w, h = header_size(data, fmt)
    except ImageError as e:
        raise HTTPException(400, str(e)) from None
    if w <= 0 or h <= 0:
        raise HTTPException(400, f"corrupt {fmt.upper()}: size {w}x{h}")
    if w * h > max_pixels:
        raise HTTPException(413, f"frame too large: {w}x{h} = {w * h:,} pixels (limit {max_pixels:,})")
    return fmt, w, h


def check_camera(camera_id: str) -> None:
    if not _CAMERA_ID.match(camera_id):
        raise HTTPException(422, "bad camera id: use 1-64 letters, digits, '.', '_' or '-', starting with a letter "
                                 "or digit")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused as soon as it passes the limit (a big upload is never held whole)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"frame too large: {int(declared):,} bytes (limit {limit:,})")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"frame too large: over {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_frame(request: Request, max_bytes: int) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        request._body = await read_body(request, max_bytes + MULTIPART_OVERHEAD)  # form() reads it from here
        form = await request.form(max_files=1, max_fields=4)
        files = [v for v in form.values() if hasattr(v, "read")]
        if not files:
            raise HTTPException(400, "empty frame: the form carried no file")
        return await files[0].read()
    return await read_body(request, max_bytes)


def create_app(settings: CaptureSettings | None = None, redis=None) -> FastAPI:
    s = settings or CaptureSettings()
    token = s.token()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import redis as redis_lib

        conn = redis or redis_lib.Redis.from_url(s.redis_url, socket_timeout=5)
        app.state.store = FrameStore(conn, s)
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(title="Musical Face capture service", lifespan=lifespan)

    def authorize(request: Request) -> None:
        if not token:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RedisError)
    async def redis_down(request: Request, exc: RedisError):
        log.warning("Redis error on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": f"frame store unavailable: {exc}"}, status_code=503)

    @app.post("/v1/cameras/{camera_id}/frames", status_code=202)
    async def post_frame(camera_id: str, request: Request) -> dict:
        authorize(request)
        check_camera(camera_id)
        data = await read_frame(request, s.max_frame_bytes)
        check_frame(data, s.max_frame_bytes, s.max_frame_pixels)
        store: FrameStore = request.app.state.store
        try:
            job, depth = await run_in_threadpool(store.put, data, camera_id)
        except QueueFull as e:
            raise HTTPException(429, f"too many frames waiting ({e.depth}): send fewer, older frames are dropped",
                                headers={"Retry-After": str(e.retry_after_s)}) from None
        return {"frame_id": job.frame_id, "camera_id": camera_id, "queued": depth}

    @app.get("/v1/cameras/{camera_id}/mood")
    def get_mood(camera_id: str, request: Request) -> dict:
        authorize(request)
        check_camera(camera_id)
        raw = request.app.state.store.redis.get(camera_state_key(camera_id))
        mood = CameraMood.model_validate_json(raw) if raw else CameraMood(camera_id=camera_id)
        return mood.model_dump()

    @app.get("/health")
    def health(request: Request):
        from rq import Worker

        store: FrameStore = request.app.state.store
        try:
            store.redis.ping()
            return {"status": "ok", "frames_waiting": store.depth(), "jobs_waiting": store.queue.count,
                    "workers": Worker.count(queue=store.queue)}
        except RedisError as e:
            return JSONResponse({"status": "unavailable", "detail": f"Redis: {e}"}, status_code=503)

    return app
