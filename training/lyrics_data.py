"""Lyrics tables, read with a real CSV parser (lyrics hold newlines and commas).

- the labelled MoodyLyrics file (`moodylyrics_lyrics.csv.gz`: artist, title,
  mood, lyrics, label_sources, ...) -> `read_labelled`;
- a catalog to label: any CSV with artist, title, lyrics, or Kaggle's
  `songdata.csv` (artist, song, link, text) -> `iter_catalog`, told apart by
  the header. Either may be gzip'd (told by its magic bytes, not its name).

`held_out_split` makes the project's own evaluation split: the shared file
already lacks the data curators' holdout, so we keep 20% of it apart.
"""
from __future__ import annotations

import ast
import csv
import gzip
import random
import re
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from musicalface.contracts import MOODS

csv.field_size_limit(sys.maxsize)  # a few lyrics run past the 128 kB default

# Header -> (artist, title, lyrics) column names.
CATALOG_FORMATS = {
    "artist,title,lyrics": ("artist", "title", "lyrics"),
    "songdata (artist,song,link,text)": ("artist", "song", "text"),
}


class DataError(ValueError):
    """A lyrics file is missing or not in a form we can read."""


@dataclass(frozen=True)
class LabelledSong:
    artist: str
    title: str
    mood: str
    lyrics: str
    label_sources: str  # "|"-list of ml_raw, ml_balanced, ml4q

    @property
    def label(self) -> int:
        return MOODS.index(self.mood)

    @property
    def from_ml(self) -> bool:
        """Labelled by MoodyLyrics (word lexicon)."""
        return "ml_raw" in self.label_sources or "ml_balanced" in self.label_sources

    @property
    def from_ml4q(self) -> bool:
        """Labelled by MoodyLyrics4Q (Last.fm tags)."""
        return "ml4q" in self.label_sources


def open_text(path: str | Path):
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist")
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8", newline="") if gz else open(path, encoding="utf-8", newline="")


