"""Each player mode and each Spotify failure, against the loopback Spotify emulator via spotipy."""
from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys

import pytest

from musicalface.contracts import Song, Track
from services.player.modes import LinksMode, PlaylistMode, build_mode
from services.player.resolver import LinkResolver, TrackResolver, resolver_from_settings
from services.player.search_cache import MemorySearchCache, SearchCache
from services.player.spotify_client import (BadCredentials, LoginExpired, MissingScope, NoActiveDevice,
                                            PremiumRequired, RateLimited, SpotifyUnavailable, app_api, user_api)
from tests.player_support import MISSING, catalog, do_login, emulator, follow_login, settings_for  # noqa: F401

AFRICA = "spotify:track:2374M0fQpWi3dLnB54qaLX"  # TOTO's, in spotify_moods.csv
HAPPY = [Song(id=1, artist="Toto", title="Africa", mood="happy", confidence=0.9),
         Song(id=2, artist="Elton John", title="Bennie And The Jets", mood="happy", confidence=0.9),
         Song(id=3, artist="Prince", title="1999", mood="happy", confidence=0.9),
         Song(id=4, artist=MISSING[0][0], title=MISSING[0][1], mood="happy", confidence=0.9)]


def searches(emu):
    return emu.calls("GET", "/v1/search")


def test_links_mode_needs_no_spotify(emulator):
    tracks = LinksMode().tracks(HAPPY)
    assert [t.url for t in tracks][:1] == ["https://open.spotify.com/search/Toto%20Africa"]
    assert all(t.uri is None for t in tracks)
    assert emulator.requests == []


def test_resolve_mode_finds_the_right_tracks_with_client_credentials(emulator, settings_for):
    mode = build_mode(settings_for("resolve"), MemorySearchCache())
    tracks = mode.tracks(HAPPY)
    assert tracks[0].uri == AFRICA  # not the karaoke or the tribute decoy
    assert tracks[0].url == "https://open.spotify.com/track/2374M0fQpWi3dLnB54qaLX"
    assert tracks[1].uri == "spotify:track:3iJxloILmOu2NIRZ0OGyui"  # "Bennie And The Jets - Remastered 2014"
    assert tracks[3].uri is None and tracks[3].url.startswith("https://open.spotify.com/search/")
    token_calls = emulator.calls("POST", "/api/token")
    assert [c.body["grant_type"] for c in token_calls] == ["client_credentials"]
    qs = [c.query["q"] for c in searches(emulator)]
    assert qs[0] == 'track:"Africa" artist:"Toto"'
    assert all(int(c.query["limit"]) <= 10 and c.query["type"] == "track" for c in searches(emulator))


def test_resolver_from_settings_without_keys_gives_search_links(settings_for):
    r = resolver_from_settings(settings_for(spotipy_client_id=None, spotipy_client_secret=None))
    assert isinstance(r, LinkResolver)
    assert r.resolve("Toto", "Africa").url == "https://open.spotify.com/search/Toto%20Africa"
    assert isinstance(resolver_from_settings(settings_for()), TrackResolver)


def test_a_miss_falls_back_to_a_looser_query_and_is_searched_once(emulator, settings_for, redis_client):
    artist, title = MISSING[0]
    for cache in (MemorySearchCache(), SearchCache(redis_client)):
        emulator.requests.clear()
        resolver = TrackResolver(app_api(settings_for("resolve")), cache)
        t = resolver.resolve(artist, title)
        assert t.uri is None and "Zzyzx" in t.url
        qs = [c.query["q"] for c in searches(emulator)]
        assert qs == [f'track:"{title}" artist:"{artist}"', f"{title} {artist}"]
        # again, and with the title decorated: the cache answers, Spotify is not asked
        assert resolver.resolve(artist, title + " - Remastered 2011").uri is None
        assert resolver.resolve(artist, title).uri is None
        assert len(searches(emulator)) == 2
    assert len(redis_client.keys("mf:spotify:search:*")) == 1


