"""A FastAPI app under a real uvicorn server on a free loopback port, for tests."""
from __future__ import annotations

import contextlib
import threading
import time

from tests.conftest import free_port


@contextlib.contextmanager
def serve_app(app, name: str, port: int | None = None, start_timeout_s: float = 30.0):
    """Run `app` until the block ends; yields its base URL once /health answers 200."""
    import httpx
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_timeout_s
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if not thread.is_alive():
            raise RuntimeError(f"the {name} stopped while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {name} did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