def read_labelled(path: str | Path) -> list[LabelledSong]:
    with open_text(path) as f:
        reader = csv.DictReader(f)
        need = {"artist", "title", "mood", "lyrics"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise DataError(f"{path}: expected the columns {', '.join(sorted(need))} (got {reader.fieldnames})")
        songs = []
        for i, r in enumerate(reader, start=2):
            if r["mood"] not in MOODS:
                raise DataError(f"{path}:{i}: unknown mood {r['mood']!r} (expected one of {', '.join(MOODS)})")
            songs.append(LabelledSong(r["artist"], r["title"], r["mood"], r["lyrics"], r.get("label_sources") or ""))
    return songs


def catalog_columns(fieldnames) -> tuple[str, str, str]:
    names = {n.strip().lower(): n for n in fieldnames or ()}
    for cols in CATALOG_FORMATS.values():
        if all(c in names for c in cols):
            return tuple(names[c] for c in cols)
    raise DataError(f"expected the columns artist,title,lyrics or songdata's artist,song,link,text; got {fieldnames}")


def iter_catalog(path: str | Path) -> Iterator[tuple[str, str, str]]:
    """(artist, title, lyrics) for each row, streamed: songdata.csv is 57k songs."""
    with open_text(path) as f:
        reader = csv.DictReader(f)
        try:
            a, t, l = catalog_columns(reader.fieldnames)
        except DataError as e:
            raise DataError(f"{path}: {e}") from None
        for r in reader:
            yield clean_artist(r[a] or ""), clean_title(r[t] or ""), r[l] or ""


def clean_artist(artist: str) -> str:
    """Some scrapes store the artists as a Python list literal (`["Guns N' Roses"]`,
    `['A', 'B']`): one readable name, the artists joined by commas."""
    artist = artist.strip()
    if artist.startswith("[") and artist.endswith("]") and len(artist) < 1000:
        try:
            names = ast.literal_eval(artist)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return artist
        if isinstance(names, (list, tuple)) and names and all(isinstance(n, str) for n in names):
            return ", ".join(n.strip() for n in names if n.strip())
    return artist


def clean_title(title: str) -> str:
    """Titles wrapped in their own quotes (`"Haunted House"`) lose them."""
    title = title.strip()
    if len(title) >= 2 and title[0] == title[-1] == '"':
        title = title[1:-1].strip()
    return title


# Pages that lyrics sites list among an artist's songs but that are not songs.
_LISTING = re.compile(r"\bdiscography\b|\btrack ?list(ing)?\b|\bliner notes\b|\balbum credits\b", re.IGNORECASE)


def is_listing(title: str) -> bool:
    return bool(_LISTING.search(title))


# --- keys and the held-out split ---------------------------------------------
def norm_key(s: str) -> str:
    """Case-, accent- and punctuation-blind key, as the data README's dedup key."""
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower().replace("&", " and ")
    s = re.sub(r"[\(\[].*?[\)\]]", " ", s)
    s = re.sub(r"['’`]", "", s)
    s = re.sub(r"[^\w]+", " ", s)
    return " ".join(s.split())


def song_key(artist: str, title: str) -> str:
    artist = norm_key(artist)
    if artist.startswith("the "):
        artist = artist[4:]
    return f"{artist}\t{norm_key(title)}"


def _words(text: str) -> list[str]:
    return norm_key(text).split()


def cover_groups(songs: list[LabelledSong], opening_words: int = 10, min_jaccard: float = 0.5) -> list[int]:
    """A group id per song: songs with the same lyric opening, or the same title
    and at least half their words shared (covers, re-listings), share a group."""
    parent = list(range(len(songs)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i, j):
        parent[find(i)] = find(j)

    words = [_words(s.lyrics) for s in songs]
    by_opening, by_title = defaultdict(list), defaultdict(list)
    for i, s in enumerate(songs):
        by_opening[" ".join(words[i][:opening_words])].append(i)
        by_title[norm_key(s.title)].append(i)
    for ids in by_opening.values():
        for j in ids[1:]:
            union(ids[0], j)
    for ids in by_title.values():
        sets = [set(words[i]) for i in ids]
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                inter = len(sets[a] & sets[b])
                if inter / max(len(sets[a] | sets[b]), 1) >= min_jaccard:
                    union(ids[a], ids[b])
    roots: dict[int, int] = {}
    return [roots.setdefault(find(i), len(roots)) for i in range(len(songs))]


def stratum(s: LabelledSong) -> str:
    return f"{s.mood}/{'ml4q' if s.from_ml4q and not s.from_ml else 'ml'}"


def held_out_split(songs: list[LabelledSong], fraction: float = 0.2, seed: int = 979,
                   groups: list[int] | None = None) -> list[bool]:
    """True for held-out songs: about `fraction` of each mood x label source,
    whole cover groups at a time, drawn with a fixed seed."""
    groups = cover_groups(songs) if groups is None else groups
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for g, ids in members.items():
        by_stratum[stratum(songs[ids[0]])].append(g)
    held = [False] * len(songs)
    rng = random.Random(seed)
    for name in sorted(by_stratum):
        gs = sorted(by_stratum[name], key=lambda g: min(song_key(songs[i].artist, songs[i].title) for i in members[g]))
        rng.shuffle(gs)
        want = round(fraction * sum(len(members[g]) for g in gs))
        taken = 0
        for g in gs:
            if taken >= want:
                break
            for i in members[g]:
                held[i] = True
            taken += len(members[g])
    return held


def write_split(path: str | Path, songs: list[LabelledSong], splits: list[str], groups: list[int]) -> Path:
    """The split's ids, no lyrics: enough to rebuild it from the shared file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["artist", "title", "mood", "label_sources", "group", "split"])
        for s, sp, g in zip(songs, splits, groups):
            w.writerow([s.artist, s.title, s.mood, s.label_sources, g, sp])
    return path


def read_split(path: str | Path, songs: list[LabelledSong]) -> list[str]:
    """The split of each song, from a saved split file (by artist + title)."""
    with open(path, newline="", encoding="utf-8") as f:
        saved = {(r["artist"], r["title"]): r["split"] for r in csv.DictReader(f)}
    missing = [s for s in songs if (s.artist, s.title) not in saved]
    if missing:
        raise DataError(f"{path}: {len(missing)} songs of the data are not in the split file "
                        f"(first: {missing[0].artist} - {missing[0].title})")
    return [saved[(s.artist, s.title)] for s in songs]
