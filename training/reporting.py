"""Shared pieces of a model report: metrics, confusion-matrix and curve plots,
markdown tables. Used by the emotion and lyrics reports alike."""
from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import numpy as np


def confusion(y_true, y_pred, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def per_class(cm: np.ndarray, names) -> list[dict]:
    rows = []
    for i, name in enumerate(names):
        tp = cm[i, i]
        prec = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        rec = tp / cm[i].sum() if cm[i].sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows.append({"class": name, "support": int(cm[i].sum()), "precision": float(prec),
                     "recall": float(rec), "f1": float(f1)})
    return rows


def accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def table_md(rows: list[dict]) -> str:
    head = "| class | support | precision | recall | F1 |\n|---|---:|---:|---:|---:|\n"
    return head + "".join(
        f"| {r['class']} | {r['support']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |\n" for r in rows)


def confusion_png(cm: np.ndarray, names, path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.1 * len(names) + 2, 1.1 * len(names) + 1.5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{cm[i, j]}\n{norm[i, j]:.0%}", ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def read_log(log_csv: Path) -> dict[str, list[float]]:
    with open(log_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows if r.get(k) not in (None, "")] for k in (rows[0] if rows else {})}


def curves_png(log: dict[str, list[float]], path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [int(e) + 1 for e in log.get("epoch", [])]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for key, ax in (("loss", a1), ("accuracy", a2)):
        if key in log:
            ax.plot(epochs, log[key], label=f"train {key}")
        if f"val_{key}" in log:
            ax.plot(epochs, log[f"val_{key}"], label=f"held-out {key}")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def git_commit() -> str:
    """The checkout's commit, for a run's record. A copy of the tree without .git (on a
    training machine) passes it in MUSICALFACE_GIT_COMMIT; empty when neither knows."""
    if os.environ.get("MUSICALFACE_GIT_COMMIT"):
        return os.environ["MUSICALFACE_GIT_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
