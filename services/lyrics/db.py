"""Engine, schema migration and the first-start catalog load."""
from __future__ import annotations

import csv
import hashlib
import logging
from pathlib import Path
from typing import Iterable

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, or_, select, text, update
from sqlalchemy.engine import make_url

from musicalface.contracts import MOODS
from services.lyrics.models import Base, MetaRow, SongRow, rand_of
from training.lyrics_data import clean_artist, clean_title, is_listing, song_key

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
LABEL_COLUMNS = ("artist", "title", "mood", "confidence", "model_version")
_LOCK_ID = 0x6C797269  # "lyri": one migrating process at a time on PostgreSQL


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _):
            # WAL lets readers go on while a writer writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
        return engine
    return create_engine(u, pool_pre_ping=True, pool_size=10, max_overflow=20)


def ping(url: str, timeout_s: int = 2) -> None:
    """Connect to a PostgreSQL URL and run one query; raises when the server is not there."""
    engine = create_engine(url, connect_args={"connect_timeout": timeout_s})
    try:
        with engine.connect() as c:
            c.execute(text("select 1"))
    finally:
        engine.dispose()


def _v1(c: Connection) -> None:
    Base.metadata.create_all(c, tables=[SongRow.__table__])


def _v2(c: Connection) -> None:
    """Rows from before the catalog clean-up: artists stored as list literals and titles
    in quotes (whose keys had lost the artist) get clean names and keys; where the clean
    key is taken, the row was the same song twice and goes. Listings that are not songs
    (discography pages) go too."""
    t = SongRow.__table__
    suspects = c.execute(select(t.c.id, t.c.artist, t.c.title).where(or_(
        t.c.artist.like("[%"), t.c.title.like('"%'), *[func.lower(t.c.title).like(f"%{w}%") for w in
                                                      ("discography", "track", "liner notes", "credits")]))).all()
    for row_id, artist, title in suspects:
        artist, title = clean_artist(artist), clean_title(title)
        key = song_key(artist, title)
        if is_listing(title) or c.scalar(select(t.c.id).where(t.c.song_key == key, t.c.id != row_id)):
            c.execute(delete(t).where(t.c.id == row_id))
        else:
            c.execute(update(t).where(t.c.id == row_id).values(
                artist=artist[:500], title=title[:500], song_key=key, rand=rand_of(key)))


# schema version -> the step that brings the previous version to it
MIGRATIONS = {1: _v1, 2: _v2}


def _get_meta(c: Connection, key: str) -> str | None:
    return c.scalar(select(MetaRow.value).where(MetaRow.key == key))


def _set_meta(c: Connection, key: str, value: str) -> None:
    if _get_meta(c, key) is None:
        c.execute(MetaRow.__table__.insert().values(key=key, value=value))
    else:
        c.execute(MetaRow.__table__.update().where(MetaRow.key == key).values(value=value))


def _lock(c: Connection) -> None:
    if c.dialect.name == "postgresql":
        c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})


def migrate(engine: Engine) -> int:
    """Make the schema, or bring an older one up to date; returns the version."""
    with engine.begin() as c:
        _lock(c)
        Base.metadata.create_all(c, tables=[MetaRow.__table__])
        current = int(_get_meta(c, "schema_version") or 0)
        if current > SCHEMA_VERSION:
            raise RuntimeError(f"the database schema is version {current}, newer than this code's {SCHEMA_VERSION}")
        for v in range(current + 1, SCHEMA_VERSION + 1):
            log.info("migrating the lyrics schema to version %d", v)
            MIGRATIONS[v](c)
            _set_meta(c, "schema_version", str(v))
    return SCHEMA_VERSION


# --- labels in and out -------------------------------------------------------
def read_labels(path: str | Path) -> Iterable[dict]:
    """Rows of a labels CSV (artist,title,mood,confidence,model_version), checked."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = set(LABEL_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for i, r in enumerate(reader, start=2):
            if r["mood"] not in MOODS:
                raise ValueError(f"{path}:{i}: unknown mood {r['mood']!r}")
            yield {"artist": r["artist"], "title": r["title"], "mood": r["mood"],
                   "confidence": float(r["confidence"]), "model_version": r["model_version"]}


def song_values(artist: str, title: str, mood: str, confidence: float, model_version: str) -> dict:
    key = song_key(artist, title)
    return {"artist": artist[:500], "title": title[:500], "song_key": key, "mood": mood,
            "confidence": min(max(float(confidence), 0.0), 1.0), "model_version": model_version, "rand": rand_of(key)}


def upsert_songs(c: Connection, rows: list[dict], update: bool = True) -> None:
    """Insert songs; a song already there (same key) gets the new labels, or is
    left alone when update is False. Either way running it twice changes nothing."""
    if not rows:
        return
    if c.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(SongRow.__table__)
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=["song_key"], set_={
            k: stmt.excluded[k] for k in ("artist", "title", "mood", "confidence", "model_version")})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["song_key"])
    c.execute(stmt, rows)


def import_labels(engine: Engine, path: str | Path, update: bool = True, chunk: int = 2000) -> int:
    """Load a labels CSV into the songs table; returns the rows read."""
    n, batch = 0, []
    with engine.begin() as c:
        for r in read_labels(path):
            batch.append(song_values(**r))
            n += 1
            if len(batch) >= chunk:
                upsert_songs(c, batch, update)
                batch = []
        upsert_songs(c, batch, update)
    return n


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure_catalog(engine: Engine, path: str | Path | None) -> int:
    """Load the committed catalog into an empty songs table (first start), and
    again whenever the file changes (a new model relabelled it): its songs get
    the new labels, songs added through the API stay. Returns the songs loaded
    now (0 when the database already had this catalog)."""
    if path is None:
        return 0
    path = Path(path)
    if not path.exists():
        log.warning("no catalog at %s: the songs table is left as it is", path)
        return 0
    sha = _sha256(path)
    with engine.begin() as c:
        _lock(c)
        loaded = _get_meta(c, "catalog_sha256")
        if loaded == sha:
            return 0
        first = loaded is None
        if first and c.scalar(select(func.count()).select_from(SongRow)):
            # songs that came some other way (import, POST): not ours to overwrite
            _set_meta(c, "catalog_sha256", sha)
            return 0
    n = import_labels(engine, path, update=not first)
    with engine.begin() as c:
        _lock(c)
        _set_meta(c, "catalog_sha256", sha)
        _set_meta(c, "catalog_loaded", f"{path.name}: {n} songs")
    log.info("loaded %d catalog songs from %s", n, path)
    return n


def prepare(engine: Engine, catalog: str | Path | None) -> None:
    migrate(engine)
    ensure_catalog(engine, catalog)
