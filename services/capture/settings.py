from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CaptureSettings(BaseSettings):
    """The capture service (`musicalface capture serve`); every field from the environment."""
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    # When set, every request but /health needs `Authorization: Bearer <token>`.
    capture_token: SecretStr | None = None
    max_frame_bytes: int = 4 * 1024 * 1024
    max_frame_pixels: int = 12_000_000
    # Frames stored and not yet taken by a worker; past this the service answers 429.
    max_queue_depth: int = 200
    frame_ttl_s: int = 30          # a frame's bytes live this long at most (the worker deletes them sooner)
    job_ttl_s: int = 30            # a job not started by then is dropped: stale frames are worth nothing
    job_timeout_s: int = 60
    failure_ttl_s: int = 6 * 3600  # failed jobs stay this long for a look, not RQ's default year
    # Frames that arrive close together share one job (one Predict call for all their faces).
    frames_per_job: int = 8
    batch_wait_ms: float = 10.0
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("capture_host"))
    port: int = Field(8000, validation_alias=AliasChoices("capture_port"))

    def token(self) -> str | None:
        return self.capture_token.get_secret_value() if self.capture_token else None


class CaptureClientSettings(BaseSettings):
    """The capture client (`musicalface capture`)."""
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    capture_url: str = "http://127.0.0.1:8000"
    capture_token: SecretStr | None = None
