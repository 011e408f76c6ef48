"""Write the report of an emotion model: 7-class and 4-mood accuracy on
PublicTest, per-class precision/recall, confusion matrices and training curves
as PNG, and the data and command that made it.

    python -m training.emotion_report --model models/emotion/2 --run runs/emotion/v2

A NOTES.md in the run folder (how the run was made, what was odd) ends the report.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from musicalface.contracts import EXPRESSION_TO_MOOD, EXPRESSIONS, MOODS
from training import reporting
from training.export_emotion import TTA_MODES

MOOD_OF_CODE = np.array([MOODS.index(EXPRESSION_TO_MOOD[e]) for e in EXPRESSIONS])


def predict_saved_model(model_dir: Path, x: np.ndarray, batch: int = 256) -> np.ndarray:
    import tensorflow as tf

    from musicalface.contracts import EmotionSignature as Sig

    fn = tf.saved_model.load(str(model_dir)).signatures[Sig.name]
    out = [fn(**{Sig.input: tf.constant(x[i:i + batch, ..., None].astype("float32"))})[Sig.output].numpy()
           for i in range(0, len(x), batch)]
    return np.concatenate(out)


def predict_keras(keras_path: Path, x: np.ndarray, tta: str, batch: int = 128) -> np.ndarray:
    import tensorflow as tf

    from training.emotion_models import load
    from training.export_emotion import predict_tta

    model = load(keras_path)
    fn = tf.function(lambda image: predict_tta(model, image, tta))
    return np.concatenate([fn(tf.constant(x[i:i + batch, ..., None].astype("float32"))).numpy()
                           for i in range(0, len(x), batch)])


def write(model_dir: Path | None, run_dir: Path, x: np.ndarray, y: np.ndarray, report_dir: Path | None = None) -> Path:
    run_dir = Path(run_dir)
    name = f"v{Path(model_dir).name}" if model_dir else run_dir.name
    report_dir = Path(report_dir or Path("reports/emotion") / name)
    report_dir.mkdir(parents=True, exist_ok=True)
    meta = json.loads((run_dir / "meta.json").read_text()) if (run_dir / "meta.json").exists() else {}
    log = reporting.read_log(run_dir / "log.csv") if (run_dir / "log.csv").exists() else {}

    keras_path = run_dir / "final.keras" if (run_dir / "final.keras").exists() else run_dir / "last.keras"
    by_tta = {tta: predict_keras(keras_path, x, tta) for tta in TTA_MODES}
    exported_tta = "none"
    if model_dir and (Path(model_dir) / "assets.extra" / "export.json").exists():
        exported_tta = json.loads((Path(model_dir) / "assets.extra" / "export.json").read_text())["tta"]
    probs = predict_saved_model(model_dir, x) if model_dir else by_tta["none"]
    pred = probs.argmax(1)
    cm7 = reporting.confusion(y, pred, 7)
    cm4 = reporting.confusion(MOOD_OF_CODE[y], MOOD_OF_CODE[pred], 4)
    metrics = {
        "model": str(model_dir) if model_dir else None,
        "run": str(run_dir),
        "eval_set": f"FER2013 PublicTest ({len(y)} images)",
        "accuracy_7": reporting.accuracy(y, pred),
        "tta": exported_tta,
        "accuracy_7_by_tta": {t: reporting.accuracy(y, p.argmax(1)) for t, p in by_tta.items()},
        "accuracy_4_mood": reporting.accuracy(MOOD_OF_CODE[y], MOOD_OF_CODE[pred]),
        "per_class": reporting.per_class(cm7, EXPRESSIONS),
        "per_mood": reporting.per_class(cm4, MOODS),
        "confusion_7": cm7.tolist(),
        "confusion_4": cm4.tolist(),
        "epochs": len(log.get("epoch", [])),
        "train_seconds": float(sum(log.get("seconds", []))),
        "meta": meta,
    }
    (report_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if (run_dir / "log.csv").exists():
        shutil.copyfile(run_dir / "log.csv", report_dir / "log.csv")
    reporting.confusion_png(cm7, EXPRESSIONS, report_dir / "confusion_7.png",
                            f"{name}: 7 expressions, PublicTest acc {metrics['accuracy_7']:.1%}")
    reporting.confusion_png(cm4, MOODS, report_dir / "confusion_4.png",
                            f"{name}: 4 moods, PublicTest acc {metrics['accuracy_4_mood']:.1%}")
    if log:
        reporting.curves_png(log, report_dir / "curves.png", f"{name} ({meta.get('arch', '?')}): training curves")
    notes = (run_dir / "NOTES.md").read_text() if (run_dir / "NOTES.md").exists() else ""
    (report_dir / "README.md").write_text(_markdown(name, metrics, log, notes))
    print(f"report: {report_dir}  7-class {metrics['accuracy_7']:.2%}  4-mood {metrics['accuracy_4_mood']:.2%}", flush=True)
    return report_dir


def _trained_on(epochs: int, hours: float, meta: dict) -> str:
    where = meta.get("accelerator", "cpu")
    if where not in ("cpu", "unknown"):
        return (f"- Trained {epochs} epochs in {hours * 60:.1f} min on one {where} "
                f"(Keras {meta.get('keras', '?')}, {meta.get('backend', '?')} backend)")
    engine = f"TensorFlow {meta['tensorflow']}" if "tensorflow" in meta else \
        f"Keras {meta.get('keras', '?')}, {meta.get('backend', '?')} backend"
    return f"- Trained {epochs} epochs in {hours:.2f} h on {meta.get('cpus', '?')} CPU cores ({engine})"


def _markdown(name: str, m: dict, log: dict, notes: str = "") -> str:
    meta = m["meta"]
    hours = m["train_seconds"] / 3600
    shown = (f"as exported (test-time augmentation `{m['tta']}`)" if m["model"]
             else "of the run's model (not exported; no test-time augmentation)")
    lines = [
        f"# Emotion model {name}",
        "",
        f"- Architecture: `{meta.get('arch', '?')}`, {meta.get('params', 0):,} parameters",
        _trained_on(m["epochs"], hours, meta),
        f"- Data: `{meta.get('data', '?')}`: {meta.get('train_images', '?')} training images; "
        f"evaluated on {m['eval_set']}",
        f"- Command: `{meta.get('command', '?')}` (git {meta.get('git_commit') or '?'})",
        *[f"- Re-planned after epoch {r['after_epoch']} from {r['from']} to {r['to']} epochs "
          f"({r.get('why', '--epochs changed')}): the cosine schedule ends at the new last epoch"
          for r in meta.get("replanned", [])],
        "- Epoch log: [log.csv](log.csv)",
        "",
        "| metric | PublicTest |",
        "|---|---:|",
        f"| 7-class accuracy, {shown} | {m['accuracy_7']:.2%} |",
        *[f"| 7-class accuracy with test-time augmentation `{t}` | {a:.2%} |"
          for t, a in m["accuracy_7_by_tta"].items()],
        f"| 4-mood accuracy, {shown} | {m['accuracy_4_mood']:.2%} |",
        "",
        "The model kept is the last epoch's; PublicTest was watched for the curves but never used to pick it.",
        "",
        "## Per expression",
        "",
        reporting.table_md(m["per_class"]),
        "## Per mood",
        "",
        reporting.table_md(m["per_mood"]),
        "![confusion 7](confusion_7.png)",
        "![confusion 4](confusion_4.png)",
    ]
    if log:
        lines.append("![curves](curves.png)")
    if notes:
        lines += ["", "## Notes from the run", "", notes.strip()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="exported SavedModel folder (models/emotion/N); omit to report a run alone")
    p.add_argument("--run", required=True, help="run folder with final.keras or last.keras, log.csv, meta.json")
    p.add_argument("--data", default="../shared/data/fer2013/fer2013.npz")
    p.add_argument("--out", help="report folder (default reports/emotion/<name>)")
    args = p.parse_args(argv)
    from training import fer_data

    x, y = fer_data.load(args.data)["val"]
    write(Path(args.model) if args.model else None, Path(args.run), x, y, Path(args.out) if args.out else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
