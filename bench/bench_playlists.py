"""Playlist service speed: GET /playlists/{mood} requests per second and p50/p99
latency at 50 concurrent clients, against `musicalface lyrics serve` (uvicorn,
one process) on loopback, filled with the committed catalog; on SQLite and on
PostgreSQL (DATABASE_URL or the local server; a schema of its own, dropped
after). Bounded: a fixed number of requests. Prints numbers; asserts nothing.

    .venv/bin/python bench/bench_playlists.py [--requests 3000] [--clients 50] [--limit 10]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

MOODS = ("angry", "happy", "relaxed", "sad")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "musicalface.cli", "lyrics", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120  # the first start loads the catalog
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the lyrics service exited: {proc.stderr.read().decode()[-500:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the lyrics service did not start in 120 s")


async def hammer(url: str, n_requests: int, clients: int, limit: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    rng = random.Random(0)
    moods = [rng.choice(MOODS) for _ in range(n_requests)]

    async def client(http: httpx.AsyncClient, queue):
        nonlocal errors
        for i in queue:
            t0 = time.perf_counter()
            try:
                r = await http.get(f"/playlists/{moods[i]}", params={"limit": limit})
                ok = r.status_code == 200 and len(r.json()["songs"]) == limit
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            errors += not ok

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        warm = iter(range(min(n_requests, 2 * clients)))
        await asyncio.gather(*(client(http, warm) for _ in range(clients)))  # open the connections
        latencies.clear()
        errors = 0
        queue = iter(range(n_requests))
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http, queue) for _ in range(clients)))
        wall = time.perf_counter() - t0
    return wall, latencies, errors


def measure(name: str, database_url: str, args) -> None:
    proc, url = start_server(database_url)
    try:
        songs = httpx.get(f"{url}/health", timeout=10).json()["songs"]
        wall, lat, errors = asyncio.run(hammer(url, args.requests, args.clients, args.limit))
        ms = np.asarray(lat) * 1000
        print(f"{name:10s} {songs} songs, {args.requests} requests, {args.clients} clients, limit {args.limit}: "
              f"{len(lat) / wall:7.1f} req/s  p50 {np.percentile(ms, 50):6.1f} ms  p99 {np.percentile(ms, 99):6.1f} ms"
              f"  errors {errors}", flush=True)
    finally:
        proc.terminate()
        proc.wait(20)


def postgres_url() -> str | None:
    from services.lyrics.db import ping
    from services.lyrics.settings import normalise_db_url

    url = normalise_db_url(os.environ.get("DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        ping(url)
        return url
    except Exception as e:  # noqa: BLE001 - any failure means: no PostgreSQL here
        print(f"postgresql: not reachable at {url} ({type(e).__name__}): skipped")
        return None


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--limit", type=int, default=10)
    args = p.parse_args()
    print(f"GET /playlists/{{mood}} on loopback ({os.cpu_count()} CPUs, shared; server and clients on one machine)")
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", f"sqlite:///{tmp}/lyrics.db", args)
    pg = postgres_url()
    if pg:
        from sqlalchemy import create_engine, text

        schema = f"mf_lyrics_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in pg else "?"
            measure("postgresql", f"{pg}{sep}options=-csearch_path%3D{schema}", args)
        finally:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
