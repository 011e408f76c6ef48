"""Catalog labelling speed: songs labelled per second by each exported lyrics
model, in process, at a few batch sizes, on catalog songs (the full path:
CSV read, model, labels CSV written). Prints numbers; asserts nothing.

    .venv/bin/python bench/bench_lyrics_label.py [--n 2000] [--catalog ../shared/data/lyrics/catalog_lyrics.csv.gz]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from musicalface.paths import MODELS_DIR
    from services.lyrics.catalog import label_catalog
    from services.lyrics.labeller import Labeller
    from training.lyrics_data import iter_catalog

    p = argparse.ArgumentParser()
    p.add_argument("--catalog", default=str(REPO.parent / "shared" / "data" / "lyrics" / "catalog_lyrics.csv.gz"))
    p.add_argument("--model-dir", default=str(MODELS_DIR / "lyrics"))
    p.add_argument("--n", type=int, default=2000, help="catalog songs per measurement")
    p.add_argument("--batch-sizes", default="1,32,128")
    args = p.parse_args()
    if not Path(args.catalog).exists():
        print(f"no catalog at {args.catalog}: skipped")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.csv.gz"
        with gzip.open(sample, "wt", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["artist", "title", "lyrics"])
            w.writerows(islice(iter_catalog(args.catalog), args.n))
        versions = sorted(int(v.name) for v in Path(args.model_dir).glob("*") if v.name.isdigit())
        print(f"labelling {args.n} catalog songs ({os.cpu_count()} CPUs, shared)")
        for version in versions:
            labeller = Labeller(args.model_dir, version)
            labeller.label(["warm up the graph"] * 8)
            for bs in (int(b) for b in args.batch_sizes.split(",")):
                n = args.n if bs > 1 else min(args.n, 200)  # one at a time is slow for the LSTM
                out = Path(tmp) / f"out-{version}-{bs}.csv"
                src = sample if n == args.n else _head(sample, n, Path(tmp) / f"head{n}.csv")
                t0 = time.perf_counter()
                stats = label_catalog(src, out, labeller.label, labeller.version, batch_size=bs, progress=False)
                dt = time.perf_counter() - t0
                print(f"  model {labeller.version:10s} batch {bs:4d}: {stats.labelled / dt:8.1f} songs/s "
                      f"({stats.labelled} songs in {dt:.2f} s)", flush=True)
    return 0


def _head(src: Path, n: int, dst: Path) -> Path:
    with gzip.open(src, "rt", newline="", encoding="utf-8") as f, open(dst, "w", newline="", encoding="utf-8") as g:
        rows = csv.reader(f)
        csv.writer(g).writerows(islice(rows, n + 1))
    return dst


if __name__ == "__main__":
    sys.exit(main())
