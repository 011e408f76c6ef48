from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Mode = Literal["links", "resolve", "play", "playlist"]


def _default_consumer() -> str:
    # Stable across restarts on one host, so a restarted player finds its own pending events first.
    return f"player-{socket.gethostname()}"


def _default_token_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "musicalface" / "spotify-token.json"


class PlayerSettings(BaseSettings):
    """`musicalface player run` and `musicalface spotify login`; every field from the environment."""
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    player_mode: Mode = "links"
    lyrics_url: str = "http://127.0.0.1:8001"
    redis_url: str = "redis://127.0.0.1:6379/0"

    # spotipy's own variable names, so one environment serves both.
    spotipy_client_id: str | None = None
    spotipy_client_secret: SecretStr | None = None
    spotipy_redirect_uri: str = "http://127.0.0.1:8888/callback"
    spotify_api_base: str = "https://api.spotify.com/v1/"
    spotify_accounts_base: str = "https://accounts.spotify.com/"
    spotify_market: str | None = None
    spotify_token_cache: Path = _default_token_cache()

    # camera id -> Spotify device name, from "kitchen=Echo,door=TV"
    player_devices: Annotated[dict[str, str], NoDecode] = {}

    spotify_timeout_s: float = 5.0
    lyrics_timeout_s: float = 5.0
    songs_per_mood: int = 10
    # How many of a camera's last songs the lyrics service is told to leave out.
    recent_songs: int = 30

    player_group: str = "players"
    player_consumer: str = _default_consumer()
    player_block_ms: int = 2000
    # An event unacknowledged this long by another player is taken over; longer than the slowest
    # handling (20 searches at their timeout), so a live player's event is not taken from it.
    player_claim_idle_ms: int = 120_000
    # Older events are recorded as skipped: music for a face seen minutes ago is no use.
    player_max_event_age_s: float = 600.0
    # Lyrics or Spotify unreachable: tries per event before it is recorded as an error.
    player_transient_tries: int = 3
    player_transient_backoff_s: float = 5.0

    search_cache_hit_ttl_s: int = 30 * 24 * 3600
    search_cache_miss_ttl_s: int = 24 * 3600

    # Test-only: stop (without exiting) at a named point so a test can kill the player there.
    player_test_pause_at: str | None = None

    @field_validator("player_devices", mode="before")
    @classmethod
    def _parse_devices(cls, v):
        if isinstance(v, dict):
            return v
        out: dict[str, str] = {}
        for part in str(v or "").split(","):
            if not part.strip():
                continue
            camera, sep, device = part.partition("=")
            if not sep or not camera.strip() or not device.strip():
                raise ValueError(f"PLAYER_DEVICES entry {part.strip()!r} is not camera=device")
            out[camera.strip()] = device.strip()
        return out

    @field_validator("spotify_api_base", "spotify_accounts_base")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @field_validator("spotipy_client_id", "spotify_market", "player_test_pause_at", mode="before")
    @classmethod
    def _blank_is_none(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("spotipy_client_secret", mode="before")
    @classmethod
    def _blank_secret_is_none(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    def client_secret(self) -> str | None:
        return self.spotipy_client_secret.get_secret_value() if self.spotipy_client_secret else None


def load_settings(**overrides) -> PlayerSettings:
    """PlayerSettings, with a bad environment explained in one line."""
    from pydantic import ValidationError

    try:
        return PlayerSettings(**overrides)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(x) for x in err['loc']).upper() or 'settings'}: {err['msg']}"
                             for err in e.errors())
        raise ValueError(f"player settings: {problems}") from None
