"""The lyrics service over real HTTP on loopback, against SQLite and the real PostgreSQL."""
from __future__ import annotations

import csv

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from musicalface.contracts import MOODS, Playlist
from services.lyrics import db, repository
from services.lyrics.client import LyricsClient, LyricsServiceError
from services.lyrics.settings import LyricsSettings
from tests.conftest import free_port
from tests.lyrics_support import MODEL_DIR, database, lyrics_service, write_labels

PER_MOOD = 12
LYRICS = "I'm walking on sunshine, whoa-oh, and don't it feel good! Dancing all night, happy and free"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"lyrics-{request.param}")
    with database(request.param, tmp, request) as url:
        settings = LyricsSettings(database_url=url, lyrics_catalog=write_labels(tmp / "labels.csv", PER_MOOD),
                                  lyrics_model_dir=MODEL_DIR)
        with lyrics_service(settings) as base:
            yield request.param, url, base


@pytest.fixture
def http(backend):
    with httpx.Client(base_url=backend[2], timeout=30) as c:
        yield c


def song_ids(http, mood):
    total = http.get("/songs", params={"mood": mood}).json()["total"]
    ids = []
    for page in range(1, total // 20 + 2):
        ids += [s["id"] for s in http.get("/songs", params={"mood": mood, "page": page}).json()["songs"]]
    return ids


def test_health_names_the_database(backend, http):
    r = http.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == backend[0]
    assert body["songs"] >= 4 * PER_MOOD


def test_catalog_loaded_on_first_start_and_moods_counted(http):
    counts = http.get("/moods").json()
    assert set(counts["moods"]) == set(MOODS)
    for m in MOODS:
        assert counts["moods"][m] == len(song_ids(http, m)) >= PER_MOOD
    assert counts["total"] == sum(counts["moods"].values()) == http.get("/health").json()["songs"]


def test_playlist_is_the_contract_and_distinct(http):
    r = http.get("/playlists/sad", params={"limit": 10})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"mood", "songs"}
    assert all(set(s) == {"id", "artist", "title", "mood", "confidence"} for s in body["songs"])
    p = Playlist.model_validate(body)
    assert p.mood == "sad" and len(p.songs) == 10
    assert len({s.id for s in p.songs}) == 10
    assert all(s.mood == "sad" and 0 <= s.confidence <= 1 for s in p.songs)
    for s in p.songs[:3]:
        assert http.get(f"/songs/{s.id}").json() == s.model_dump()


def test_limit_above_the_songs_there_gives_them_all(http):
    ids = song_ids(http, "relaxed")
    p = http.get("/playlists/relaxed", params={"limit": 50}).json()
    assert sorted(s["id"] for s in p["songs"]) == sorted(ids)


