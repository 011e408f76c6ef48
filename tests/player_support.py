"""Fixtures shared by the player tests: the Spotify emulator, the real lyrics service, settings, a login."""
from __future__ import annotations

import contextlib
import csv
import re
from pathlib import Path

import pytest
import requests

from services.player.settings import PlayerSettings
from tests.conftest import free_port
from tests.http_servers import serve_app
from tests.spotify_emulator import SpotifyEmulator, catalog_from_csv, track

# Songs no catalog has, so a search must miss.
MISSING = [("Nobody In Particular", "Zzyzx Unfindable Song"), ("The Absent Band", "Nowhere Tune Qxv")]


@pytest.fixture(scope="session")
def catalog(shared_data):
    tracks = catalog_from_csv(shared_data / "lyrics" / "spotify_moods.csv")
    # Decoys the matcher must not pick over the real recording.
    tracks += [track("decoyKaraoke0000000001", "Africa (Karaoke Version)", ["Sing Along Stars"], 90),
               track("decoyTribute0000000002", "Africa - Tribute", ["TOTO Tribute Band"], 95)]
    return tracks


# spotify_moods.csv has its own four moods; these are the nearest of ours.
CSV_MOOD = {"Happy": "happy", "Sad": "sad", "Calm": "relaxed", "Energetic": "angry"}


def plain_title(name: str) -> str:
    # How a lyrics catalog writes it: no " - Remastered 2009", no "(feat. X)".
    name = name.split(" - ")[0]
    return re.sub(r"\s*\([^)]*\)", "", name).strip() or name


def write_catalog(src: Path, dest: Path) -> Path:
    """A lyrics-service labels CSV of the songs in spotify_moods.csv (so Spotify has them) and two it has not."""
    with open(src, newline="", encoding="utf-8") as f:
        rows = [(r["artist"], plain_title(r["name"]), CSV_MOOD[r["mood"]]) for r in csv.DictReader(f)]
    rows += [(a, t, "happy") for a, t in MISSING]
    with open(dest, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["artist", "title", "mood", "confidence", "model_version"])
        for i, (a, t, m) in enumerate(rows):
            w.writerow([a, t, m, f"{0.5 + (i % 50) / 100:.2f}", "test/1"])
    return dest


class LyricsService:
    """The real lyrics app (create_app) under uvicorn on loopback with its own SQLite file;
    a middleware notes each request so tests can see what the player asked."""

    def __init__(self, catalog_csv: Path, db_path: Path, port: int | None = None):
        from services.lyrics.settings import LyricsSettings

        self.settings = LyricsSettings(database_url=f"sqlite:///{db_path}", lyrics_catalog=catalog_csv)
        self.port = port or free_port()
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def asks(self, path: str) -> list[dict]:
        """The query of each request to `path`, repeated parameters as lists."""
        out = []
        for p, q in self.requests:
            if p == path:
                d: dict = {}
                for k, v in q:
                    d.setdefault(k, []).append(v)
                out.append(d)
        return out

    @contextlib.contextmanager
    def running(self):
        from services.lyrics.app import create_app

        app = create_app(self.settings)

        @app.middleware("http")
        async def note(request, call_next):
            self.requests.append((request.url.path, list(request.query_params.multi_items())))
            return await call_next(request)

        with serve_app(app, "lyrics service", self.port):
            self.requests.clear()
            yield self


@pytest.fixture(scope="session")
def lyrics_catalog(shared_data, tmp_path_factory):
    return write_catalog(shared_data / "lyrics" / "spotify_moods.csv", tmp_path_factory.mktemp("lyr") / "labels.csv")


@pytest.fixture(scope="session")
def lyrics_session(lyrics_catalog, tmp_path_factory):
    svc = LyricsService(lyrics_catalog, tmp_path_factory.mktemp("lyrdb") / "lyrics.db")
    with svc.running():
        yield svc


@pytest.fixture
def emulator(catalog):
    emu = SpotifyEmulator(catalog).start()
    yield emu
    emu.stop()


@pytest.fixture
def lyrics(lyrics_session):
    lyrics_session.requests.clear()
    return lyrics_session


@pytest.fixture
def settings_for(emulator, tmp_path):
    def make(mode: str = "links", **kw) -> PlayerSettings:
        base = dict(player_mode=mode, spotipy_client_id=emulator.client_id,
                    spotipy_client_secret=emulator.client_secret, spotipy_redirect_uri="http://127.0.0.1:9/callback",
                    spotify_api_base=emulator.api_base, spotify_accounts_base=emulator.base,
                    spotify_token_cache=tmp_path / "token.json", spotify_timeout_s=5.0, player_block_ms=200,
                    player_consumer="test-player")
        base.update(kw)
        return PlayerSettings(**base)
    return make


def follow_login(emulator, printed: list[str]) -> str:
    """What a browser does: open the printed address, get sent back to the redirect URI."""
    url = next(m.group(0) for line in printed for m in [re.search(r"http\S+/authorize\?\S+", line)] if m)
    r = requests.get(url, allow_redirects=False, timeout=5)
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def do_login(settings: PlayerSettings, emulator) -> dict:
    from services.player.login import login

    printed: list[str] = []
    return login(settings, open_browser=False, out=printed.append, read_line=lambda: follow_login(emulator, printed))
