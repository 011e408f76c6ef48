"""The player loop: a consumer group on the `moods` stream.

Once in effect: an event is done when its key `mf:player:done:<event_id>` is
set, and that key, the `plays` record, the XACK and the camera's last mood are
written by one Lua script, so they happen together or not at all. Until then
the event stays pending: a restarted player reads its own pending entries
first, and another player takes them over with XAUTOCLAIM once they have been
idle `player_claim_idle_ms`. Work done before a crash is kept per event (the
songs chosen, the tracks found, whether Spotify was already told to play), so
a retry repeats nothing anyone would hear.

A 429 from Spotify parks that camera's event until Retry-After has passed;
the loop goes on with the other cameras meanwhile.
"""
from __future__ import annotations

import json
import logging
import time
import zlib
from dataclasses import dataclass, field

import redis as redis_lib

from musicalface.contracts import MOODS, MOODS_STREAM, NO_FACE, PLAYS_STREAM, MoodEvent, PlayRecord, Song, Track
from services.player.settings import PlayerSettings
from services.player.songs import LyricsError, LyricsUnavailable
from services.player.spotify_client import RateLimited, SpotifyError, SpotifyUnavailable

log = logging.getLogger(__name__)

DONE_PREFIX = "mf:player:done:"
PROGRESS_PREFIX = "mf:player:event:"
LAST_MOOD_KEY = "mf:player:last_mood"
RECENT_PREFIX = "mf:player:recent:"
TEST_PAUSED_KEY = "mf:player:test:paused"
DONE_TTL_S = 7 * 24 * 3600
PROGRESS_TTL_S = 24 * 3600
PLAYS_MAXLEN = 100_000

# KEYS: done, plays, moods, last_mood, recent, progress
# ARGV: group, entry id, done ttl, camera, mood to remember ("" = keep), recent max, plays maxlen,
#       n record fields*2, the record's field/value pairs, then song ids played
_COMMIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
  redis.call('DEL', KEYS[6])
  return false
