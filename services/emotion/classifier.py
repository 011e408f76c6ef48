"""The CNN in this process: loads the exported SavedModel and calls its serving
signature, exactly as TensorFlow Serving would."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from musicalface.contracts import EmotionSignature as Sig
from musicalface.paths import latest_version


class ModelUnavailable(RuntimeError):
    """The model cannot answer right now (not loaded, server down); worth retrying later."""


def to_model_input(faces: np.ndarray) -> np.ndarray:
    """uint8 faces [N, 48, 48] -> the signature's float32 [N, 48, 48, 1], raw 0..255."""
    faces = np.asarray(faces)
    if faces.ndim == 2:
        faces = faces[None]
    return faces.astype(np.float32)[..., None]


class InProcessModel:
    def __init__(self, model_dir: Path, version: int | None = None, signature: str = Sig.name):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from musicalface.quiet_stderr import quiet_stderr

        self.version = version if version is not None else latest_version(model_dir)
        path = Path(model_dir) / str(self.version)
        with quiet_stderr():
            import tensorflow as tf

            try:
                self._fn = tf.saved_model.load(str(path)).signatures[signature]
            except (OSError, KeyError) as e:
                raise ModelUnavailable(f"cannot load emotion model {path}: {e}") from e
        self._tf = tf
        self.name = f"in-process {path}"

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """uint8 faces [N, 48, 48] -> probabilities [N, 7]."""
        x = self._tf.constant(to_model_input(faces))
        return self._fn(**{Sig.input: x})[Sig.output].numpy()


def load_model(settings):
    """The model client the settings ask for: TF Serving over gRPC, or in process."""
    if settings.tfserving_addr:
        from services.emotion.tfserving_client import TFServingModel

        return TFServingModel(settings.tfserving_addr, settings.emotion_model_name, settings.emotion_model_version,
                              settings.emotion_signature, settings.tfserving_timeout_s, settings.tfserving_retries)
    return InProcessModel(settings.emotion_model_dir, settings.emotion_model_version, settings.emotion_signature)
