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

    # Per-camera mood smoothing (services/emotion/smoothing.py says what each one does).
    mood_window_s: float = 1.5
    mood_min_frames: int = 3
    mood_min_share: float = 0.6
    mood_min_confidence: float = 0.5
    mood_min_dwell_s: float = 1.0
    mood_state_ttl_s: int = 86400   # a camera unseen this long starts afresh
    moods_stream_maxlen: int = 10000
    live_results: bool = True       # PUBLISH each frame's result on mf:live:<camera>

    def smoothing(self):
        from services.emotion.smoothing import SmoothingParams

        return SmoothingParams(window_s=self.mood_window_s, min_frames=self.mood_min_frames,
                               min_share=self.mood_min_share, min_confidence=self.mood_min_confidence,
                               min_dwell_s=self.mood_min_dwell_s)
