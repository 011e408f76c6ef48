"""Playlists without a server: the songs database opened in this process
(made, and filled from the committed catalog, on first use). For
`musicalface run` and anything else that runs on one machine."""
from __future__ import annotations

import threading
from typing import Iterable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from musicalface.contracts import Playlist
from services.lyrics import db, repository
from services.lyrics.settings import LyricsSettings

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine_for(settings: LyricsSettings | None = None) -> Engine:
    """One prepared engine per database URL for the life of the process."""
    s = settings or LyricsSettings()
    with _lock:
        engine = _engines.get(s.database_url)
        if engine is None:
            engine = db.make_engine(s.database_url)
            db.prepare(engine, s.lyrics_catalog)
            _engines[s.database_url] = engine
        return engine


def embedded_playlist(mood: str, limit: int = 10, seed: int | None = None, exclude: Iterable[int] = (),
                      settings: LyricsSettings | None = None) -> Playlist:
    """Up to `limit` distinct songs of `mood` at random, as GET /playlists/{mood}
    gives them. ValueError for an unknown mood or a limit outside 1..50."""
    repository.check_mood(mood)
    repository.check_limit(limit)
    with Session(engine_for(settings)) as s:
        return repository.playlist(s, mood, limit, exclude, seed)


def close() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
