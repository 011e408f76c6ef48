"""Lyrics readers and the held-out split, on files made here and on the shared data."""
from __future__ import annotations

import csv
import gzip
from collections import Counter

import pytest

from training import lyrics_data as d
from tests.conftest import REPO


def labelled_csv(path, rows, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["artist", "title", "mood", "lyrics", "source_index", "label_sources", "lyrics_source", "lang",
                    "n_words"])
        for a, t, m, l, src in rows:
            w.writerow([a, t, m, l, "", src, "", "en", len(l.split())])
    return path


def test_read_labelled_gz_with_newlines_and_sources(tmp_path):
    rows = [("A", "One", "happy", "line one,\n\"quoted\" line two", "ml_raw|ml_balanced"),
            ("B", "Two", "sad", "x " * 70000, "ml4q"),  # past csv's default field limit
            ("C", "Three", "angry", "both lists", "ml_raw|ml4q")]
    songs = d.read_labelled(labelled_csv(tmp_path / "l.csv.gz", rows, gz=True))
    assert [s.lyrics for s in songs][0] == "line one,\n\"quoted\" line two"
    assert [s.label for s in songs] == [1, 3, 0]
    assert [(s.from_ml, s.from_ml4q) for s in songs] == [(True, False), (False, True), (True, True)]


def test_read_labelled_refuses_unknown_mood_and_missing_columns(tmp_path):
    with pytest.raises(d.DataError, match="unknown mood 'euphoric'"):
        d.read_labelled(labelled_csv(tmp_path / "a.csv", [("A", "T", "euphoric", "x", "ml4q")]))
    bad = tmp_path / "b.csv"
    bad.write_text("artist,title\nA,T\n")
    with pytest.raises(d.DataError, match="expected the columns"):
        d.read_labelled(bad)
    with pytest.raises(d.DataError, match="does not exist"):
        d.read_labelled(tmp_path / "nope.csv")


@pytest.mark.parametrize("header, row", [
    (["artist", "title", "lyrics"], ["A", "T", "la la"]),
    (["Artist", "Title", "Lyrics", "extra"], ["A", "T", "la la", "x"]),
    (["artist", "song", "link", "text"], ["A", "T", "/a/t.html", "la la"]),
])
@pytest.mark.parametrize("gz", [False, True])
def test_iter_catalog_detects_the_format_by_header(tmp_path, header, row, gz):
    path = tmp_path / ("c.csv.data" if gz else "c.txt")  # told apart by content, not by name
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, row])
    assert list(d.iter_catalog(path)) == [("A", "T", "la la")]


def test_iter_catalog_refuses_other_tables(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,words\na,b\n")
    with pytest.raises(d.DataError, match="songdata"):
        list(d.iter_catalog(path))


def test_song_key_is_blind_to_case_accents_punctuation_and_the():
    k = d.song_key("The Beatles", "Here Comes the Sun (Remastered)")
    assert k == d.song_key("beatles", "here comes the sun") == d.song_key("BEATLES ", "Here  Comes The Sun!")
    assert d.song_key("Beyoncé", "Halo") == d.song_key("Beyonce", "HALO")
    assert d.song_key("Simon & Garfunkel", "Don't") == d.song_key("Simon and Garfunkel", "dont")
    assert d.song_key("A", "One") != d.song_key("A", "Two")


def _song(artist, title, mood, lyrics, src="ml4q"):
    return d.LabelledSong(artist, title, mood, lyrics, src)


def test_cover_groups_join_same_openings_and_same_title_covers():
    base = "ring of fire burning love " * 10
    songs = [_song("Cash", "Ring Of Fire", "happy", base),
             _song("Jackson", "Ring of Fire", "sad", base + " extra words here"),
             _song("Other", "Another", "sad", "completely different " * 5 + base),
             _song("Someone", "Other Title", "angry", base.upper())]  # same opening, other title
    g = d.cover_groups(songs)
    assert g[0] == g[1] == g[3] != g[2]


def test_held_out_split_is_stratified_grouped_and_seeded():
    songs = []
    for m in ("angry", "happy", "relaxed", "sad"):
        for src in ("ml_raw|ml_balanced", "ml4q"):
            for i in range(50):
                songs.append(_song(f"{m}{src}{i}", f"t{i}", m, f"unique {m} {src} {i} words", src))
    cover = "same lyric opening for the covers " * 5
    songs += [_song(f"cover{i}", "Cover", "sad", cover, "ml4q") for i in range(4)]
    groups = d.cover_groups(songs)
    held = d.held_out_split(songs, 0.2, seed=5, groups=groups)
    assert held == d.held_out_split(songs, 0.2, seed=5, groups=groups)
    assert held != d.held_out_split(songs, 0.2, seed=6, groups=groups)
    per = Counter(d.stratum(s) for s, h in zip(songs, held) if h)
    assert set(per) == {f"{m}/{s}" for m in ("angry", "happy", "relaxed", "sad") for s in ("ml", "ml4q")}
    assert all(9 <= n <= 14 for n in per.values()), per
    assert len({h for s, h in zip(songs, held) if s.title == "Cover"}) == 1  # covers never straddle


def test_split_file_round_trip_without_lyrics(tmp_path):
    songs = [_song("A", "x", "happy", "secret words one"), _song("B", "y", "sad", "secret words two")]
    path = d.write_split(tmp_path / "split.csv", songs, ["train", "test"], [0, 1])
    assert "secret" not in path.read_text()
    assert d.read_split(path, songs) == ["train", "test"]
    with pytest.raises(d.DataError, match="not in the split file"):
        d.read_split(path, songs + [_song("C", "z", "sad", "w")])


def test_committed_split_matches_the_shared_data(shared_data):
    """reports/lyrics/split.csv covers the training file; no song is on both sides."""
    songs = d.read_labelled(shared_data / "lyrics" / "moodylyrics_lyrics.csv.gz")
    splits = d.read_split(REPO / "reports" / "lyrics" / "split.csv", songs)
    counts = Counter(splits)
    assert counts["test"] == pytest.approx(0.2 * len(songs), rel=0.05)
    groups = d.cover_groups(songs)
    test_groups = {g for g, s in zip(groups, splits) if s == "test"}
    assert not any(g in test_groups for g, s in zip(groups, splits) if s != "test")
