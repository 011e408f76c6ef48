"""Songs of a mood from the lyrics service: the one place the player calls it."""
from __future__ import annotations

from musicalface.contracts import Playlist
from services.lyrics.client import LyricsClient, LyricsServiceError


class LyricsError(Exception):
    """The lyrics service refused the request (a 4xx): trying again will not help."""


class LyricsUnavailable(LyricsError):
    """The lyrics service did not answer usefully; worth another try later."""


class SongSource:
    def __init__(self, base_url: str, timeout_s: float = 5.0):
        # One client for the process: a new one per call costs an SSL context (~25 ms) and a connection.
        self.client = LyricsClient(base_url, timeout=timeout_s)

    def playlist(self, mood: str, limit: int = 10, exclude: list[int] | tuple[int, ...] = (),
                 seed: int | None = None) -> Playlist:
        try:
            return self.client.playlist(mood, limit=limit, exclude=exclude, seed=seed)
        except LyricsServiceError as e:
            if e.status is not None and 400 <= e.status < 500:
                raise LyricsError(str(e)) from None
            raise LyricsUnavailable(str(e)) from None
