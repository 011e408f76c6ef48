"""Queries on the songs table."""
from __future__ import annotations

import random
from typing import Iterable

from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import Session

from musicalface.contracts import MOODS, Playlist, Song
from services.lyrics.db import song_values, upsert_songs
from services.lyrics.models import SongRow

MAX_PLAYLIST = 50


def to_song(row: SongRow) -> Song:
    return Song(id=row.id, artist=row.artist, title=row.title, mood=row.mood, confidence=round(row.confidence, 6))


def check_mood(mood: str) -> str:
    if mood not in MOODS:
        raise ValueError(f"unknown mood {mood!r}: expected one of {', '.join(MOODS)}")
    return mood


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PLAYLIST:
        raise ValueError(f"limit must be between 1 and {MAX_PLAYLIST}, got {limit}")
    return limit


def mood_counts(s: Session) -> dict[str, int]:
    counts = dict(s.execute(select(SongRow.mood, func.count()).group_by(SongRow.mood)).all())
    return {m: int(counts.get(m, 0)) for m in MOODS}


def random_songs(s: Session, mood: str, limit: int = 10, exclude: Iterable[int] = (),
                 seed: int | None = None) -> list[Song]:
    """Up to `limit` distinct songs of a mood, at random, none of `exclude`.

    Each pick is an index seek on (mood, rand): draw r, take the first song at
    or after r. One round asks for all the picks still wanted in a single
    UNION ALL query; picks that land on the same song, or past the last one,
    are drawn again. A round with nothing new ends with a seek from the start
    (the wrap-around), so the loop stops once every song is taken or excluded."""
    check_mood(mood)
    check_limit(limit)
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    skip = {int(i) for i in exclude}
    picked: list[Song] = []
    wrap = False
    while len(picked) < limit:
        want = limit - len(picked)
        rs = [0.0] if wrap else sorted(rng.random() for _ in range(want))
        subs = [pick_stmt(mood, r, skip).subquery() for r in rs]
        stmt = union_all(*(select(sq) for sq in subs)) if len(subs) > 1 else select(subs[0])
        new = 0
        for row in s.execute(stmt):
            if row.id not in skip and len(picked) < limit:
                picked.append(Song(id=row.id, artist=row.artist, title=row.title, mood=row.mood,
                                   confidence=round(row.confidence, 6)))
                skip.add(row.id)
                new += 1
        if new == 0:
            if wrap:
                break  # every song of this mood is taken or excluded
            wrap = True
        else:
            wrap = False
    return picked


def pick_stmt(mood: str, r: float, skip: set[int] = frozenset()):
    """The first song of a mood at or after r in rand order, skipping some ids."""
    q = select(SongRow.id, SongRow.artist, SongRow.title, SongRow.mood, SongRow.confidence).where(
        SongRow.mood == mood, SongRow.rand >= r)
    if skip:
        q = q.where(SongRow.id.not_in(skip))
    return q.order_by(SongRow.rand).limit(1)


def playlist(s: Session, mood: str, limit: int = 10, exclude: Iterable[int] = (), seed: int | None = None) -> Playlist:
    return Playlist(mood=mood, songs=random_songs(s, mood, limit, exclude, seed))


def get_song(s: Session, song_id: int) -> SongRow | None:
    return s.get(SongRow, song_id)


def list_songs(s: Session, mood: str | None = None, q: str | None = None, page: int = 1,
               page_size: int = 20) -> tuple[int, list[SongRow]]:
    query = select(SongRow)
    if mood:
        query = query.where(SongRow.mood == check_mood(mood))
    if q:
        like = f"%{q.strip().lower().replace('%', '').replace('_', '')}%"
        query = query.where(or_(func.lower(SongRow.artist).like(like), func.lower(SongRow.title).like(like)))
    total = s.scalar(select(func.count()).select_from(query.subquery()))
    rows = s.scalars(query.order_by(SongRow.artist, SongRow.title, SongRow.id)
                     .offset((page - 1) * page_size).limit(page_size)).all()
    return int(total or 0), list(rows)


def save_song(s: Session, artist: str, title: str, mood: str, confidence: float, model_version: str) -> tuple[SongRow, bool]:
    """Store a song's labels (never its lyrics); a song already there is re-labelled.
    Returns the row and whether it is new."""
    values = song_values(artist, title, check_mood(mood), confidence, model_version)
    existed = s.scalar(select(SongRow.id).where(SongRow.song_key == values["song_key"])) is not None
    upsert_songs(s.connection(), [values], update=True)
    s.commit()
    row = s.scalars(select(SongRow).where(SongRow.song_key == values["song_key"])).one()
    return row, not existed
