"""The player on the real Redis: mood events in, the right Spotify calls out, plays recorded, events acked,
each event handled once in effect, even across a kill."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from musicalface.contracts import MOODS_STREAM, NO_FACE, PLAYS_STREAM, MoodEvent, PlayRecord
from services.player.cli import build_player
from services.player.consumer import DONE_PREFIX, LAST_MOOD_KEY, TEST_PAUSED_KEY
from tests.conftest import free_port
from tests.player_support import (MISSING, LyricsService, catalog, do_login, emulator, lyrics, lyrics_catalog,  # noqa: F401
                                   lyrics_session, settings_for)

GROUP = "players"


def wait_for(cond, what: str, timeout: float = 60.0, log=None):
    # A safety net against hanging, not a speed check.
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}" + (f"; player log:\n{log.read_text()}" if log else ""))


def plays(r) -> list[PlayRecord]:
    return [PlayRecord.from_stream(f) for _id, f in r.xrange(PLAYS_STREAM)]


def pending(r) -> int:
    try:
        return r.xpending(MOODS_STREAM, GROUP)["pending"]
    except Exception:
        return 0


def send(r, camera: str, mood: str, **kw) -> MoodEvent:
    ev = MoodEvent(camera_id=camera, mood=mood, emotion="Happy", confidence=0.9, frame_ts=time.time(), **kw)
    r.xadd(MOODS_STREAM, ev.to_stream())
    return ev


@contextmanager
def running(settings):
    player = build_player(settings)
    t = threading.Thread(target=player.run, daemon=True)
    t.start()
    try:
        yield player
    finally:
        player.stop()
        t.join(30)
        assert not t.is_alive()


@pytest.fixture
def cfg(settings_for, lyrics, redis_url, redis_client):
    def make(mode="links", **kw):
        kw.setdefault("lyrics_url", lyrics.url)
        return settings_for(mode, redis_url=redis_url, **kw)
    return make


@pytest.fixture
def play_cfg(cfg, emulator):
    def make(mode="play", **kw):
        s = cfg(mode, **kw)
        do_login(s, emulator)
        emulator.requests.clear()
        return s
    return make


def test_a_mood_event_plays_records_and_is_acked(play_cfg, emulator, lyrics, redis_client):
    s = play_cfg()
    phone = emulator.add_device("alice", "Phone", active=True)
    with running(s):
        ev = send(redis_client, "kitchen", "happy")
        (rec,) = wait_for(lambda: plays(redis_client), "the plays record")
    (ask,) = lyrics.asks("/playlists/happy")
    assert ask["limit"] == ["10"] and "exclude" not in ask
    assert rec.event_id == ev.event_id and rec.camera_id == "kitchen" and rec.mood == "happy"
    assert rec.mode == "play" and rec.status == "ok" and rec.error == ""
    assert len(rec.tracks) == 10
    for t in rec.tracks:  # every song Spotify has is found; the two it has not get search links
        missing = (t.artist, t.title) in MISSING
        assert (t.uri is None) == missing, t
        assert t.url.startswith("https://open.spotify.com/search/" if missing else "https://open.spotify.com/track/")
    (play,) = emulator.calls("PUT", "/v1/me/player/play")
    assert play.query["device_id"] == phone["id"] and play.body["uris"] == [t.uri for t in rec.tracks if t.uri]
    assert len(emulator.calls("GET", "/v1/search")) >= 10
    assert pending(redis_client) == 0
    assert redis_client.exists(DONE_PREFIX + ev.event_id)
    assert redis_client.hget(LAST_MOOD_KEY, "kitchen") == b"happy"


def test_repeats_do_not_restart_the_music_and_new_moods_skip_what_just_played(play_cfg, emulator, lyrics,
                                                                             redis_client):
    s = play_cfg()
    emulator.add_device("alice", "Phone", active=True)
    with running(s):
        ev = send(redis_client, "kitchen", "happy")
        wait_for(lambda: len(plays(redis_client)) == 1, "the first record")
        redis_client.xadd(MOODS_STREAM, ev.to_stream())  # the very same event, delivered again
        send(redis_client, "kitchen", "happy")           # a new event, same mood
        send(redis_client, "kitchen", NO_FACE)           # the face left
        send(redis_client, "kitchen", "happy")           # and came back, still happy
        send(redis_client, "kitchen", "sad")
        send(redis_client, "kitchen", "happy")
        recs = wait_for(lambda: len(p := plays(redis_client)) == 6 and p, "the last record")
        wait_for(lambda: pending(redis_client) == 0, "every event acked")
    assert [(r.mood, r.status) for r in recs] == [("happy", "ok"), ("happy", "skipped"), (NO_FACE, "skipped"),
                                                  ("happy", "skipped"), ("sad", "ok"), ("happy", "ok")]
    assert recs[1].error == "mood unchanged (happy)"
    assert recs[0].event_id == ev.event_id and sum(r.event_id == ev.event_id for r in recs) == 1
    assert len(emulator.calls("PUT", "/v1/me/player/play")) == 3
    # the lyrics service was told to leave out what this camera just played
    first_happy, sad, second_happy = lyrics.asks("/playlists/happy")[0], *lyrics.asks("/playlists/sad"), \
        lyrics.asks("/playlists/happy")[1]
    assert "exclude" not in first_happy and len(sad["exclude"]) == 10 and len(second_happy["exclude"]) == 20
    assert not {(t.artist, t.title) for t in recs[0].tracks} & {(t.artist, t.title) for t in recs[5].tracks}


@pytest.mark.parametrize("mode", ["links", "resolve", "playlist"])
def test_each_mode_through_the_stream(mode, cfg, play_cfg, emulator, redis_client):
    s = play_cfg(mode) if mode == "playlist" else cfg(mode)
    with running(s):
        send(redis_client, "door", "relaxed")
        (rec,) = wait_for(lambda: plays(redis_client), "the plays record")
    assert rec.status == "ok" and rec.mode == mode and len(rec.tracks) == 10
    if mode == "links":
        assert emulator.requests == []
        assert all(t.uri is None and t.url.startswith("https://open.spotify.com/search/") for t in rec.tracks)
    else:
        assert all(t.uri for t in rec.tracks)  # relaxed: every song is on Spotify
    if mode == "resolve":
        assert emulator.calls("POST", "/api/token")[0].body["grant_type"] == "client_credentials"
    if mode == "playlist":
        (pl,) = emulator.playlists.values()
        assert pl["name"] == "Musical Face - relaxed" and pl["uris"] == [t.uri for t in rec.tracks]
    assert pending(redis_client) == 0


def test_clear_errors_are_recorded_and_the_mood_tried_again(play_cfg, emulator, redis_client):
    s = play_cfg()
    with running(s):
        send(redis_client, "kitchen", "happy")
        wait_for(lambda: plays(redis_client), "the error record")
        emulator.add_device("alice", "Phone", active=True)
        send(redis_client, "kitchen", "happy")  # same mood, but the first one did not play
        recs = wait_for(lambda: len(p := plays(redis_client)) == 2 and p, "the second record")
    assert recs[0].status == "error" and "no active Spotify device" in recs[0].error
    assert len(recs[0].tracks) == 10  # what would have played is still recorded
    assert recs[1].status == "ok"
    assert len(emulator.calls("PUT", "/v1/me/player/play")) == 1


def test_429_waits_for_retry_after_without_blocking_another_camera(cfg, emulator, redis_client):
    s = cfg("resolve")
    emulator.rate_limit("/v1/search", times=1, retry_after=2)  # the first search of all: camera A's
    a = send(redis_client, "camA", "sad")
    b = send(redis_client, "camB", "happy")
    with running(s):
        recs = wait_for(lambda: len(p := plays(redis_client)) == 2 and p, "both records")
    assert [r.event_id for r in recs] == [b.event_id, a.event_id]  # B did not wait for A
    assert all(r.status == "ok" and len(r.tracks) == 10 for r in recs)
    searches = emulator.calls("GET", "/v1/search")
    limited = [i for i, c in enumerate(searches) if c.status == 429]
    assert len(limited) == 1
    first = searches[limited[0]]
    retry = next(c for c in searches[limited[0] + 1:] if c.query["q"] == first.query["q"])
    between = searches[limited[0] + 1: searches.index(retry)]
    assert between, "camera B's searches ran while A waited"
    assert retry.t - first.t >= 2.0  # Retry-After honoured (a lower bound, not a speed check)
    assert pending(redis_client) == 0


def test_lyrics_service_down_then_up_is_retried(cfg, lyrics_catalog, redis_client, tmp_path):
    svc = LyricsService(lyrics_catalog, tmp_path / "lyrics.db")  # its port: nothing listens yet
    s = cfg("links", lyrics_url=svc.url, player_transient_backoff_s=0.2, player_transient_tries=20)
    with running(s) as player:
        send(redis_client, "kitchen", "angry")
        wait_for(lambda: (st := player.cameras.get("kitchen")) and st.waiting and st.waiting.tries >= 1,
                 "the event parked after a failed try")
        assert plays(redis_client) == [] and pending(redis_client) == 1
        with svc.running():
            (rec,) = wait_for(lambda: plays(redis_client), "the record once the service is up")
    assert rec.status == "ok" and rec.mood == "angry" and len(rec.tracks) == 10
    assert pending(redis_client) == 0


def test_lyrics_service_down_for_good_is_recorded_as_an_error(cfg, redis_client):
    s = cfg("links", lyrics_url=f"http://127.0.0.1:{free_port()}", player_transient_backoff_s=0.05,
            player_transient_tries=3)
    with running(s):
        send(redis_client, "kitchen", "sad")
        (rec,) = wait_for(lambda: plays(redis_client), "the error record")
    assert rec.status == "error" and "unreachable" in rec.error
    assert pending(redis_client) == 0


def test_stale_and_malformed_events(cfg, redis_client):
    s = cfg("links", player_max_event_age_s=60)
    with running(s):
        send(redis_client, "kitchen", "happy", ts=time.time() - 3600)
        redis_client.xadd(MOODS_STREAM, {"camera_id": "kitchen"})  # not a MoodEvent
        (rec,) = wait_for(lambda: plays(redis_client), "the stale record")
        wait_for(lambda: pending(redis_client) == 0, "both acked")
    assert rec.status == "skipped" and rec.error.startswith("stale")


# --- killed mid-event ---------------------------------------------------------
def player_env(s, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIPY_", "SPOTIFY_", "PLAYER_"))}
    env.update({"PLAYER_MODE": s.player_mode, "REDIS_URL": s.redis_url, "LYRICS_URL": s.lyrics_url,
                "SPOTIPY_CLIENT_ID": s.spotipy_client_id, "SPOTIPY_REDIRECT_URI": s.spotipy_redirect_uri,
                "SPOTIFY_API_BASE": s.spotify_api_base, "SPOTIFY_ACCOUNTS_BASE": s.spotify_accounts_base,
                "SPOTIFY_TOKEN_CACHE": str(s.spotify_token_cache), "PLAYER_BLOCK_MS": "200",
                "PLAYER_CONSUMER": "player-1"})
    env.update(extra)
    return env


def start_player(env, log_path):
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "musicalface.cli", "player", "run"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def kill(p):
    p.send_signal(signal.SIGKILL)
    p.wait(30)


@pytest.mark.parametrize("point, consumer", [("acted", "player-1"), ("read", "player-2")])
def test_a_player_killed_mid_event_finishes_it_once_after_restart(point, consumer, play_cfg, emulator,
                                                                  redis_client, tmp_path):
    s = play_cfg()
    emulator.add_device("alice", "Phone", active=True)
    log = tmp_path / "player.log"
    p = start_player(player_env(s, PLAYER_TEST_PAUSE_AT=point), log)
    try:
        ev = send(redis_client, "kitchen", "happy")
        wait_for(lambda: redis_client.get(TEST_PAUSED_KEY), f"the player to reach {point!r}", log=log)
        plays_before = len(emulator.calls("PUT", "/v1/me/player/play"))
        assert plays_before == (1 if point == "acted" else 0)
    finally:
        kill(p)
    assert pending(redis_client) == 1 and plays(redis_client) == []
    # "acted": the same player comes back and reads its own pending entry;
    # "read": another player takes the entry over once it has been idle long enough.
    p = start_player(player_env(s, PLAYER_CONSUMER=consumer, PLAYER_CLAIM_IDLE_MS="300"), log)
    try:
        (rec,) = wait_for(lambda: plays(redis_client), "the restarted player's record", log=log)
        wait_for(lambda: pending(redis_client) == 0, "the event acked", log=log)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(30)
    assert rec.event_id == ev.event_id and rec.status == "ok"
    assert len(emulator.calls("PUT", "/v1/me/player/play")) == 1, log.read_text()
    assert len(plays(redis_client)) == 1


def test_killed_at_random_points_each_event_is_played_once(play_cfg, emulator, redis_client, tmp_path):
    s = play_cfg()
    emulator.add_device("alice", "Phone", active=True)
    log = tmp_path / "player.log"
    rng = random.Random(5)
    env = player_env(s, PLAYER_CLAIM_IDLE_MS="300")
    p = start_player(env, log)
    wait_for(lambda: redis_client.exists(MOODS_STREAM) and redis_client.xinfo_groups(MOODS_STREAM),
             "the consumer group")
    events = []
    try:
        for i, mood in enumerate(["happy", "sad", "angry", "relaxed", "happy", "sad"]):
            events.append(send(redis_client, "kitchen", mood))
            time.sleep(rng.uniform(0.0, 0.6))
            kill(p)
            p = start_player(env, log)
            wait_for(lambda: len(plays(redis_client)) == i + 1, f"event {i} recorded", log=log)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(30)
    recs = plays(redis_client)
    assert [r.event_id for r in recs] == [e.event_id for e in events]
    assert all(r.status == "ok" for r in recs), [r.error for r in recs]
    play_calls = emulator.calls("PUT", "/v1/me/player/play")
    assert [c.body["uris"] for c in play_calls] == [[t.uri for t in r.tracks if t.uri] for r in recs], log.read_text()
    assert pending(redis_client) == 0
    assert json.loads(redis_client.xrange(PLAYS_STREAM)[0][1][b"tracks"])[0]["uri"]


def test_play_mode_without_a_login_stops_at_start_with_one_clear_line(cfg, emulator, tmp_path):
    s = cfg("play")
    r = subprocess.run([sys.executable, "-m", "musicalface.cli", "player", "run"], env=player_env(s),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("musicalface: error: no Spotify login stored: run "
                                                        "`musicalface spotify login`")
    assert "Traceback" not in r.stderr
    assert emulator.calls("POST", "/api/token") == []


def test_play_mode_with_a_free_account_stops_at_start(play_cfg, emulator):
    s = play_cfg()
    emulator.users["alice"].product = "free"
    r = subprocess.run([sys.executable, "-m", "musicalface.cli", "player", "run"], env=player_env(s),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Premium is required" in r.stderr.strip().splitlines()[-1]


def test_the_player_survives_its_stream_being_deleted(cfg, redis_client):
    with running(cfg("links")) as player:
        wait_for(lambda: redis_client.exists(MOODS_STREAM), "the stream")
        redis_client.delete(MOODS_STREAM)  # while the player blocks on it
        wait_for(lambda: redis_client.exists(MOODS_STREAM), "the stream made again")
        send(redis_client, "kitchen", "happy")
        (rec,) = wait_for(lambda: plays(redis_client), "the record")
    assert rec.status == "ok"
