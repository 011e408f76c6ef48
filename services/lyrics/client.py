"""HTTP client of the lyrics service, for the player and anything else."""
from __future__ import annotations

from typing import Iterable

import httpx

from musicalface.contracts import Playlist


class LyricsServiceError(RuntimeError):
    """The lyrics service could not be reached or refused the request."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class LyricsClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8001", timeout: float = 5.0, transport=None):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def _get(self, path: str, params=None) -> dict:
        try:
            r = self._http.get(path, params=params)
        except httpx.HTTPError as e:
            raise LyricsServiceError(f"lyrics service at {self.base_url} unreachable: {e}") from e
        if r.status_code != 200:
            try:
                detail = r.json().get("detail")
            except ValueError:
                detail = r.text[:200]
            raise LyricsServiceError(f"lyrics service: {r.status_code} {detail}", r.status_code)
        try:
            return r.json()
        except ValueError as e:
            raise LyricsServiceError(f"lyrics service at {self.base_url} sent no JSON") from e

    def playlist(self, mood: str, limit: int = 10, exclude: Iterable[int] = (), seed: int | None = None) -> Playlist:
        params: list[tuple[str, str | int]] = [("limit", limit)]
        params += [("exclude", int(i)) for i in exclude]
        if seed is not None:
            params.append(("seed", seed))
        data = self._get(f"/playlists/{mood}", params)
        try:
            return Playlist.model_validate(data)
        except ValueError as e:
            raise LyricsServiceError(f"lyrics service sent a malformed playlist: {e}") from e

    def moods(self) -> dict[str, int]:
        return self._get("/moods")["moods"]

    def health(self) -> dict:
        return self._get("/health")

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