def test_exclude_in_both_forms(http):
    ids = song_ids(http, "angry")
    keep = ids[len(ids) // 2]
    rest = [i for i in ids if i != keep]
    repeated = [("limit", 5)] + [("exclude", i) for i in rest]
    assert [s["id"] for s in http.get("/playlists/angry", params=repeated).json()["songs"]] == [keep]
    joined = {"limit": 5, "exclude": ",".join(map(str, rest))}
    assert [s["id"] for s in http.get("/playlists/angry", params=joined).json()["songs"]] == [keep]
    everything = {"limit": 5, "exclude": ",".join(map(str, ids))}
    assert http.get("/playlists/angry", params=everything).json() == {"mood": "angry", "songs": []}


def test_seed_repeats_and_picks_vary(http):
    a = http.get("/playlists/happy", params={"limit": 4, "seed": 7}).json()
    assert http.get("/playlists/happy", params={"limit": 4, "seed": 7}).json() == a
    firsts = {http.get("/playlists/happy", params={"limit": 1, "seed": s}).json()["songs"][0]["id"]
              for s in range(40)}
    assert len(firsts) >= PER_MOOD // 2, "random picks keep landing on the same few songs"
    unseeded = {tuple(s["id"] for s in http.get("/playlists/happy", params={"limit": 3}).json()["songs"])
                for _ in range(10)}
    assert len(unseeded) > 1


@pytest.mark.parametrize("path, status, words", [
    ("/playlists/furious", 404, "unknown mood 'furious'"),
    ("/playlists/happy?limit=0", 422, "limit"),
    ("/playlists/happy?limit=51", 422, "limit"),
    ("/playlists/happy?limit=ten", 422, "limit"),
    ("/playlists/happy?exclude=abc", 422, "exclude"),
    ("/playlists/happy?seed=x", 422, "seed"),
    ("/songs?mood=furious", 422, "unknown mood"),
    ("/songs?page=0", 422, "page"),
    ("/songs/123456789", 404, "no song with id 123456789"),
    ("/songs/abc", 422, "song_id"),
])
def test_bad_requests_get_a_clear_4xx(http, path, status, words):
    r = http.get(path)
    assert r.status_code == status
    assert words in r.json()["detail"]


def test_songs_search_and_pages(http):
    r = http.get("/songs", params={"q": "song SAD 1"}).json()  # case-blind, part of a title
    titles = [s["title"] for s in r["songs"]]
    assert titles and all("song sad 1" in t.lower() for t in titles)
    first = http.get("/songs", params={"page": 1}).json()
    second = http.get("/songs", params={"page": 2}).json()
    assert first["total"] == second["total"] >= 4 * PER_MOOD
    assert len(first["songs"]) == first["page_size"]
    assert not {s["id"] for s in first["songs"]} & {s["id"] for s in second["songs"]}
    assert http.get("/songs", params={"q": "no such song anywhere"}).json()["total"] == 0


def test_post_labels_with_the_model_and_keeps_no_lyrics(backend, http):
    before = http.get("/moods").json()["total"]
    r = http.post("/songs", json={"artist": "Katrina and the Waves", "title": "Walking on Sunshine", "lyrics": LYRICS})
    assert r.status_code == 201, r.text
    song = r.json()
    assert song["mood"] in MOODS and 0 < song["confidence"] <= 1
    assert song["model_version"].startswith("lyrics/")
    assert abs(sum(song["probabilities"].values()) - 1) < 1e-4
    assert max(song["probabilities"], key=song["probabilities"].get) == song["mood"]
    assert http.get(f"/songs/{song['id']}").json()["mood"] == song["mood"]
    assert http.get("/moods").json()["total"] == before + 1

    again = http.post("/songs", json={"artist": "katrina & the waves", "title": "Walking On Sunshine",
                                      "lyrics": LYRICS})
    assert again.status_code == 200 and again.json()["id"] == song["id"]
    assert http.get("/moods").json()["total"] == before + 1

    engine = db.make_engine(backend[1])
    try:
        cols = {c["name"] for c in inspect(engine).get_columns("songs")}
        assert not cols & {"lyrics", "text"}
        with engine.connect() as c:
            for row in c.execute(text("SELECT * FROM songs")):
                assert not any(isinstance(v, str) and "sunshine, whoa" in v.lower() for v in row)
    finally:
        engine.dispose()


@pytest.mark.parametrize("body, words", [
    ({"artist": "A", "title": "T"}, "lyrics: Field required"),
    ({"artist": "A", "title": "T", "lyrics": "   "}, "lyrics"),
    ({"artist": "", "title": "T", "lyrics": "words"}, "artist"),
    ({"artist": "A", "title": "T", "lyrics": 5}, "lyrics"),
    ([1, 2], "valid dictionary"),
])
def test_malformed_bodies_get_422(http, body, words):
    r = http.post("/songs", json=body)
    assert r.status_code == 422
    assert words in r.json()["detail"]


def test_not_json_and_too_long(http):
    r = http.post("/songs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    r = http.post("/songs", json={"artist": "A", "title": "Long", "lyrics": "la " * 100_000})
    assert r.status_code == 413 and "too long" in r.json()["detail"]


def test_openapi_docs(http):
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/health", "/moods", "/playlists/{mood}", "/songs", "/songs/{song_id}"} <= set(paths)


def test_client_gives_playlists_and_clear_errors(backend):
    with LyricsClient(backend[2], timeout=10) as client:
        p = client.playlist("happy", limit=3, seed=1)
        assert isinstance(p, Playlist) and len(p.songs) == 3
        assert client.playlist("happy", limit=3, seed=1) == p
        excluded = client.playlist("happy", limit=50, exclude=[s.id for s in p.songs])
        assert not {s.id for s in excluded.songs} & {s.id for s in p.songs}
        with pytest.raises(LyricsServiceError, match="unknown mood") as e:
            client.playlist("grumpy")
        assert e.value.status == 404
        assert set(client.moods()) == set(MOODS)
    with LyricsClient(f"http://127.0.0.1:{free_port()}", timeout=2) as dead:
        with pytest.raises(LyricsServiceError, match="unreachable"):
            dead.playlist("happy")


def test_random_pick_is_an_index_seek(backend):
    """The pick query walks the (mood, rand) index: no scan, no sort of the table."""
    engine = db.make_engine(backend[1])
    stmt = repository.pick_stmt("happy", 0.5, {1, 2, 3})
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    try:
        with engine.connect() as c:
            if backend[0] == "sqlite":
                plan = " ".join(str(r[-1]) for r in c.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
                assert "USING INDEX ix_songs_mood_rand" in plan and "TEMP B-TREE" not in plan, plan
            else:
                c.execute(text("SET enable_seqscan = off"))  # a tiny table would be scanned anyway
                plan = " ".join(r[0] for r in c.execute(text(f"EXPLAIN {sql}")))
                assert "ix_songs_mood_rand" in plan and "Sort" not in plan, plan
    finally:
        engine.dispose()


def test_catalog_loads_once_and_schema_migrates_idempotently(request, tmp_path):
    with database("sqlite", tmp_path, request) as url:
        engine = db.make_engine(url)
        labels = write_labels(tmp_path / "a.csv", 3)
        assert db.migrate(engine) == db.SCHEMA_VERSION
        assert db.ensure_catalog(engine, labels) == 12
        assert db.migrate(engine) == db.SCHEMA_VERSION  # again: nothing changes
        assert db.ensure_catalog(engine, labels) == 0
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM songs")).scalar() == 12
            c.execute(text("UPDATE lyrics_meta SET value = '99' WHERE key = 'schema_version'"))
            c.commit()
        with pytest.raises(RuntimeError, match="newer than this code"):
            db.migrate(engine)
        engine.dispose()


def test_a_relabelled_catalog_updates_its_songs_and_keeps_others(request, tmp_path):
    with database("sqlite", tmp_path, request) as url:
        engine = db.make_engine(url)
        db.migrate(engine)
        old = write_labels(tmp_path / "old.csv", 3)
        db.ensure_catalog(engine, old)
        with Session(engine) as s:
            repository.save_song(s, "Posted", "By Hand", "sad", 0.9, "lyrics/9")
        new = tmp_path / "new.csv"
        new.write_text(old.read_text().replace(",angry,", ",happy,").replace("test/1", "test/2"))
        assert db.ensure_catalog(engine, new) == 12
        with Session(engine) as s:
            assert repository.mood_counts(s) == {"angry": 0, "happy": 6, "relaxed": 3, "sad": 4}
            versions = {v for (v,) in s.execute(text("SELECT DISTINCT model_version FROM songs"))}
        assert versions == {"test/2", "lyrics/9"}
        assert db.ensure_catalog(engine, new) == 0
        engine.dispose()


def test_committed_catalog_loads_on_first_start(tmp_path):
    from services.lyrics.settings import CATALOG_LABELS

    with open(CATALOG_LABELS, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["artist", "title", "mood", "confidence", "model_version"]
    settings = LyricsSettings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}", lyrics_model_dir=MODEL_DIR)
    with lyrics_service(settings) as base:
        moods = httpx.get(f"{base}/moods").json()
    assert moods["total"] == len(rows) >= 11000
    assert all(moods["moods"][m] > 500 for m in MOODS)


def test_embedded_playlist_without_a_server(tmp_path):
    from services.lyrics import embedded

    settings = LyricsSettings(database_url=f"sqlite:///{tmp_path / 'embedded.db'}", lyrics_model_dir=MODEL_DIR)
    try:
        p = embedded.embedded_playlist("happy", limit=10, seed=3, settings=settings)
        assert isinstance(p, Playlist) and p.mood == "happy"
        assert len({s.id for s in p.songs}) == 10 and all(s.mood == "happy" for s in p.songs)
        assert embedded.embedded_playlist("happy", limit=10, seed=3, settings=settings) == p
        rest = embedded.embedded_playlist("happy", limit=10, seed=3, exclude=[s.id for s in p.songs],
                                          settings=settings)
        assert not {s.id for s in rest.songs} & {s.id for s in p.songs}
        with pytest.raises(ValueError, match="unknown mood 'meh'"):
            embedded.embedded_playlist("meh", settings=settings)
        with pytest.raises(ValueError, match="between 1 and 50"):
            embedded.embedded_playlist("sad", limit=0, settings=settings)
    finally:
        embedded.close()


def test_cli_serve_runs_the_service(tmp_path):
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}", "TF_CPP_MIN_LOG_LEVEL": "3",
           "LYRICS_CATALOG": str(write_labels(tmp_path / "labels.csv", 5))}
    proc = subprocess.Popen([sys.executable, "-m", "musicalface.cli", "lyrics", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.1)
        assert httpx.get(f"{url}/moods").json()["total"] == 20
        p = Playlist.model_validate(httpx.get(f"{url}/playlists/sad", params={"limit": 5}).json())
        assert len(p.songs) == 5
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_v2_migration_cleans_rows_from_the_old_catalog(kind, request, tmp_path):
    with database(kind, tmp_path, request) as url:
        engine = db.make_engine(url)
        db.migrate(engine)
        with engine.begin() as c:  # rows as the version-1 catalog stored them, keys and all
            rows = [("Guns N' Roses", "Patience"), ("[\"Guns N' Roses\"]", "Patience"),
                    ("[\"The O'Jays\"]", "Love Train"), ("Neil", '"Should\'ve Never Let You Go"'),
                    ("Taylor Swift", "Unreleased Songs [Discography List]"), ("Taylor Swift", "Love Story")]
            for artist, title in rows:
                values = db.song_values(artist, title, "happy", 0.5, "lyrics/4")
                values["song_key"] = "\t" + values["song_key"].split("\t")[1] if artist.startswith("[") else values["song_key"]
                db.upsert_songs(c, [values])
            c.execute(text("UPDATE lyrics_meta SET value = '1' WHERE key = 'schema_version'"))
        assert db.migrate(engine) == 2
        with engine.connect() as c:
            left = c.execute(text("SELECT artist, title, song_key FROM songs ORDER BY artist, title")).all()
        assert [(a, t) for a, t, _ in left] == [
            ("Guns N' Roses", "Patience"), ("Neil", "Should've Never Let You Go"),
            ("Taylor Swift", "Love Story"), ("The O'Jays", "Love Train")]
        assert all(k.split("\t")[0] for _, _, k in left)
        engine.dispose()
