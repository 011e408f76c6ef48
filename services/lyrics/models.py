"""The songs table. Lyrics are never stored: only what the model made of them.

`rand` is a fixed uniform number per song, indexed with the mood, so a random
pick is an index seek (mood = m AND rand >= r ORDER BY rand LIMIT 1), not a
scan of the table. It is derived from the song's key so that a seeded
playlist is the same on every install with the same catalog.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import CheckConstraint, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from musicalface.contracts import MOODS


class Base(DeclarativeBase):
    pass


def rand_of(key: str) -> float:
    return int(hashlib.sha1(key.encode()).hexdigest()[:13], 16) / 16 ** 13


class SongRow(Base):
    __tablename__ = "songs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artist: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500))
    # Case/accent/punctuation-blind artist + title: what makes a song the same song.
    song_key: Mapped[str] = mapped_column(String(1100), unique=True)
    mood: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64))
    rand: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(timezone.utc))

    __table_args__ = (
        Index("ix_songs_mood_rand", "mood", "rand"),
        CheckConstraint("mood IN (" + ", ".join(f"'{m}'" for m in MOODS) + ")", name="ck_songs_mood"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="ck_songs_confidence"),
    )


class MetaRow(Base):
    """Key/value facts about the database: schema version, catalog loaded."""
    __tablename__ = "lyrics_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))
