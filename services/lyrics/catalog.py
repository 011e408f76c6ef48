"""Label a catalog CSV with the lyrics model into a labels CSV
(artist, title, mood, confidence, model_version), never copying the lyrics.

Resumable and idempotent: songs already in the output (by artist + title key)
are skipped, so a stopped run goes on where it was and a finished one adds
nothing. A row cut short by a crash is dropped before resuming."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from services.lyrics.db import LABEL_COLUMNS
from training.lyrics_data import is_listing, iter_catalog, song_key


@dataclass
class LabelStats:
    read: int = 0
    labelled: int = 0
    already: int = 0   # in the output before this run, or twice in the input
    no_lyrics: int = 0
    not_songs: int = 0  # discography lists and the like

    def __str__(self) -> str:
        return (f"{self.read} songs read, {self.labelled} labelled, {self.already} already labelled, "
                f"{self.no_lyrics} without artist, title or lyrics, {self.not_songs} listings that are not songs")


def _trim_partial_line(path: Path) -> None:
    size = path.stat().st_size
    if not size:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        data = path.read_bytes()
        f.truncate(data.rfind(b"\n") + 1)


def done_keys(out: Path) -> set[str]:
    if not out.exists() or not out.stat().st_size:
        return set()
    _trim_partial_line(out)
    with open(out, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != list(LABEL_COLUMNS):
            raise ValueError(f"{out} is not a labels file (columns {reader.fieldnames}, expected {','.join(LABEL_COLUMNS)})")
        return {song_key(r["artist"], r["title"]) for r in reader}


def count_rows(path: str | Path) -> int:
    return sum(1 for _ in iter_catalog(path))


def label_catalog(csv_path: str | Path, out: str | Path, label: Callable[[list[str]], list[tuple[str, float]]],
                  model_version: str, batch_size: int = 64, progress: bool = True) -> LabelStats:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    seen = done_keys(out)
    stats = LabelStats()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=count_rows(csv_path), unit="song", desc=f"labelling {Path(csv_path).name}")
    new_file = not out.exists() or not out.stat().st_size
    with open(out, "a", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        if new_file:
            w.writerow(LABEL_COLUMNS)
        batch: list[tuple[str, str, str]] = []

        def flush():
            for (artist, title, _), (mood, conf) in zip(batch, label([b[2] for b in batch])):
                w.writerow([artist, title, mood, f"{conf:.6f}", model_version])
            f.flush()
            stats.labelled += len(batch)
            if bar:
                bar.update(len(batch))
            batch.clear()

        for artist, title, lyrics in iter_catalog(csv_path):
            stats.read += 1
            key = song_key(artist, title)
            if not (artist and title and lyrics.strip()):
                stats.no_lyrics += 1
            elif is_listing(title):
                stats.not_songs += 1
            elif key in seen:
                stats.already += 1
            else:
                seen.add(key)
                batch.append((artist, title, lyrics))
                if len(batch) >= batch_size:
                    flush()
                continue
            if bar:
                bar.update(1)
        if batch:
            flush()
    if bar:
        bar.close()
    return stats
