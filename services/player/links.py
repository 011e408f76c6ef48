"""Spotify links that need no keys: a search page for a song."""
from __future__ import annotations

from urllib.parse import quote

SEARCH_BASE = "https://open.spotify.com/search/"
TRACK_BASE = "https://open.spotify.com/track/"


def search_link(artist: str, title: str) -> str:
    """An open.spotify.com search for "artist title"; works without any login."""
    terms = " ".join(part.strip() for part in (artist, title) if part and part.strip())
    # safe="" so that "/" or "?" in a title stay inside the path segment
    return SEARCH_BASE + quote(terms, safe="")


def track_link(track_id: str) -> str:
    return TRACK_BASE + quote(track_id, safe="")