def test_a_hit_is_cached_too(emulator, settings_for):
    resolver = TrackResolver(app_api(settings_for("resolve")), MemorySearchCache())
    assert resolver.resolve("Toto", "Africa").uri == AFRICA
    assert resolver.resolve("TOTO", "Africa").uri == AFRICA
    assert len(searches(emulator)) == 1


def test_429_gives_retry_after_at_once_without_spotipy_retrying(emulator, settings_for):
    emulator.rate_limit("/v1/search", times=1, retry_after=7)
    resolver = TrackResolver(app_api(settings_for("resolve")), MemorySearchCache())
    with pytest.raises(RateLimited) as e:
        resolver.resolve("Toto", "Africa")
    assert e.value.retry_after == 7
    assert [c.status for c in searches(emulator)] == [429]  # one request: no hidden retry or sleep
    assert resolver.resolve("Toto", "Africa").uri == AFRICA  # nothing bad cached


def test_resolve_or_link_never_raises(emulator, settings_for):
    resolver = resolver_from_settings(settings_for("resolve"))
    emulator.rate_limit("/v1/search", times=1, retry_after=30)
    t = resolver.resolve_or_link("Toto", "Africa")
    assert t.uri is None and t.url == "https://open.spotify.com/search/Toto%20Africa"
    assert resolver.resolve_or_link("Toto", "Africa").uri == AFRICA
    assert resolver_from_settings(settings_for("resolve", spotify_accounts_base="http://127.0.0.1:9/")) \
        .resolve_or_link("Toto", "Africa").uri is None  # Spotify unreachable


def test_search_never_asks_for_more_than_10(emulator, settings_for):
    assert app_api(settings_for("resolve")).search_tracks("africa", limit=50)
    assert [c.query["limit"] for c in searches(emulator)] == ["10"]


def test_bad_client_credentials(settings_for):
    with pytest.raises(BadCredentials):
        app_api(settings_for("resolve", spotipy_client_secret="wrong")).search_tracks("x")


def test_every_call_has_a_timeout(settings_for):
    # A server that accepts the connection and never answers.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]
        api = app_api(settings_for("resolve", spotify_accounts_base=f"http://127.0.0.1:{port}/",
                                   spotify_timeout_s=0.3))
        with pytest.raises(SpotifyUnavailable):
            api.search_tracks("africa")


# --- the user's login --------------------------------------------------------
def test_login_stores_a_private_token_with_refresh(emulator, settings_for):
    s = settings_for("play")
    me = do_login(s, emulator)
    assert me["id"] == "alice"
    mode_bits = stat.S_IMODE(os.stat(s.spotify_token_cache).st_mode)
    assert mode_bits == 0o600
    tok = json.loads(s.spotify_token_cache.read_text())
    assert tok["refresh_token"].startswith("emu-rt-")
    assert "user-modify-playback-state" in tok["scope"].split()
    grants = [c.body for c in emulator.calls("POST", "/api/token")]
    assert grants[0]["grant_type"] == "authorization_code" and grants[0]["code_verifier"]
    assert "client_secret" not in grants[0]  # PKCE: no secret leaves the machine


