"""What a Spotify search found for a song, and what it did not, so each song is searched once.

Keys are the normalised artist and title, so "Hey Jude - Remastered" and
"Hey Jude" share an entry. Misses expire sooner than hits: the catalog grows.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

from musicalface.contracts import Track
from services.player.title_match import normalise_artist, normalise_title

KEY_PREFIX = "mf:spotify:search:"


@dataclass(frozen=True)
class CacheEntry:
    track: Track | None  # None: searched, not on Spotify

    @property
    def found(self) -> bool:
        return self.track is not None


def cache_key(artist: str, title: str) -> str:
    ident = f"{normalise_artist(artist)}\x1f{normalise_title(title)}"
    return KEY_PREFIX + hashlib.sha1(ident.encode()).hexdigest()


def _encode(track: Track | None) -> str:
    return json.dumps({"track": track.model_dump() if track else None})


def _decode(raw) -> CacheEntry | None:
    try:
        t = json.loads(raw)["track"]
        return CacheEntry(Track(**t) if t else None)
    except (ValueError, KeyError, TypeError):
        return None  # a damaged entry is only a lost search


class SearchCache:
    """Redis-backed: shared by every player, survives restarts."""

    def __init__(self, redis, hit_ttl_s: int = 30 * 24 * 3600, miss_ttl_s: int = 24 * 3600):
        self.redis, self.hit_ttl_s, self.miss_ttl_s = redis, hit_ttl_s, miss_ttl_s

    def get(self, artist: str, title: str) -> CacheEntry | None:
        raw = self.redis.get(cache_key(artist, title))
        return _decode(raw) if raw is not None else None

    def put(self, artist: str, title: str, track: Track | None) -> None:
        ttl = self.hit_ttl_s if track else self.miss_ttl_s
        self.redis.set(cache_key(artist, title), _encode(track), ex=ttl)


class MemorySearchCache:
    """The same in a dict, for a run without Redis."""

    def __init__(self, hit_ttl_s: int = 30 * 24 * 3600, miss_ttl_s: int = 24 * 3600, max_entries: int = 10_000):
        self.hit_ttl_s, self.miss_ttl_s, self.max_entries = hit_ttl_s, miss_ttl_s, max_entries
        self._d: dict[str, tuple[float, str]] = {}

    def get(self, artist: str, title: str) -> CacheEntry | None:
        k = cache_key(artist, title)
        hit = self._d.get(k)
        if hit is None:
            return None
        expires, raw = hit
        if expires < time.time():
            self._d.pop(k, None)
            return None
        return _decode(raw)

    def put(self, artist: str, title: str, track: Track | None) -> None:
        if len(self._d) >= self.max_entries:
            self._d.pop(next(iter(self._d)))  # oldest first: dicts keep insertion order
        ttl = self.hit_ttl_s if track else self.miss_ttl_s
        self._d[cache_key(artist, title)] = (time.time() + ttl, _encode(track))
