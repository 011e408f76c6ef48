"""`musicalface capture SOURCE` (the client) and `musicalface capture serve` (the service).
The client's imports stay light: no TensorFlow, no Redis, no FastAPI."""
from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)


def add_commands(sub) -> None:
    p = sub.add_parser("capture", help="send frames to the capture service; `capture serve` runs the service",
                       description="Send frames from SOURCE to the capture service and show what comes back, "
                                   "or run the service itself with `musicalface capture serve`.")
    p.add_argument("source", metavar="SOURCE",
                   help="webcam index (0), video file, image file or folder of images; or `serve`")
    p.add_argument("--camera", default="cam0", help="camera id (default cam0)")
    p.add_argument("--fps", type=float, default=5.0, help="frames per second to send (default 5)")
    p.add_argument("--count", type=int, help="stop after this many frames")
    p.add_argument("--loop", action="store_true", help="start a file or folder over at its end")
    p.add_argument("--max-side", type=int, default=640, help="shrink frames to this many pixels on the long side")
    p.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the last frame's result")
    p.add_argument("--url", help="capture service URL (default: CAPTURE_URL or http://127.0.0.1:8000)")
    p.add_argument("--host", help="serve: address to listen on (default CAPTURE_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="serve: port (default CAPTURE_PORT or 8000)")
    p.set_defaults(func=capture)


def capture(args) -> int:
    return serve(args) if args.source == "serve" else send(args)


def send(args) -> int:
    from itertools import islice

    from services.capture.client import CaptureClient, CaptureError, run
    from services.capture.settings import CaptureClientSettings
    from services.capture.sources import SourceError, open_source

    logging.getLogger("httpx").setLevel(logging.WARNING)  # the display says what each request did
    s = CaptureClientSettings()
    token = s.capture_token.get_secret_value() if s.capture_token else None
    client = CaptureClient(args.url or s.capture_url, args.camera, token)
    try:
        frames = open_source(args.source, args.fps, args.max_side, args.loop)
        if args.count:
            frames = islice(frames, args.count)
        return run(client, frames, args.wait, out=lambda line: print(line, flush=True))
    except (CaptureError, SourceError) as e:
        raise RuntimeError(str(e)) from None
    finally:
        client.close()


def redact(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)


def serve(args) -> int:
    import redis
    import uvicorn

    from services.capture.app import create_app
    from services.capture.settings import CaptureSettings

    s = CaptureSettings()
    host, port = args.host or s.host, args.port or s.port
    try:
        redis.Redis.from_url(s.redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as e:
        raise RuntimeError(f"cannot reach Redis at {redact(s.redis_url)}: {e}") from None
    if not s.token() and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("CAPTURE_TOKEN is not set: anyone who reaches %s:%s can send frames", host, port)
    uvicorn.run(create_app(s), host=host, port=port, log_level="info")
    return 0
