"""Stand-in for the lyrics service's GET /playlists/{mood} until services/lyrics lands:
a loopback HTTP server answering contracts.Playlist JSON from real Song rows."""
from __future__ import annotations

import csv
import json
import random
import re
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

from musicalface.contracts import MOODS, Playlist, Song

# spotify_moods.csv has its own four moods; these are the nearest of ours.
CSV_MOOD = {"Happy": "happy", "Sad": "sad", "Calm": "relaxed", "Energetic": "angry"}


def plain_title(name: str) -> str:
    # How a lyrics site writes it: no " - Remastered 2009", no "(feat. X)".
    name = name.split(" - ")[0]
    return re.sub(r"\s*\([^)]*\)", "", name).strip() or name


def songs_from_csv(path: Path) -> list[Song]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [Song(id=i + 1, artist=r["artist"], title=plain_title(r["name"]), mood=CSV_MOOD[r["mood"]],
                 confidence=round(0.5 + (zlib.crc32(r["id"].encode()) % 500) / 1000, 3)) for i, r in enumerate(rows)]


class LyricsStandIn:
    def __init__(self, songs: list[Song]):
        self.songs = songs
        self.requests: list[dict] = []
        self.fail_next = 0  # answer 503 this many times
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "LyricsStandIn":
        me = self

        class H(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            def log_message(self, *a):
                pass

            def do_GET(self):
                status, body = me._answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = _QuietServer(("127.0.0.1", 0), H)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, path: str):
        u = urlparse(path)
        q = dict(parse_qsl(u.query))
        self.requests.append({"path": u.path, **q})
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, {"detail": "busy"}
        m = re.fullmatch(r"/playlists/([^/]+)", u.path)
        if not m or m.group(1) not in MOODS:
            return 404, {"detail": "unknown mood"}
        mood = m.group(1)
        exclude = {int(x) for x in q.get("exclude", "").split(",") if x}
        pool = [s for s in self.songs if s.mood == mood and s.id not in exclude]
        limit = int(q.get("limit", 10))
        if "seed" in q:
            pool = random.Random(int(q["seed"])).sample(pool, min(limit, len(pool)))
        else:
            pool = sorted(pool, key=lambda s: -s.confidence)[:limit]
        return 200, Playlist(mood=mood, songs=pool).model_dump()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A player killed mid-request (the tests do that) is not an error here.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)
