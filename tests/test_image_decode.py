import struct
import zlib

import cv2
import numpy as np
import pytest

from services.emotion.image_decode import ImageError, decode_grey, header_size, image_format


def png_bytes(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + b"\x00" * 32)


def test_decodes_jpeg_png_bmp_to_grey():
    img = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    for ext in (".jpg", ".png", ".bmp"):
        ok, buf = cv2.imencode(ext, img)
        grey = decode_grey(buf.tobytes())
        assert grey.shape == (30, 40) and grey.dtype == np.uint8
        assert header_size(buf.tobytes(), image_format(buf.tobytes())) == (40, 30)


def test_empty_input():
    with pytest.raises(ImageError, match="empty"):
        decode_grey(b"")


def test_not_an_image():
    with pytest.raises(ImageError, match="not an image"):
        decode_grey(b"hello, this is text and no picture")


def test_corrupt_jpeg_body():
    ok, buf = cv2.imencode(".jpg", np.zeros((64, 64), np.uint8))
    data = buf.tobytes()
    cut = data[:200]  # header kept, body gone
    with pytest.raises(ImageError, match="corrupt"):
        decode_grey(cut)


def test_truncated_header():
    with pytest.raises(ImageError, match="corrupt"):
        decode_grey(b"\x89PNG\r\n\x1a\n\x00\x00")


def test_pixel_bomb_is_refused_before_decoding():
    data = png_claiming(60_000, 60_000)
    assert len(data) < 100
    with pytest.raises(ImageError, match="too large: 60000x60000"):
        decode_grey(data)


def test_byte_limit():
    data = png_bytes(np.zeros((10, 10), np.uint8))
    with pytest.raises(ImageError, match="too large"):
        decode_grey(data, max_bytes=len(data) - 1)
