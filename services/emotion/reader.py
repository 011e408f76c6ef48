"""From image bytes to an expression reading: decode, find the face, classify."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from musicalface.contracts import EXPRESSIONS, mood_of
from services.emotion.face_detector import FaceDetector
from services.emotion.image_decode import MAX_BYTES, MAX_PIXELS, ImageError, decode_grey, read_grey


@dataclass
class Reading:
    file: str | None = None
    emotion: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    mood: str | None = None
    face: list[int] | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def confidence(self) -> float:
        return self.probabilities.get(self.emotion, 0.0) if self.emotion else 0.0

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:k]

    def to_json(self) -> dict:
        d = asdict(self)
        if d["error"] is None:
            del d["error"]
        return d


def reading_from(probs: np.ndarray, box) -> Reading:
    probabilities = {name: round(float(p), 6) for name, p in zip(EXPRESSIONS, probs)}
    emotion = EXPRESSIONS[int(np.argmax(probs))]
    return Reading(emotion=emotion, probabilities=probabilities, mood=mood_of(emotion),
                   face=[int(v) for v in box] if box is not None else None)


class EmotionReader:
    def __init__(self, model, detector: FaceDetector | None = None,
                 max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS):
        self.model = model
        self.detector = detector or FaceDetector()
        self.max_bytes, self.max_pixels = max_bytes, max_pixels

    def read_bytes(self, data: bytes, name: str | None = None) -> Reading:
        return self._read(lambda: decode_grey(data, self.max_bytes, self.max_pixels), name)

    def read_file(self, path) -> Reading:
        return self._read(lambda: read_grey(path, self.max_bytes, self.max_pixels), str(path))

    def read_grey(self, grey: np.ndarray, name: str | None = None) -> Reading:
        return self._read(lambda: grey, name)

    def read_many(self, frames: list[bytes], names: list[str | None] | None = None) -> list[Reading]:
        """Several images, with one model call for all their faces (one Predict to TF Serving)."""
        names = names if names is not None else [None] * len(frames)
        return self._classify([self._locate(lambda d=data: decode_grey(d, self.max_bytes, self.max_pixels), name)
                               for data, name in zip(frames, names)])

    def _read(self, load, name) -> Reading:
        return self._classify([self._locate(load, name)])[0]

    def _locate(self, load, name) -> tuple[Reading, object]:
        """Decode and find the face: (a reading without an emotion yet, the face or None)."""
        t0 = time.perf_counter()
        try:
            grey = load()
        except ImageError as e:
            return Reading(file=name, error=str(e), seconds=time.perf_counter() - t0), None
        face = self.detector.largest_face(grey)
        return Reading(file=name, seconds=time.perf_counter() - t0), face

    def _classify(self, located: list[tuple[Reading, object]]) -> list[Reading]:
        """One model call for every face found; each reading's time includes that call."""
        readings = [r for r, _ in located]
        found = [(i, face) for i, (_, face) in enumerate(located) if face is not None]
        if found:
            t0 = time.perf_counter()
            probs = self.model.predict(np.stack([face.crop for _, face in found]))
            shared = time.perf_counter() - t0
            for (i, face), p in zip(found, probs):
                r = reading_from(p, face.box)
                r.file, r.seconds = readings[i].file, readings[i].seconds + shared
                readings[i] = r
        for r in readings:
            r.seconds = round(r.seconds, 4)
        return readings
