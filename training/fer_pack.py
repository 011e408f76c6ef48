"""Pack FER2013 small enough to carry to a training machine, and unpack it there.

    python -m training.fer_pack pack ../shared/data/fer2013/fer2013.npz .devdata/fer
    python -m training.fer_pack unpack .devdata/fer /tmp/fer2013.npz

The raw arrays are 74 MB and compress losslessly to only 53 MB. FER2013's faces were
JPEG images before they were arrays, so re-encoding them as JPEG at quality 95 on
the 8x8 grid they came on is nearly the identity (95% of pixels come back exact,
none is off by more than 3). Tiled into one progressive JPEG per split they take
35 MB. A lossless residual rides along: where the receiving decoder matches ours,
unpacking restores the arrays bit for bit, and it says so either way.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import sys
from pathlib import Path

import numpy as np

from training import fer_data

COLS = 100
SIDE = 48
QUALITY = 95


def _tile(x: np.ndarray) -> np.ndarray:
    rows = -(-len(x) // COLS)
    pad = np.zeros((rows * COLS - len(x), SIDE, SIDE), np.uint8)
    return np.concatenate([x, pad]).reshape(rows, COLS, SIDE, SIDE).transpose(0, 2, 1, 3).reshape(rows * SIDE, COLS * SIDE)


def _untile(m: np.ndarray, n: int) -> np.ndarray:
    rows = m.shape[0] // SIDE
    return m.reshape(rows, SIDE, COLS, SIDE).transpose(0, 2, 1, 3).reshape(-1, SIDE, SIDE)[:n]


def _digest(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


def pack(src: Path, dst: Path) -> dict:
    import cv2

    dst.mkdir(parents=True, exist_ok=True)
    index = {}
    for split, (x, y) in fer_data.load(src).items():
        ok, jpg = cv2.imencode(".jpg", _tile(x), [cv2.IMWRITE_JPEG_QUALITY, QUALITY,
                                                 cv2.IMWRITE_JPEG_OPTIMIZE, 1, cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
        if not ok:
            raise RuntimeError(f"could not encode the {split} split")
        (dst / f"{split}.jpg").write_bytes(jpg.tobytes())
        back = _untile(cv2.imdecode(jpg, cv2.IMREAD_GRAYSCALE), len(x))
        residual = (x.astype(np.int16) - back).astype(np.int8)
        (dst / f"{split}.residual.xz").write_bytes(lzma.compress(residual.tobytes(), preset=9 | lzma.PRESET_EXTREME))
        np.save(dst / f"{split}.labels.npy", y.astype(np.int8))
        index[split] = {"n": len(x), "sha256": _digest(x), "exact_pixels": float((residual == 0).mean())}
    (dst / "index.json").write_text(json.dumps(index, indent=2))
    return index


def unpack(src: Path, dst: Path) -> dict:
    import cv2

    index = json.loads((src / "index.json").read_text())
    arrays, report = {}, {}
    for split, info in index.items():
        n = info["n"]
        decoded = _untile(cv2.imdecode(np.fromfile(src / f"{split}.jpg", np.uint8), cv2.IMREAD_GRAYSCALE), n)
        residual = np.frombuffer(lzma.decompress((src / f"{split}.residual.xz").read_bytes()), np.int8).reshape(decoded.shape)
        exact = (decoded.astype(np.int16) + residual).clip(0, 255).astype(np.uint8)
        if _digest(exact) == info["sha256"]:
            x, report[split] = exact, "exact"
        else:  # another JPEG decoder: keep its pixels, they are within 3 grey levels of the source
            x, report[split] = decoded, "near (decoder differs)"
        arrays[f"{split}_x"], arrays[f"{split}_y"] = x, np.load(src / f"{split}.labels.npy").astype(np.int64)
    np.savez(dst, **arrays)
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("pack", "unpack"))
    p.add_argument("src")
    p.add_argument("dst")
    args = p.parse_args(argv)
    try:
        result = (pack if args.action == "pack" else unpack)(Path(args.src), Path(args.dst))
    except (fer_data.DataError, OSError) as e:
        print(f"fer_pack: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
