"""Labelling a catalog CSV with the real exported model: both formats, plain and
gzip, resumable, idempotent, never a word of the lyrics in the output; then
the labels into the songs database."""
from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys

import numpy as np
import pytest
from sqlalchemy import text

from musicalface.contracts import MOODS
from services.lyrics import db
from services.lyrics.catalog import label_catalog
from services.lyrics.labeller import Labeller
from tests.conftest import REPO
from tests.lyrics_support import MODEL_DIR

SONGS = [
    ("The Sunny Band", "Happy Days", "Sunshine and smiles, dancing in the summer, love is all around us tonight"),
    ("Grim Hammer", "Burn It Down", "I hate you, burn it down, kill the lies, rage and fire, scream until you bleed"),
    ("Quiet Lake", "Slow River", "Drifting slowly on the calm water, soft breeze, gentle dreams, peaceful night"),
    ("Lonely Heart", "Tears Again", "Crying alone in the rain, you left me, my heart is broken, empty and cold"),
    ("Mixed Case", "Same Song", "A line with a comma, and a \"quote\"\nand a second line\nzanzibarquux"),
    ("mixed case", "same song", "a cover of the song above: it must count once"),
    ("No Words", "Empty", "   "),
]
MARKER = "zanzibarquux"  # a word that must never leave the input file


@pytest.fixture(scope="module")
def labeller():
    return Labeller(MODEL_DIR)


def write_catalog(path, kind: str, gz: bool):
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if kind == "generic":
            w.writerow(["artist", "title", "lyrics", "source"])
            w.writerows([(a, t, l, "test") for a, t, l in SONGS])
        else:  # Kaggle songdata.csv
            w.writerow(["artist", "song", "link", "text"])
            w.writerows([(a, t, f"/x/{i}.html", l) for i, (a, t, l) in enumerate(SONGS)])
    return path


def read_out(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def same_labels(a, b) -> bool:
    ra, rb = read_out(a), read_out(b)
    def key(rows):
        return [(r["artist"], r["title"], r["mood"], r["model_version"]) for r in rows]
    return key(ra) == key(rb) and np.allclose([float(r["confidence"]) for r in ra],
                                              [float(r["confidence"]) for r in rb], atol=1e-5)


@pytest.mark.parametrize("kind, gz", [("generic", False), ("generic", True), ("songdata", False), ("songdata", True)])
def test_label_both_formats(tmp_path, labeller, kind, gz):
    src = write_catalog(tmp_path / ("in.csv.gz" if gz else "in.csv"), kind, gz)
    out = tmp_path / "labels.csv"
    stats = label_catalog(src, out, labeller.label, labeller.version, batch_size=2, progress=False)
    assert (stats.read, stats.labelled, stats.already, stats.no_lyrics) == (7, 5, 1, 1)
    rows = read_out(out)
    assert list(rows[0]) == ["artist", "title", "mood", "confidence", "model_version"]
    assert [(r["artist"], r["title"]) for r in rows] == [(a, t) for a, t, _ in SONGS[:5]]
    assert all(r["mood"] in MOODS and 0 < float(r["confidence"]) <= 1 and r["model_version"] == labeller.version
               for r in rows)
    # the labels are the model's, song by song, whatever else is in the batch
    alone = [labeller.label([l])[0] for _, _, l in SONGS[:5]]
    assert [r["mood"] for r in rows] == [m for m, _ in alone]
    assert np.allclose([float(r["confidence"]) for r in rows], [c for _, c in alone], atol=1e-5)
    assert MARKER not in out.read_text() and "burn it down, kill" not in out.read_text().lower()


def test_resume_and_idempotence(tmp_path, labeller):
    src = write_catalog(tmp_path / "in.csv", "generic", False)
    out = tmp_path / "labels.csv"
    full = tmp_path / "full.csv"
    label_catalog(src, full, labeller.label, labeller.version, progress=False)

    # a run stopped after two songs, the last row cut short by the crash
    lines = full.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:7])
    stats = label_catalog(src, out, labeller.label, labeller.version, progress=False)
    assert (stats.labelled, stats.already) == (3, 3)
    assert same_labels(out, full)

    before = out.read_text()
    again = label_catalog(src, out, labeller.label, labeller.version, progress=False)
    assert again.labelled == 0 and out.read_text() == before


def test_refuses_a_file_that_is_not_a_catalog(tmp_path, labeller):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,words\nx,y\n")
    with pytest.raises(ValueError, match="artist,title,lyrics"):
        label_catalog(bad, tmp_path / "o.csv", labeller.label, labeller.version, progress=False)


def test_cli_label_then_import(tmp_path):
    src = write_catalog(tmp_path / "songdata.csv", "songdata", False)
    out = tmp_path / "labels.csv"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'songs.db'}", "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = [sys.executable, "-m", "musicalface.cli", "lyrics"]
    r = subprocess.run([*run, "label", str(src), "--out", str(out), "--batch-size", "3"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "5 labelled" in r.stdout
    r = subprocess.run([*run, "label", str(src), "--out", str(out)], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "0 labelled" in r.stdout and "6 already labelled" in r.stdout

    for _ in range(2):  # importing twice changes nothing
        r = subprocess.run([*run, "import", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    engine = db.make_engine(env["DATABASE_URL"])
    with engine.connect() as c:
        rows = c.execute(text("SELECT artist, title, mood, model_version FROM songs ORDER BY id")).all()
    engine.dispose()
    assert [(a, t) for a, t, _, _ in rows] == [(a, t) for a, t, _ in SONGS[:5]]

    r = subprocess.run([*run, "label", str(tmp_path / "missing.csv")], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_catalog_csv_has_no_lyrics():
    """The committed catalog: artist, title and labels only."""
    from services.lyrics.settings import CATALOG_LABELS

    header = CATALOG_LABELS.read_text(encoding="utf-8").splitlines()[0]
    assert header == "artist,title,mood,confidence,model_version"
    assert max(len(line) for line in CATALOG_LABELS.read_text(encoding="utf-8").splitlines()) < 600


def test_scrape_artefacts_are_cleaned_and_listings_skipped(tmp_path, labeller):
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([
            ["artist", "title", "lyrics"],
            ["[\"Guns N' Roses\"]", "Patience", "shed a tear cause I'm missing you, I'm still alright to smile"],
            ["Guns N' Roses", "Patience", "the same song from another source: it counts once"],
            ["['Simon', 'Garfunkel']", '"The Boxer"', "I am just a poor boy, though my story's seldom told"],
            ["[not a list", "Odd", "an artist that only looks like a list stays as it is"],
            ["Taylor Swift", "Unreleased Songs [Discography List]", "a list of titles, not a song"],
        ])
    out = tmp_path / "labels.csv"
    stats = label_catalog(src, out, labeller.label, labeller.version, progress=False)
    assert (stats.read, stats.labelled, stats.already, stats.not_songs) == (5, 3, 1, 1)
    assert [(r["artist"], r["title"]) for r in read_out(out)] == [
        ("Guns N' Roses", "Patience"), ("Simon, Garfunkel", "The Boxer"), ("[not a list", "Odd")]


def test_shipped_catalog_is_clean():
    from training.lyrics_data import is_listing, song_key

    rows = read_out(REPO / "services" / "lyrics" / "data" / "catalog_labels.csv")
    assert not [r for r in rows if r["artist"].startswith("[") or is_listing(r["title"]) or r["title"].startswith('"')]
    assert all(song_key(r["artist"], r["title"]).split("\t")[0] for r in rows)  # no artist keys out to nothing
    assert len({song_key(r["artist"], r["title"]) for r in rows}) == len(rows)
