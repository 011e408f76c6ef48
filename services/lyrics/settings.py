from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from musicalface.paths import MODELS_DIR

DATA_DIR = Path(__file__).resolve().parent / "data"
CATALOG_LABELS = DATA_DIR / "catalog_labels.csv"
DEFAULT_DB = Path.home() / ".cache" / "musicalface" / "lyrics.db"


def normalise_db_url(url: str) -> str:
    """Plain postgres URLs (as Heroku/compose write them) -> the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class LyricsSettings(BaseSettings):
    """The lyrics service, `musicalface lyrics ...` and the embedded playlist; all from the environment."""
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # SQLite by default; PostgreSQL when DATABASE_URL says so.
    database_url: str = f"sqlite:///{DEFAULT_DB}"
    lyrics_model_dir: Path = MODELS_DIR / "lyrics"
    lyrics_model_version: int | None = None  # None: the newest, as TF Serving picks
    # Loaded into an empty songs table on first start; set to "" to start empty.
    lyrics_catalog: Path | None = CATALOG_LABELS
    lyrics_host: str = "127.0.0.1"
    lyrics_port: int = 8001
    lyrics_max_chars: int = 200_000  # longest lyrics POST /songs accepts
    lyrics_page_size: int = 20

    @field_validator("database_url")
    @classmethod
    def _driver(cls, v: str) -> str:
        return normalise_db_url(v)

    @field_validator("lyrics_catalog", mode="before")
    @classmethod
    def _empty_is_none(cls, v):
        return None if v in ("", None) else v
