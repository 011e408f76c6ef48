"""HTTP routes of the lyrics service."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from musicalface.contracts import MOODS, Playlist, Song
from services.lyrics import repository

router = APIRouter()


def session(request: Request):
    with Session(request.app.state.engine) as s:
        yield s


DB = Annotated[Session, Depends(session)]


class NewSong(BaseModel):
    artist: str = Field(min_length=1, max_length=500)
    title: str = Field(min_length=1, max_length=500)
    lyrics: str = Field(min_length=1, description="raw lyrics; labelled, then thrown away")

    @field_validator("artist", "title", "lyrics")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


class LabelledSong(Song):
    model_version: str
    probabilities: dict[str, float]


class SongPage(BaseModel):
    page: int
    page_size: int
    total: int
    songs: list[Song]


def _mood_or_404(mood: str) -> str:
    if mood not in MOODS:
        raise HTTPException(404, f"unknown mood {mood!r}: expected one of {', '.join(MOODS)}")
    return mood


def _ids(exclude: list[str]) -> list[int]:
    """exclude=1&exclude=2 and exclude=1,2 alike."""
    try:
        return [int(p) for e in exclude for p in e.split(",") if p.strip()]
    except ValueError:
        raise HTTPException(422, f"exclude must be song ids (integers), got {exclude!r}") from None


@router.get("/health")
def health(request: Request, s: DB) -> dict:
    counts = repository.mood_counts(s)
    labeller = request.app.state.labeller
    return {"status": "ok", "database": s.get_bind().dialect.name, "songs": sum(counts.values()),
            "model_version": labeller.version if labeller else None}


@router.get("/moods")
def moods(s: DB) -> dict:
    """Songs per mood."""
    counts = repository.mood_counts(s)
    return {"moods": counts, "total": sum(counts.values())}


@router.get("/playlists/{mood}", response_model=Playlist)
async def playlist(request: Request, mood: str,
                   limit: Annotated[int, Query(ge=1, le=repository.MAX_PLAYLIST, description="songs wanted, 1..50")] = 10,
                   exclude: Annotated[list[str], Query(description="song ids to leave out (repeat or comma-separate)")] = [],
                   seed: Annotated[int | None, Query(description="same seed, same catalog: same playlist")] = None):
    """Up to `limit` distinct songs of a mood, at random."""
    mood, ids = _mood_or_404(mood), _ids(exclude)

    def pick():
        with Session(request.app.state.engine) as s:
            return repository.playlist(s, mood, limit, ids, seed)

    # The hot path: one hop to a worker thread, where a sync route with a session
    # dependency makes three (measured in bench/bench_playlists.py).
    return await run_in_threadpool(pick)


@router.get("/songs/{song_id}", response_model=Song)
def get_song(s: DB, song_id: int):
    row = repository.get_song(s, song_id)
    if row is None:
        raise HTTPException(404, f"no song with id {song_id}")
    return repository.to_song(row)


@router.get("/songs", response_model=SongPage)
def list_songs(request: Request, s: DB,
               mood: Annotated[str | None, Query(description="one of " + ", ".join(MOODS))] = None,
               q: Annotated[str | None, Query(max_length=200, description="part of the artist or title")] = None,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1):
    if mood is not None and mood not in MOODS:
        raise HTTPException(422, f"unknown mood {mood!r}: expected one of {', '.join(MOODS)}")
    size = request.app.state.settings.lyrics_page_size
    total, rows = repository.list_songs(s, mood, q, page, size)
    return SongPage(page=page, page_size=size, total=total, songs=[repository.to_song(r) for r in rows])


@router.post("/songs", response_model=LabelledSong, status_code=201,
             responses={200: {"model": LabelledSong, "description": "the song was there already: re-labelled"}})
def add_song(request: Request, s: DB, body: NewSong):
    """Label a song's lyrics with the model and store the labels; the lyrics are not kept."""
    limit = request.app.state.settings.lyrics_max_chars
    if len(body.lyrics) > limit:
        raise HTTPException(413, f"lyrics too long: {len(body.lyrics)} characters, at most {limit}")
    labeller = request.app.state.get_labeller()
    probs = labeller.probabilities([body.lyrics])[0]
    mood = MOODS[int(probs.argmax())]
    row, created = repository.save_song(s, body.artist, body.title, mood, float(probs.max()), labeller.version)
    out = LabelledSong(**repository.to_song(row).model_dump(), model_version=row.model_version,
                       probabilities={m: round(float(p), 6) for m, p in zip(MOODS, probs)})
    return out if created else JSONResponse(out.model_dump(), status_code=200)
