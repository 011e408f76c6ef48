"""`musicalface up`: the compose services as local processes, for a developer
with Redis (and optionally PostgreSQL) but no Docker. Emotion workers use the
in-process model unless TFSERVING_ADDR is set. Ctrl-C stops them all."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HEALTH_TIMEOUT_S = 120


def add_commands(sub) -> None:
    p = sub.add_parser("up", help="run all services as local processes (needs Redis; no Docker)")
    p.add_argument("--workers", type=int, default=1, help="emotion worker processes")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--capture-port", type=int, default=8000)
    p.add_argument("--lyrics-port", type=int, default=8001)
    p.add_argument("--no-player", action="store_true", help="leave the player out")
    p.set_defaults(func=up)


def _check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as e:
        raise RuntimeError(f"musicalface up needs Redis at {url} ({e.__class__.__name__}); "
                           "start redis-server or set REDIS_URL") from None


def _pump(name: str, stream) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"[{name}] {line.decode(errors='replace')}")
        sys.stdout.flush()


def _wait_healthy(url: str, proc: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} not healthy at {url} after {HEALTH_TIMEOUT_S} s")


def up(args) -> int:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    _check_redis(redis_url)
    lyrics_url = f"http://{args.host}:{args.lyrics_port}"
    capture_url = f"http://{args.host}:{args.capture_port}"
    env = {**os.environ, "REDIS_URL": redis_url, "LYRICS_URL": lyrics_url, "CAPTURE_URL": capture_url,
           "PYTHONUNBUFFERED": "1"}
    me = [sys.executable, "-m", "musicalface.cli"]
    plan = [("lyrics", [*me, "lyrics", "serve", "--host", args.host, "--port", str(args.lyrics_port)], f"{lyrics_url}/health"),
            ("capture", [*me, "capture", "serve", "--host", args.host, "--port", str(args.capture_port)],
             f"{capture_url}/health")]
    plan += [(f"emotion-{i + 1}", [*me, "emotion", "worker"], None) for i in range(args.workers)]
    if not args.no_player:
        plan.append(("player", [*me, "player", "run"], None))

    procs: list[tuple[str, subprocess.Popen]] = []
    stopping = threading.Event()

    def stop(*_):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    try:
        for name, cmd, health in plan:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            procs.append((name, proc))
            threading.Thread(target=_pump, args=(name, proc.stdout), daemon=True).start()
            if health:
                _wait_healthy(health, proc, name)
        print(f"musicalface up: capture {capture_url}, lyrics {lyrics_url} (docs at /docs), "
              f"{args.workers} emotion worker(s){'' if args.no_player else ', player'}; "
              f"models {'via TF Serving at ' + env['TFSERVING_ADDR'] if env.get('TFSERVING_ADDR') else 'in process'}. "
              "Ctrl-C stops.", flush=True)
        while not stopping.is_set():
            for name, proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with status {proc.returncode}; stopping the rest")
            stopping.wait(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
