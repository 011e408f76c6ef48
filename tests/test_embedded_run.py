"""`musicalface run` (what `make run` runs): photo -> emotion -> mood -> 10 songs, in one process."""
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.player_support import catalog, lyrics_catalog  # noqa: F401  (fixtures)
from tests.spotify_emulator import SpotifyEmulator

SPOTIFY_VARS = ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "SPOTIFY_API_BASE", "SPOTIFY_ACCOUNTS_BASE")


def run(tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items() if k not in SPOTIFY_VARS and k != "TFSERVING_ADDR"}
    base["DATABASE_URL"] = f"sqlite:///{tmp_path / 'lyrics.db'}"
    return subprocess.run([sys.executable, "-m", "musicalface.cli", "run", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**base, **env})


def songs_in(out: str) -> list[tuple[str, str]]:
    """(artist - title, link) of each numbered song."""
    return re.findall(r"^\s*\d+\. (.+)\n\s+(https://\S+)$", out, re.M)


def test_default_photo_without_keys_gives_search_links(tmp_path):
    p = run(tmp_path, "--seed", "7")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "Emotion: Happy" in out and "Top 3: Happy" in out and "Probabilities:" in out
    assert "Hey happy face, these are your songs:" in out and "Time taken:" in out
    songs = songs_in(out)
    assert len(songs) == 10 and len(set(songs)) == 10
    assert all(link.startswith("https://open.spotify.com/search/") for _, link in songs)

    again = run(tmp_path, "--seed", "7")
    assert songs_in(again.stdout) == songs  # the same seed picks the same songs


def test_keys_give_track_links(tmp_path, catalog, lyrics_catalog):  # noqa: F811
    emu = SpotifyEmulator(catalog).start()
    try:
        p = run(tmp_path, "--limit", "5", LYRICS_CATALOG=str(lyrics_catalog), SPOTIPY_CLIENT_ID="emu-client",
                SPOTIPY_CLIENT_SECRET="emu-secret", SPOTIFY_API_BASE=emu.api_base, SPOTIFY_ACCOUNTS_BASE=emu.base)
    finally:
        emu.stop()
    assert p.returncode == 0, p.stderr
    songs = songs_in(p.stdout)
    assert len(songs) == 5
    tracks = [link for _, link in songs if link.startswith("https://open.spotify.com/track/")]
    assert len(tracks) >= 4  # the test catalog's songs are on the emulated Spotify, bar two made-up ones
    assert emu.calls("GET", "/v1/search") and emu.calls("POST", "/api/token")


def test_photo_without_a_face(tmp_path):
    import cv2
    from skimage import data

    photo = tmp_path / "coffee.png"
    cv2.imwrite(str(photo), data.coffee())
    p = run(tmp_path, "--image", str(photo))
    assert p.returncode == 1 and "no face found" in p.stdout.lower() and "Hey" not in p.stdout


@pytest.mark.parametrize("content,args,says", [
    (b"", [], "empty"),
    (b"not a picture", [], "not an image"),
    (None, ["--limit", "0"], "--limit must be between 1 and 50"),
])
def test_bad_input_gets_one_clear_line(tmp_path, content, args, says):
    photo = tmp_path / "in.jpg"
    if content is not None:
        photo.write_bytes(content)
        args = ["--image", str(photo), *args]
    p = run(tmp_path, *args)
    assert p.returncode != 0 and says in p.stdout + p.stderr and "Traceback" not in p.stderr
