"""Fixtures shared by the player tests: the Spotify emulator, the lyrics stand-in, settings, a login."""
from __future__ import annotations

import re

import pytest
import requests

from services.player.settings import PlayerSettings
from tests.lyrics_standin import LyricsStandIn, songs_from_csv
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


@pytest.fixture(scope="session")
def song_rows(shared_data):
    return songs_from_csv(shared_data / "lyrics" / "spotify_moods.csv")


@pytest.fixture
def emulator(catalog):
    emu = SpotifyEmulator(catalog).start()
    yield emu
    emu.stop()


@pytest.fixture
def lyrics(song_rows):
    from musicalface.contracts import Song

    extra = [Song(id=100_000 + i, artist=a, title=t, mood=m, confidence=0.99)
             for i, (a, t) in enumerate(MISSING) for m in ("happy",)]
    srv = LyricsStandIn(song_rows + extra).start()
    yield srv
    srv.stop()


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
