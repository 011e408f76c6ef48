"""Songs of a mood from the lyrics service: the one place the player calls it."""
from __future__ import annotations

import httpx

from musicalface.contracts import Playlist


class LyricsError(Exception):
    """The lyrics service refused the request (a 4xx): trying again will not help."""


class LyricsUnavailable(LyricsError):
    """The lyrics service did not answer usefully; worth another try later."""


class SongSource:
    def __init__(self, base_url: str, timeout_s: float = 5.0):
        self.base_url = base_url.rstrip("/")
        # One client for the process: a new one per call costs an SSL context (~25 ms) and a connection.
        self._http = httpx.Client(timeout=timeout_s)

    def playlist(self, mood: str, limit: int = 10, exclude: list[int] | tuple[int, ...] = (),
                 seed: int | None = None) -> Playlist:
        params: dict[str, str | int] = {"limit": limit}
        if exclude:
            params["exclude"] = ",".join(str(i) for i in exclude)
        if seed is not None:
            params["seed"] = seed
        try:
            r = self._http.get(f"{self.base_url}/playlists/{mood}", params=params)
        except httpx.HTTPError as e:
            raise LyricsUnavailable(f"lyrics service at {self.base_url} unreachable ({type(e).__name__})") from None
        if 400 <= r.status_code < 500:
            raise LyricsError(f"lyrics service answered {r.status_code} for mood {mood!r}: {r.text[:200]}")
        if r.status_code != 200:
            raise LyricsUnavailable(f"lyrics service answered {r.status_code} for mood {mood!r}")
        try:
            return Playlist.model_validate_json(r.content)
        except ValueError:
            raise LyricsUnavailable("lyrics service sent something that is not a playlist") from None
