"""The lyrics model in process: raw lyrics in, (mood, confidence) out.
The SavedModel holds its own text vectorisation, so a song's label depends
on its lyrics alone, never on the rest of the batch or the catalog."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from musicalface.contracts import MOODS
from musicalface.contracts import LyricsSignature as Sig
from musicalface.paths import latest_version


class Labeller:
    def __init__(self, model_dir: str | Path, version: int | None = None):
        model_dir = Path(model_dir)
        version = version if version is not None else latest_version(model_dir)
        path = model_dir / str(version)
        if not (path / "saved_model.pb").exists():
            raise FileNotFoundError(f"no lyrics model at {path} (expected {path}/saved_model.pb)")
        import tensorflow as tf

        self._loaded = tf.saved_model.load(str(path))  # the signature needs its owner kept alive
        self._fn = self._loaded.signatures[Sig.name]
        self._tf = tf
        self.path = path
        self.version = f"lyrics/{version}"

    def probabilities(self, lyrics: list[str]) -> np.ndarray:
        if not lyrics:
            return np.zeros((0, len(MOODS)), np.float32)
        x = self._tf.constant([str(t) for t in lyrics], dtype=self._tf.string)
        return self._fn(**{Sig.input: x})[Sig.output].numpy()

    def label(self, lyrics: list[str]) -> list[tuple[str, float]]:
        p = self.probabilities(lyrics)
        return [(MOODS[i], float(row[i])) for row, i in zip(p, p.argmax(1))]


_cache: dict[tuple[str, int | None], Labeller] = {}
_lock = threading.Lock()


def shared_labeller(model_dir: str | Path, version: int | None = None) -> Labeller:
    """One loaded model per process (loading takes seconds)."""
    key = (str(model_dir), version)
    with _lock:
        if key not in _cache:
            _cache[key] = Labeller(model_dir, version)
        return _cache[key]
