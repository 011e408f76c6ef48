"""Which Spotify track is the song: title/artist normalisation and scoring.

Spotify decorates titles ("Hey Jude - Remastered 2015", "Song (feat. X)",
"Song [Live]") and the catalog often does not, or the other way round, so both
sides are reduced to the bare words before they are compared.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

# Words that mark a " - ..." suffix as an edition note rather than part of the title.
_SUFFIX_WORDS = (
    "remaster", "remastered", "live", "version", "edit", "mix", "remix", "mono", "stereo", "demo",
    "acoustic", "single", "bonus", "deluxe", "anniversary", "recorded", "from", "feat", "featuring",
    "radio", "extended", "original", "instrumental", "session", "take", "explicit", "clean",
)
_SUFFIX_RE = re.compile(r"\s+-\s+(.*)$")
_BRACKETS_RE = re.compile(r"\s*[\(\[\{][^\)\]\}]*[\)\]\}]")
_FEAT_RE = re.compile(r"\s+(?:feat\.?|ft\.|featuring)\s+.*$", re.IGNORECASE)
_ARTIST_SPLIT_RE = re.compile(r"\s*(?:,|&|/|;|\bfeat\.|\bfeat\b|\bft\.|\bfeaturing\b|\bwith\b|\bvs\.|\bvs\b)\s*",
                              re.IGNORECASE)
# Versions nobody wants when they asked for the song itself.
_UNWANTED = ("karaoke", "instrumental", "tribute", "cover", "originally performed", "made famous", "8-bit", "lullaby")


def _ascii_fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c))


def _words(s: str) -> str:
    s = _ascii_fold(s).casefold().replace("&", " and ")
    s = re.sub(r"['\u2019`]", "", s)
    s = re.sub(r"[^\w]+", " ", s)
    return " ".join(s.split())


def clean_title(title: str) -> str:
    """The title as a person would type it: edition suffixes, brackets and "feat." dropped, case kept."""
    t = title.strip()
    m = _SUFFIX_RE.search(t)
    if m and any(w in _words(m.group(1)).split() or _words(m.group(1)).startswith(w) for w in _SUFFIX_WORDS):
        t = t[: m.start()]
    stripped = _BRACKETS_RE.sub("", t).strip()
    t = stripped or t  # a title that is all brackets keeps them
    t = _FEAT_RE.sub("", t).strip() or t
    return " ".join(t.split())


def normalise_title(title: str) -> str:
    return _words(clean_title(title))


def normalise_artist(artist: str) -> str:
    a = _words(artist)
    return a[4:] if a.startswith("the ") else a


def artist_names(artist: str) -> list[str]:
    """"A & B feat. C" -> ["A & B feat. C", "A", "B", "C"], to match any credited artist."""
    parts = [p for p in _ARTIST_SPLIT_RE.split(artist) if p and p.strip()]
    return [artist] + [p for p in parts if p != artist]


_FEAT_ARTIST_RE = re.compile(r"\s+(?:feat\.?|ft\.|featuring|with|vs\.?)\s+.*$", re.IGNORECASE)


def primary_artist(artist: str) -> str:
    """"Beyoncé feat. Jay-Z" -> "Beyoncé"; duos ("Simon & Garfunkel") stay whole."""
    return _FEAT_ARTIST_RE.sub("", artist.strip()).strip() or artist.strip()


def similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ratio = SequenceMatcher(None, a, b).ratio()
    # "Hey Jude" vs "Hey Jude Take 2": the whole of one, word for word, at the start of the other.
    short, long_ = sorted((a, b), key=len)
    if long_.startswith(short + " "):
        ratio = max(ratio, 0.85)
    return ratio


def artist_similarity(wanted: str, credited: list[str]) -> float:
    best = 0.0
    for w in artist_names(wanted):
        nw = normalise_artist(w)
        for c in credited:
            best = max(best, similarity(nw, normalise_artist(c)))
        if len(credited) > 1:
            best = max(best, similarity(nw, normalise_artist(" and ".join(credited))))
    return best


@dataclass(frozen=True)
class Match:
    item: dict
    score: float
    title_score: float
    artist_score: float


TITLE_MIN = 0.8
ARTIST_MIN = 0.6


def score(artist: str, title: str, item: dict) -> Match:
    """How well one Spotify track object fits (artist, title); 0..1."""
    name = item.get("name") or ""
    credited = [a.get("name") or "" for a in item.get("artists") or []]
    ts = similarity(normalise_title(title), normalise_title(name))
    ars = artist_similarity(artist, credited)
    s = 0.55 * ts + 0.45 * ars
    raw_want, raw_got = _words(title), _words(name)
    if any(u in raw_got and u not in raw_want for u in _UNWANTED):
        s -= 0.2
    elif raw_got != raw_want:
        s -= 0.02  # prefer the plain studio version when there is one
    return Match(item=item, score=s, title_score=ts, artist_score=ars)


def best_match(artist: str, title: str, items: list[dict]) -> Match | None:
    """The best of Spotify's results, or None when none is the same song by the same artist."""
    good = [m for m in (score(artist, title, it) for it in items if it)
            if m.title_score >= TITLE_MIN and m.artist_score >= ARTIST_MIN]
    if not good:
        return None
    # ties: the more popular one, as Spotify's own search would put it first
    return max(good, key=lambda m: (round(m.score, 6), m.item.get("popularity") or 0))
