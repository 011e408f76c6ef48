"""Real services for the tests: Redis and PostgreSQL.

Each comes from REDIS_URL / DATABASE_URL, else the standard local server,
else one started here from PATH (redis-server; initdb + pg_ctl), else the
tests that need it are skipped with a loud reason.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"  # a db of its own: the tests flush it
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_alive(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _loud_skip(msg: str):
    warnings.warn(msg)
    print(f"\n*** SKIPPING: {msg}", file=sys.stderr)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    if _redis_alive(url):
        yield url
        return
    exe = shutil.which("redis-server")
    if not exe:
        _loud_skip(f"no Redis at {url} and no redis-server on PATH: set REDIS_URL or install Redis 7")
    port, workdir = free_port(), tempfile.mkdtemp(prefix="mf-redis-")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        if _redis_alive(url):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        _loud_skip(f"started {exe} on port {port} but it did not answer")
    yield url
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_client(redis_url):
    import redis

    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    yield r
    r.flushdb()
    r.close()


def _pg_alive(url: str) -> bool:
    from services.lyrics.db import ping

    try:
        ping(url)
        return True
    except Exception:
        return False


def _start_postgres():
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        return None, None, "no PostgreSQL at DATABASE_URL or 127.0.0.1:5432, and no initdb/pg_ctl on PATH"
    workdir = Path(tempfile.mkdtemp(prefix="mf-pg-"))
    prefix = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if not shutil.which("runuser"):
            return None, None, "running as root without runuser: cannot start a private PostgreSQL"
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(workdir, "postgres")
    port = free_port()
    data = workdir / "data"
    steps = [[initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
             [pg_ctl, "-D", str(data), "-o", f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1", "-w", "start",
              "-l", str(workdir / "log")]]
    for step in steps:
        if subprocess.run(prefix + step, capture_output=True).returncode != 0:
            return None, None, f"could not run {' '.join(step[:1])} to start a private PostgreSQL"
    stop = prefix + [pg_ctl, "-D", str(data), "-m", "fast", "stop"]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", (stop, workdir), None


@pytest.fixture(scope="session")
def postgres_url():
    from services.lyrics.settings import normalise_db_url

    url = normalise_db_url(os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES)
    if _pg_alive(url):
        yield url
        return
    url, cleanup, why = _start_postgres()
    if why:
        _loud_skip(why)
    yield url
    stop, workdir = cleanup
    subprocess.run(stop, capture_output=True)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        _loud_skip(f"{SHARED_DATA} is missing: the data sets live beside the checkout in ../shared/data")
    return SHARED_DATA