end
local n = tonumber(ARGV[8])
local rec = {}
for i = 9, 8 + n do rec[#rec + 1] = ARGV[i] end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', unpack(rec))
redis.call('SET', KEYS[1], id, 'EX', ARGV[3])
redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[4], ARGV[5]) end
for i = 9 + n, #ARGV do redis.call('LPUSH', KEYS[5], ARGV[i]) end
if #ARGV >= 9 + n then redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[6]) - 1) end
redis.call('DEL', KEYS[6])
return id
"""


@dataclass
class Entry:
    entry_id: str
    event: MoodEvent
    tries: int = 0


@dataclass
class CameraState:
    waiting: Entry | None = None  # parked by a 429 or a transient failure
    not_before: float = 0.0


@dataclass
class Outcome:
    tracks: list[Track] = field(default_factory=list)
    status: str = "ok"
    error: str = ""
    songs: list[Song] = field(default_factory=list)
    remember_mood: bool = False


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _seed(event_id: str) -> int:
    # the same event asks the lyrics service the same question
    return zlib.crc32(event_id.encode())


class Player:
    def __init__(self, settings: PlayerSettings, redis, mode, songs, clock=time.time):
        self.s, self.r, self.mode, self.songs, self.clock = settings, redis, mode, songs, clock
        self.cameras: dict[str, CameraState] = {}
        self._commit = redis.register_script(_COMMIT)
        self._next_claim = 0.0
        self._stopping = False

    # --- stream plumbing ---------------------------------------------------
    def ensure_group(self) -> None:
        try:
            # From the start: events written before the first player ran are still wanted
            # (old ones are skipped as stale, not lost silently).
            self.r.xgroup_create(MOODS_STREAM, self.s.player_group, id="0", mkstream=True)
        except redis_lib.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> None:
        self.ensure_group()
        log.info("player %s in group %s on %s, mode %s", self.s.player_consumer, self.s.player_group, MOODS_STREAM,
                 self.mode.name)
        self.read_own_pending()
        while not self._stopping:
            try:
                self.step()
            except (redis_lib.ConnectionError, redis_lib.TimeoutError) as e:
                log.warning("Redis: %s; trying again in 2 s", e)
                time.sleep(2)
            except redis_lib.ResponseError as e:
                if "NOGROUP" not in str(e) and "UNBLOCKED" not in str(e):
                    raise
                # The stream or the group was deleted under us (a flushed Redis): make them again.
                log.warning("Redis: %s; making the %s group again", e, MOODS_STREAM)
                self.ensure_group()

    def step(self) -> None:
        """One turn: parked events that are due, takeovers, then new events."""
        now = self.clock()
        for cam, st in list(self.cameras.items()):
            if st.waiting and st.not_before <= now:
                entry, st.waiting = st.waiting, None
                self.handle(entry)
        if now >= self._next_claim:
            self.claim_idle()
            self._next_claim = now + max(1.0, self.s.player_claim_idle_ms / 2000)
        block_ms = self.s.player_block_ms
        due = [st.not_before for st in self.cameras.values() if st.waiting]
        if due:
            block_ms = int(max(1, min(block_ms, (min(due) - self.clock()) * 1000)))
        res = self.r.xreadgroup(self.s.player_group, self.s.player_consumer, {MOODS_STREAM: ">"}, count=10,
                                block=block_ms)
        for _stream, entries in res or []:
            for entry_id, fields in entries:
                self.accept(_s(entry_id), fields)

    def read_own_pending(self) -> None:
        """Entries this consumer read before a restart but never acknowledged."""
        last = "0"
        while True:
            res = self.r.xreadgroup(self.s.player_group, self.s.player_consumer, {MOODS_STREAM: last}, count=50)
            entries = res[0][1] if res else []
            if not entries:
                return
            for entry_id, fields in entries:
                self.accept(_s(entry_id), fields)
                last = _s(entry_id)

    def claim_idle(self) -> None:
        """Take over entries another (crashed) player left pending too long."""
        start = "0-0"
        for _ in range(10):
            res = self.r.xautoclaim(MOODS_STREAM, self.s.player_group, self.s.player_consumer,
                                    self.s.player_claim_idle_ms, start_id=start, count=20)
            start, claimed = _s(res[0]), res[1]
            parked = {st.waiting.entry_id for st in self.cameras.values() if st.waiting}
            for entry_id, fields in claimed:
                if _s(entry_id) not in parked:
                    log.info("took over pending event %s", _s(entry_id))
                    self.accept(_s(entry_id), fields)
            if start == "0-0":
                break
        self._touch_parked()

    def _touch_parked(self) -> None:
        # Parked entries are ours, only waiting: reset their idle time so no other player takes them.
        ids = [st.waiting.entry_id for st in self.cameras.values() if st.waiting]
        if ids:
            self.r.xclaim(MOODS_STREAM, self.s.player_group, self.s.player_consumer, 0, ids, justid=True)

    def accept(self, entry_id: str, fields) -> None:
        if not fields:  # trimmed from the stream while pending: nothing left to do
            self.r.xack(MOODS_STREAM, self.s.player_group, entry_id)
            return
        try:
            event = MoodEvent.from_stream(fields)
        except (KeyError, ValueError) as e:
            log.error("dropping malformed event %s: %s", entry_id, e)
            self.r.xack(MOODS_STREAM, self.s.player_group, entry_id)
            return
        entry = Entry(entry_id, event)
        st = self.cameras.setdefault(event.camera_id, CameraState())
        if st.waiting is not None:
            if st.waiting.entry_id == entry_id:
                return
            # The face has moved on: music for the older mood is no longer wanted.
            old, st.waiting = st.waiting, None
            self.finish(old, Outcome(status="skipped", error=f"superseded by event {event.event_id}"))
        if st.not_before > self.clock():
            st.waiting = entry
            return
        self.handle(entry)

    # --- one event ----------------------------------------------------------
    def handle(self, entry: Entry) -> None:
        ev = entry.event
        if self.r.exists(DONE_PREFIX + ev.event_id):
            log.info("event %s was already handled; acknowledging it again", ev.event_id)
            self.r.xack(MOODS_STREAM, self.s.player_group, entry.entry_id)
            self.r.delete(PROGRESS_PREFIX + ev.event_id)
            return
        self._pause("read", ev)
        try:
            outcome = self.decide(ev)
        except RateLimited as e:
            self._park(entry, e.retry_after, str(e))
            return
        except (LyricsUnavailable, SpotifyUnavailable) as e:
            entry.tries += 1
            if entry.tries < self.s.player_transient_tries:
                self._park(entry, min(60.0, self.s.player_transient_backoff_s * 2 ** (entry.tries - 1)), str(e))
                return
            outcome = Outcome(status="error", error=str(e))
        except (SpotifyError, LyricsError) as e:
            outcome = Outcome(status="error", error=str(e), tracks=self._known_tracks(ev))
        self.finish(entry, outcome)

    def _park(self, entry: Entry, wait_s: float, why: str) -> None:
        st = self.cameras.setdefault(entry.event.camera_id, CameraState())
        st.waiting, st.not_before = entry, self.clock() + wait_s
        log.warning("camera %s: %s; its event %s waits %.1f s", entry.event.camera_id, why, entry.event.event_id,
                    wait_s)

    def decide(self, ev: MoodEvent) -> Outcome:
        age = self.clock() - ev.ts
        if age > self.s.player_max_event_age_s:
            return Outcome(status="skipped", error=f"stale: the face was seen {age:.0f} s ago")
        if ev.mood == NO_FACE:
            # Nobody there: leave whatever plays alone, and keep the last mood so the
            # same face coming back does not restart its music.
            return Outcome(status="skipped", error="no face")
        if ev.mood not in MOODS:
            return Outcome(status="error", error=f"unknown mood {ev.mood!r}")
        last = self.r.hget(LAST_MOOD_KEY, ev.camera_id)
        if last is not None and _s(last) == ev.mood:
            return Outcome(status="skipped", error=f"mood unchanged ({ev.mood})")
        return self.play(ev)

    def play(self, ev: MoodEvent) -> Outcome:
        key = PROGRESS_PREFIX + ev.event_id
        progress = {_s(k): _s(v) for k, v in self.r.hgetall(key).items()}
        if "songs" in progress:
            songs = [Song(**s) for s in json.loads(progress["songs"])]
        else:
            recent = [int(x) for x in self.r.lrange(RECENT_PREFIX + ev.camera_id, 0, -1)]
            songs = self.songs.playlist(ev.mood, self.s.songs_per_mood, exclude=recent, seed=_seed(ev.event_id)).songs
            self._save(key, songs=json.dumps([s.model_dump() for s in songs]))
        if "tracks" in progress:
            tracks = [Track(**t) for t in json.loads(progress["tracks"])]
        else:
            tracks = self.mode.tracks(songs)
            self._save(key, tracks=json.dumps([t.model_dump() for t in tracks]))
        stage = progress.get("stage")
        if stage == "acting" and self.mode.already_done(ev.camera_id, ev.mood, tracks):
            log.info("event %s: Spotify already did it before the restart; not asking again", ev.event_id)
            stage = "acted"
        if stage != "acted":
            self._save(key, stage="acting")
            where = self.mode.act(ev.camera_id, ev.mood, tracks)
            self._pause("acted", ev)
            self._save(key, stage="acted", where=where)
        else:
            where = progress.get("where", "")
        if where:
            log.info("camera %s, %s: %s", ev.camera_id, ev.mood, where)
        return Outcome(tracks=tracks, songs=songs, remember_mood=True)

    def _save(self, key: str, **values: str) -> None:
        pipe = self.r.pipeline()
        pipe.hset(key, mapping=values)
        pipe.expire(key, PROGRESS_TTL_S)
        pipe.execute()

    def _known_tracks(self, ev: MoodEvent) -> list[Track]:
        raw = self.r.hget(PROGRESS_PREFIX + ev.event_id, "tracks")
        return [Track(**t) for t in json.loads(raw)] if raw else []

    def finish(self, entry: Entry, outcome: Outcome) -> bool:
        ev = entry.event
        rec = PlayRecord(event_id=ev.event_id, camera_id=ev.camera_id, mood=ev.mood, mode=self.mode.name,
                         tracks=outcome.tracks, status=outcome.status, error=outcome.error)
        flat = [x for kv in rec.to_stream().items() for x in kv]
        keys = [DONE_PREFIX + ev.event_id, PLAYS_STREAM, MOODS_STREAM, LAST_MOOD_KEY, RECENT_PREFIX + ev.camera_id,
                PROGRESS_PREFIX + ev.event_id]
        args = [self.s.player_group, entry.entry_id, DONE_TTL_S, ev.camera_id,
                ev.mood if outcome.remember_mood else "", self.s.recent_songs, PLAYS_MAXLEN, len(flat), *flat,
                *[s.id for s in outcome.songs]]
        written = self._commit(keys=keys, args=args)
        if written:
            log.info("camera %s: %s -> %s%s (%d tracks)", ev.camera_id, ev.mood, rec.status,
                     f": {rec.error}" if rec.error else "", len(rec.tracks))
        return bool(written)

    def _pause(self, point: str, ev: MoodEvent) -> None:
        if self.s.player_test_pause_at != point:
            return
        log.warning("test pause at %s for event %s", point, ev.event_id)
        self.r.set(TEST_PAUSED_KEY, f"{point}:{ev.event_id}")
        while True:  # until the test kills this process
            time.sleep(0.1)
