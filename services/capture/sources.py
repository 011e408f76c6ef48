"""Frames from a webcam, a video file, an image file or a folder of images, as
JPEG/PNG bytes, paced to a frame rate. OpenCV only: no TensorFlow here."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.emotion.image_decode import ImageError, header_size, image_format

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
JPEG_QUALITY = 85


class SourceError(RuntimeError):
    """The source cannot be read; the message says why in one line."""


@dataclass
class Frame:
    data: bytes
    name: str


class Pacer:
    """Ticks at `fps`; a late tick does not make the next ones come in a burst."""

    def __init__(self, fps: float):
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self._next = None

    def wait(self) -> None:
        now = time.monotonic()
        if self._next is None or now > self._next + self.interval:
            self._next = now
        elif self._next > now:
            time.sleep(self._next - now)
        self._next += self.interval


def encode(image, max_side: int) -> bytes:
    """A BGR or grey image as JPEG, no larger than max_side on its longest side."""
    import cv2

    h, w = image.shape[:2]
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise SourceError("could not encode the frame as JPEG")
    return buf.tobytes()


def image_frame(path: Path, max_side: int) -> Frame:
    """A photo's own bytes when they are JPEG/PNG and small enough, else a re-encoded copy."""
    import cv2
    import numpy as np

    try:
        data = path.read_bytes()
    except OSError as e:
        raise SourceError(f"{path}: {e.strerror or e}") from None
    fmt = image_format(data)
    if fmt in ("jpeg", "png"):
        try:
            if max(header_size(data, fmt)) <= max_side:
                return Frame(data, path.name)
        except ImageError:
            return Frame(data, path.name)  # let the service say what is wrong with it
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:  # sent as it is: the service's answer says what is wrong with it
        return Frame(data, path.name)
    return Frame(encode(image, max_side), path.name)


def images(paths: list[Path], fps: float, max_side: int, loop: bool) -> Iterator[Frame]:
    pacer = Pacer(fps)
    while True:
        for p in paths:
            pacer.wait()
            yield image_frame(p, max_side)
        if not loop:
            return


def video(capture, name: str, fps: float, max_side: int, loop: bool, live: bool) -> Iterator[Frame]:
    """Frames of a camera (the newest one at each tick) or of a video file (sampled at fps in
    video time, sent in real time)."""
    import cv2

    pacer = Pacer(fps)
    native = capture.get(cv2.CAP_PROP_FPS) or 30.0
    step = max(1.0, native / fps) if fps > 0 else 1.0
    tick, n = 0, 0  # n: index of the next frame the file would give
    try:
        while True:
            pacer.wait()
            if not live:  # skip to the frame that belongs to this tick
                target, tick = int(tick * step), tick + 1
                while n < target and capture.grab():
                    n += 1
            ok, image = capture.read()
            if not ok:
                if live:
                    raise SourceError(f"{name} gave no frame")
                if not loop or n == 0:
                    return
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                tick, n = 0, 0
                continue
            n += 1
            yield Frame(encode(image, max_side), f"{name}#{n}")
    finally:
        capture.release()


def open_source(spec: str, fps: float = 5.0, max_side: int = 640, loop: bool = False) -> Iterator[Frame]:
    """SOURCE is a webcam index (0), a video file, an image file or a folder of images."""
    import cv2

    if spec.isdigit():
        cap = cv2.VideoCapture(int(spec))
        if not cap.isOpened():
            raise SourceError(f"cannot open webcam {spec}")
        return video(cap, f"webcam{spec}", fps, max_side, loop=False, live=True)
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise SourceError(f"{path}: no images in this folder ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return images(files, fps, max_side, loop)
    if not path.exists():
        raise SourceError(f"{spec}: no such file, folder or webcam index")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return images([path], fps, max_side, loop)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SourceError(f"{path}: not a video OpenCV can read")
    return video(cap, path.name, fps, max_side, loop, live=False)
