"""FER2013 in the three forms it circulates in, read into uint8 arrays.

- the project's `fer2013.npz` (train_x/train_y/val_x/val_y),
- Kaggle's `fer2013.csv` (emotion, pixels, Usage),
- image folders `train/<class>/*.jpg` and `test/<class>/*.jpg` (class by name or code).

Every loader returns a dict of splits: {"train": (x, y), "val": (x, y)} with
x uint8 [N, 48, 48] and y int64 [N] in the label codes of contracts.EXPRESSIONS.
"""
from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from musicalface.contracts import EXPRESSIONS

Splits = dict[str, tuple[np.ndarray, np.ndarray]]
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
# Kaggle's Usage column -> our split names (PrivateTest is kept apart as "test").
CSV_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
# Folder names seen in the image-folder releases.
FOLDER_SPLITS = {"train": "train", "training": "train", "test": "val", "val": "val",
                 "validation": "val", "publictest": "val"}


class DataError(ValueError):
    """The data set is missing or not in a form we can read."""


def load(path: str | Path) -> Splits:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.is_dir():
        if (path / "fer2013.npz").exists():
            return load_npz(path / "fer2013.npz")
        if (path / "fer2013.csv").exists():
            return load_csv(path / "fer2013.csv")
        return load_folders(path)
    if path.suffix == ".npz":
        return load_npz(path)
    if path.name.endswith((".csv", ".csv.gz")):
        return load_csv(path)
    raise DataError(f"{path}: expected fer2013.npz, fer2013.csv or a folder of train/ and test/ images")


def load_npz(path: str | Path) -> Splits:
    with np.load(path, allow_pickle=False) as d:
        missing = {"train_x", "train_y", "val_x", "val_y"} - set(d.files)
        if missing:
            raise DataError(f"{path}: missing arrays {sorted(missing)}")
        return {
            "train": (d["train_x"].astype(np.uint8), d["train_y"].astype(np.int64)),
            "val": (d["val_x"].astype(np.uint8), d["val_y"].astype(np.int64)),
        }


def load_csv(path: str | Path) -> Splits:
    opener = gzip.open if str(path).endswith(".gz") else open
    rows: dict[str, tuple[list, list]] = {}
    with opener(path, "rt", newline="") as f:
        reader = csv.DictReader(f)
        need = {"emotion", "pixels", "Usage"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise DataError(f"{path}: expected the columns emotion, pixels, Usage")
        for i, r in enumerate(reader, start=2):
            split = CSV_USAGE.get(r["Usage"])
            if split is None:
                raise DataError(f"{path}:{i}: unknown Usage {r['Usage']!r}")
            pixels = np.array(r["pixels"].split(), dtype=np.uint8)
            if pixels.size != 48 * 48:
                raise DataError(f"{path}:{i}: {pixels.size} pixels, expected 2304")
            xs, ys = rows.setdefault(split, ([], []))
            xs.append(pixels.reshape(48, 48))
            ys.append(int(r["emotion"]))
    return {k: (np.stack(xs), np.array(ys, dtype=np.int64)) for k, (xs, ys) in rows.items()}


def _class_code(name: str) -> int:
    if name.isdigit() and int(name) < len(EXPRESSIONS):
        return int(name)
    lowered = [e.lower() for e in EXPRESSIONS]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    raise DataError(f"unknown class folder {name!r}; expected one of {', '.join(EXPRESSIONS)} or 0-6")


def load_folders(root: str | Path) -> Splits:
    import cv2

    root = Path(root)
    out: Splits = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        split = FOLDER_SPLITS.get(sub.name.lower())
        if split is None:
            continue
        xs, ys = [], []
        for cls in sorted(p for p in sub.iterdir() if p.is_dir()):
            code = _class_code(cls.name)
            for f in sorted(cls.iterdir()):
                if f.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
                if img is None:
                    raise DataError(f"{f}: not a readable image")
                if img.shape != (48, 48):
                    img = cv2.resize(img, (48, 48), interpolation=cv2.INTER_AREA)
                xs.append(img)
                ys.append(code)
        if xs:
            out[split] = (np.stack(xs), np.array(ys, dtype=np.int64))
    if "train" not in out:
        raise DataError(f"{root}: no train/<class>/ images found")
    return out
