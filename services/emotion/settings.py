from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from musicalface.paths import MODELS_DIR


class EmotionSettings(BaseSettings):
    """Emotion workers and `musicalface predict`; every field from the environment."""
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    # host:port of TF Serving's gRPC; unset means the model runs in process.
    tfserving_addr: str | None = None
    emotion_model_name: str = "emotion"
    emotion_model_version: int | None = None  # None: the newest
    emotion_signature: str = "serving_default"
    emotion_model_dir: Path = MODELS_DIR / "emotion"
    tfserving_timeout_s: float = 2.0
    tfserving_retries: int = 2

    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
