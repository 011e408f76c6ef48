"""Helpers for the lyrics tests: databases to test against, a labels CSV made
here, and the service under uvicorn on a loopback port."""
from __future__ import annotations

import contextlib
import csv
import uuid
from pathlib import Path

from tests.conftest import REPO
from tests.http_servers import serve_app

MODEL_DIR = REPO / "models" / "lyrics"
MOODS4 = ("angry", "happy", "relaxed", "sad")


def write_labels(path: Path, per_mood: int = 12) -> Path:
    """A small catalog of labels: per_mood songs of each mood, known names."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["artist", "title", "mood", "confidence", "model_version"])
        for m in MOODS4:
            for i in range(per_mood):
                w.writerow([f"Artist {m} {i % 3}", f"Song {m} {i}", m, f"{0.5 + i / 100:.3f}", "test/1"])
    return path


@contextlib.contextmanager
def pg_schema(postgres_url: str):
    """A fresh PostgreSQL schema for one test module; the URL points at it."""
    from sqlalchemy import create_engine, text

    schema = f"mf_lyrics_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        from services.lyrics import embedded

        embedded.close()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def database(kind: str, tmp_path: Path, request):
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'lyrics.db'}"
    else:
        with pg_schema(request.getfixturevalue("postgres_url")) as url:
            yield url


@contextlib.contextmanager
def lyrics_service(settings):
    """The lyrics service under uvicorn on a free loopback port; yields its URL."""
    from services.lyrics.app import create_app

    with serve_app(create_app(settings), "lyrics service") as url:
        yield url
