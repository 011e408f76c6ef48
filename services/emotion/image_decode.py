"""Turn untrusted image bytes into a grey image, or a clear ImageError.

The size is read from the header before anything is decoded, so a small file
that claims a huge canvas (a decompression bomb) is refused without allocating it.
"""
from __future__ import annotations

import struct

import numpy as np

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000


class ImageError(ValueError):
    """The bytes are not an image we will read; the message says why in one line."""


def image_format(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:2] == b"BM":
        return "bmp"
    return None


def header_size(data: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) from the header alone."""
    try:
        if fmt == "png":
            if data[12:16] != b"IHDR":
                raise ImageError("corrupt PNG: no IHDR header")
            return struct.unpack(">II", data[16:24])
        if fmt == "bmp":
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        return _jpeg_size(data)
    except struct.error:
        raise ImageError(f"corrupt {fmt.upper()}: header is cut short") from None


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ImageError("corrupt JPEG: bad marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        # SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    raise ImageError("corrupt JPEG: no frame header")


def decode_grey(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode JPEG/PNG/BMP bytes to a uint8 grey image [H, W]."""
    import cv2

    if not data:
        raise ImageError("empty file: no image data")
    if len(data) > max_bytes:
        raise ImageError(f"image too large: {len(data):,} bytes (limit {max_bytes:,})")
    fmt = image_format(data)
    if fmt is None:
        raise ImageError("not an image: expected JPEG, PNG or BMP")
    w, h = header_size(data, fmt)
    if w <= 0 or h <= 0:
        raise ImageError(f"corrupt {fmt.upper()}: size {w}x{h}")
    if w * h > max_pixels:
        raise ImageError(f"image too large: {w}x{h} = {w * h:,} pixels (limit {max_pixels:,})")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None or img.size == 0:
        raise ImageError(f"corrupt {fmt.upper()}: could not be decoded")
    return img


def read_grey(path, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read and decode a file, with the same limits (the size is checked before reading)."""
    import os

    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise ImageError(f"image too large: {size:,} bytes (limit {max_bytes:,})")
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise ImageError("is a folder, not an image") from None
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    return decode_grey(data, max_bytes, max_pixels)