def test_login_command_end_to_end(emulator, settings_for, tmp_path):
    s = settings_for("play")
    env = {**os.environ, "SPOTIPY_CLIENT_ID": emulator.client_id, "SPOTIPY_REDIRECT_URI": s.spotipy_redirect_uri,
           "SPOTIFY_API_BASE": emulator.api_base, "SPOTIFY_ACCOUNTS_BASE": emulator.base,
           "SPOTIFY_TOKEN_CACHE": str(s.spotify_token_cache)}
    env.pop("SPOTIPY_CLIENT_SECRET", None)
    p = subprocess.Popen([sys.executable, "-m", "musicalface.cli", "spotify", "login", "--no-browser"], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed = []
    while not any("/authorize?" in line for line in printed):
        line = p.stdout.readline()
        assert line, p.stderr.read()
        printed.append(line)
    out, err = p.communicate(follow_login(emulator, printed) + "\n", timeout=60)
    assert p.returncode == 0, err
    assert "Logged in to Spotify as Alice (premium account)" in out
    assert stat.S_IMODE(os.stat(s.spotify_token_cache).st_mode) == 0o600


def test_redirect_uri_must_be_a_loopback_ip(settings_for):
    with pytest.raises(ValueError, match="loopback"):
        user_api(settings_for("play", spotipy_redirect_uri="http://localhost:8888/callback"))


def test_no_stored_login(emulator, settings_for):
    with pytest.raises(LoginExpired, match="musicalface spotify login"):
        user_api(settings_for("play")).me()
    assert emulator.calls("POST", "/api/token") == []


def test_expired_access_token_is_refreshed_and_the_refresh_token_kept(emulator, settings_for):
    s = settings_for("play")
    do_login(s, emulator)
    tok = json.loads(s.spotify_token_cache.read_text())
    tok["expires_at"] = 0
    s.spotify_token_cache.write_text(json.dumps(tok))
    assert user_api(s).me()["id"] == "alice"
    assert emulator.calls("POST", "/api/token")[-1].body["grant_type"] == "refresh_token"
    new = json.loads(s.spotify_token_cache.read_text())
    assert new["access_token"] != tok["access_token"] and new["refresh_token"] == tok["refresh_token"]


def test_expired_login(emulator, settings_for):
    s = settings_for("play")
    do_login(s, emulator)
    emulator.expire_access_tokens()  # Spotify says expired before the cached expiry
    with pytest.raises(LoginExpired):
        user_api(s).me()
    tok = json.loads(s.spotify_token_cache.read_text())
    tok["expires_at"] = 0
    s.spotify_token_cache.write_text(json.dumps(tok))
    emulator.revoke_refresh_tokens()  # and the refresh token no longer works
    with pytest.raises(LoginExpired, match="musicalface spotify login"):
        user_api(s).me()


# --- play ----------------------------------------------------------------------
def play_mode(s):
    return build_mode(s, MemorySearchCache())


def test_play_mode_starts_the_tracks_on_the_active_device(emulator, settings_for):
    s = settings_for("play")
    do_login(s, emulator)
    emulator.add_device("alice", "Laptop")
    phone = emulator.add_device("alice", "Phone", active=True)
    mode = play_mode(s)
    tracks = mode.tracks(HAPPY)
    where = mode.act("kitchen", "happy", tracks)
    assert "Phone" in where
    (play,) = emulator.calls("PUT", "/v1/me/player/play")
    assert play.query["device_id"] == phone["id"]
    assert play.body["uris"] == [t.uri for t in tracks if t.uri] and play.body["uris"][0] == AFRICA
    assert len(play.body["uris"]) == 3  # the song Spotify does not have is left out
    assert mode.already_done("kitchen", "happy", tracks)
    # search went out with the user's token: no client secret needed for play
    assert all(c.body["grant_type"] != "client_credentials" for c in emulator.calls("POST", "/api/token"))


def test_play_mode_uses_the_device_mapped_to_the_camera(emulator, settings_for):
    s = settings_for("play", player_devices={"kitchen": "echo"})
    do_login(s, emulator)
    emulator.add_device("alice", "Phone", active=True)
    echo = emulator.add_device("alice", "Echo")
    mode = play_mode(s)
    mode.act("kitchen", "happy", mode.tracks(HAPPY[:1]))
    assert emulator.calls("PUT", "/v1/me/player/play")[0].query["device_id"] == echo["id"]
    assert emulator.users["alice"].playback["device"]["name"] == "Echo"


def test_no_active_device(emulator, settings_for):
    s = settings_for("play", player_devices={"door": "TV"})
    do_login(s, emulator)
    emulator.add_device("alice", "Laptop")  # there, but not active
    mode = play_mode(s)
    tracks = mode.tracks(HAPPY[:1])
    with pytest.raises(NoActiveDevice, match="no active Spotify device"):
        mode.act("kitchen", "happy", tracks)
    with pytest.raises(NoActiveDevice, match="'TV' for camera door is not available.*'Laptop'"):
        mode.act("door", "happy", tracks)
    # and Spotify's own answer when asked to play with no device
    with pytest.raises(NoActiveDevice):
        user_api(s).start_playback(None, [AFRICA])
    assert emulator.calls("PUT", "/v1/me/player/play")[0].status == 404


def test_premium_required(emulator, settings_for):
    s = settings_for("play")
    do_login(s, emulator)
    emulator.add_device("alice", "Phone", active=True)
    emulator.users["alice"].product = "free"
    mode = play_mode(s)
    with pytest.raises(PremiumRequired, match="Premium"):
        mode.act("kitchen", "happy", mode.tracks(HAPPY[:1]))
    with pytest.raises(PremiumRequired):  # Spotify's 403 PREMIUM_REQUIRED, mapped the same
        user_api(s).start_playback(None, [AFRICA])
    assert emulator.calls("PUT", "/v1/me/player/play")[0].status == 403


def test_missing_scope(emulator, settings_for):
    s = settings_for("play")
    emulator.grant_scopes = "user-read-private"  # the user (or Spotify) granted less than asked
    with pytest.raises(MissingScope):  # the login itself says so
        do_login(s, emulator)
    with pytest.raises(MissingScope, match="musicalface spotify login"):
        user_api(s).me()
    # a token Spotify has since narrowed: its own 403 "Insufficient client scope"
    emulator.grant_scopes = None
    do_login(s, emulator)
    for t in emulator.tokens.values():
        t["scope"].discard("user-modify-playback-state")
    emulator.add_device("alice", "Phone", active=True)
    with pytest.raises(MissingScope):
        user_api(s).start_playback(None, [AFRICA])


# --- playlist --------------------------------------------------------------------
def test_playlist_mode_creates_then_refreshes_one_playlist_per_mood(emulator, settings_for):
    s = settings_for("playlist")
    do_login(s, emulator)
    mode = build_mode(s, MemorySearchCache())
    assert isinstance(mode, PlaylistMode)
    where = mode.act("kitchen", "happy", mode.tracks(HAPPY))
    (pl,) = emulator.playlists.values()
    assert pl["name"] == "Musical Face - happy" and pl["public"] is False
    assert pl["uris"][0] == AFRICA and len(pl["uris"]) == 3
    assert f"https://open.spotify.com/playlist/{pl['id']}" in where
    # a new player process finds it by name and replaces its items
    mode2 = build_mode(s, MemorySearchCache())
    mode2.act("door", "happy", [Track(artist="Prince", title="1999", url="u",
                                      uri="spotify:track:2H7PHVdQ3mXqEHXcvclTB0")])
    assert len(emulator.playlists) == 1 and pl["uris"] == ["spotify:track:2H7PHVdQ3mXqEHXcvclTB0"]
    assert len(emulator.calls("POST", "/v1/me/playlists")) == 1
    assert [c.method for c in emulator.calls(path=r"/v1/playlists/[^/]+/items")] == ["PUT", "PUT"]
    mode2.act("door", "sad", [Track(artist="a", title="b", url="u", uri="spotify:track:x")])
    assert sorted(p["name"] for p in emulator.playlists.values()) == ["Musical Face - happy", "Musical Face - sad"]


def test_nothing_secret_in_logs(emulator, settings_for, caplog):
    caplog.set_level(logging.DEBUG)
    s = settings_for("play")
    do_login(s, emulator)
    emulator.add_device("alice", "Phone", active=True)
    mode = play_mode(s)
    mode.act("kitchen", "happy", mode.tracks(HAPPY))
    app_api(settings_for("resolve")).search_tracks("africa")
    emulator.rate_limit("/v1/search", retry_after=1)
    with pytest.raises(RateLimited):
        mode.tracks([Song(id=9, artist="Nena", title="99 Luftballons", mood="happy", confidence=1)])
    tok = json.loads(s.spotify_token_cache.read_text())
    secrets_ = [tok["access_token"], tok["refresh_token"], emulator.client_secret,
                *emulator.tokens.keys(), *emulator.refresh.keys()]
    assert caplog.records  # something was logged
    for secret in secrets_:
        assert secret not in caplog.text
