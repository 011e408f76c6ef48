"""The player's own costs: song -> Spotify track resolution, cold and cached, and mood event -> plays
record latency through real Redis, against the loopback Spotify emulator from tests/ and the real lyrics
service (SQLite, in a temp folder).
Prints numbers, asserts nothing, runs in well under a minute.

    .venv/bin/python bench/bench_player.py [--events 24]

Spotify and the lyrics service here are local Python servers, so these are the player's overheads
(spotipy, matching, Redis, the commit, one lyrics call), not Spotify's own latency (tens to hundreds
of ms a call).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402

from musicalface.contracts import MOODS, MOODS_STREAM, PLAYS_STREAM, MoodEvent  # noqa: E402
from services.player.cli import build_player  # noqa: E402
from services.player.resolver import TrackResolver  # noqa: E402
from services.player.search_cache import SearchCache  # noqa: E402
from services.player.settings import PlayerSettings  # noqa: E402
from services.player.spotify_client import app_api  # noqa: E402
from tests.player_support import LyricsService, plain_title, write_catalog  # noqa: E402
from tests.spotify_emulator import SpotifyEmulator, catalog_from_csv  # noqa: E402

DEFAULT_REDIS = "redis://127.0.0.1:6379/12"  # a db of its own: the bench flushes it
CSV = REPO.parent / "shared" / "data" / "lyrics" / "spotify_moods.csv"


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=24)
    args = ap.parse_args()
    url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    r = redis.Redis.from_url(url)
    r.flushdb()
    emu = SpotifyEmulator(catalog_from_csv(CSV)).start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-player-"))
    svc = LyricsService(write_catalog(CSV, tmp / "labels.csv"), tmp / "lyrics.db")
    stack = contextlib.ExitStack()
    lyr = stack.enter_context(svc.running())
    base = dict(redis_url=url, lyrics_url=lyr.url, spotipy_client_id=emu.client_id,
                spotipy_client_secret=emu.client_secret, spotify_api_base=emu.api_base,
                spotify_accounts_base=emu.base, player_block_ms=100, player_consumer="bench")
    try:
        s = PlayerSettings(player_mode="resolve", **base)
        resolver = TrackResolver(app_api(s), SearchCache(r))
        with open(CSV, newline="", encoding="utf-8") as f:
            sample = [(r["artist"], plain_title(r["name"])) for r in csv.DictReader(f)][:100]
        t0 = time.perf_counter()
        found = sum(resolver.resolve(a, t).uri is not None for a, t in sample)
        cold = (time.perf_counter() - t0) / len(sample)
        n_search = len(emu.calls("GET", "/v1/search"))
        t0 = time.perf_counter()
        for a, t in sample:
            resolver.resolve(a, t)
        warm = (time.perf_counter() - t0) / len(sample)
        print(f"resolve, {len(sample)} songs: found {found}; {n_search} searches; "
              f"cold {cold * 1000:.1f} ms/song, cached {warm * 1000:.2f} ms/song")

        for mode in ("links", "resolve"):
            r.flushdb()
            emu.requests.clear()
            player = build_player(PlayerSettings(player_mode=mode, **base))
            t = threading.Thread(target=player.run, daemon=True)
            t.start()
            lat = []
            for i in range(args.events):
                cam = f"cam{i % 3}"
                ev = MoodEvent(camera_id=cam, mood=MOODS[(i // 3) % 4], frame_ts=time.time())
                t0 = time.perf_counter()
                r.xadd(MOODS_STREAM, ev.to_stream())
                while r.xlen(PLAYS_STREAM) < i + 1:
                    time.sleep(0.001)
                lat.append(time.perf_counter() - t0)
            player.stop()
            t.join(10)
            print(f"{mode}: event -> plays record over {len(lat)} events: p50 {pct(lat, .5) * 1000:.1f} ms, "
                  f"p95 {pct(lat, .95) * 1000:.1f} ms, mean {statistics.mean(lat) * 1000:.1f} ms; "
                  f"{len(emu.calls('GET', '/v1/search'))} searches")
    finally:
        emu.stop()
        stack.close()
        r.flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
