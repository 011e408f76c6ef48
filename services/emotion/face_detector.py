"""Find the largest face in a grey image and cut it out as the CNN wants it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicalface.contracts import EmotionSignature

FACE_SIZE = EmotionSignature.size
# An image no bigger than this on both sides is taken to be a face crop already
# (FER2013's are 48x48); the Haar cascade cannot find faces that small anyway.
CROP_MAX_SIDE = 96
# FER2013 crops are tight but keep the brow and chin: widen the Haar box a little.
MARGIN = 0.1
# Haar detection runs on a copy at most this wide; big photos only cost time.
DETECT_MAX_SIDE = 640


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int] | None  # x, y, w, h in the photo; None for a crop given as is
    crop: np.ndarray                       # uint8 [48, 48]


class FaceDetector:
    def __init__(self, min_size: int = 40):
        import cv2

        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"Haar cascade missing at {path}: install opencv-python-headless<5")
        self.min_size = min_size

    def largest_face(self, grey: np.ndarray) -> Face | None:
        import cv2

        h, w = grey.shape[:2]
        if max(h, w) <= CROP_MAX_SIDE:
            return Face(None, cv2.resize(grey, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA))
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        small = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else grey
        # The face that matters is the one looking into the camera: faces under an eighth of the
        # frame's short side are not searched for, which is where Haar spends most of its time.
        min_side = max(24, round(self.min_size * scale), min(small.shape[:2]) // 8)
        found, votes = self._cascade.detectMultiScale2(cv2.equalizeHist(small), scaleFactor=1.15, minNeighbors=5,
                                                       minSize=(min_side, min_side))
        if len(found) == 0:
            return None
        # A real face collects many overlapping hits; a stray box (a patch, a flag) a handful.
        # Of the boxes with at least a third of the best one's hits, the largest wins.
        strong = [b for b, n in zip(found, votes) if n * 3 >= max(votes)]
        x, y, fw, fh = (v / scale for v in max(strong, key=lambda b: b[2] * b[3]))
        return Face(self._box(x, y, fw, fh, w, h), self._crop(grey, x, y, fw, fh))

    @staticmethod
    def _box(x, y, fw, fh, w, h) -> tuple[int, int, int, int]:
        x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
        return x0, y0, min(w - x0, int(round(fw))), min(h - y0, int(round(fh)))

    @staticmethod
    def _crop(grey, x, y, fw, fh) -> np.ndarray:
        import cv2

        h, w = grey.shape[:2]
        m = MARGIN * max(fw, fh)
        x0, y0 = max(0, int(x - m)), max(0, int(y - m))
        x1, y1 = min(w, int(x + fw + m)), min(h, int(y + fh + m))
        return cv2.resize(grey[y0:y1, x0:x1], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
