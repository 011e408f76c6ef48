"""Reports of the lyrics models: held-out accuracy overall and per label
source (MoodyLyrics = word lexicon, MoodyLyrics4Q = Last.fm tags), per-mood
precision/recall, confusion matrix and training curves as PNG, the data and
command that made them; plus reports/lyrics/README.md comparing every model."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from musicalface.contracts import MOODS
from training import reporting

ORIGINAL_CLAIM = 0.845  # the original project's MoodyLyrics accuracy


def evaluate(probs: np.ndarray, songs) -> dict:
    y = np.array([s.label for s in songs])
    pred = np.asarray(probs).argmax(1)
    ml = np.array([s.from_ml for s in songs])
    q = np.array([s.from_ml4q for s in songs])
    cm = reporting.confusion(y, pred, len(MOODS))
    return {
        "n": int(len(y)), "n_ml": int(ml.sum()), "n_ml4q": int(q.sum()),
        "accuracy": reporting.accuracy(y, pred),
        "accuracy_ml": reporting.accuracy(y[ml], pred[ml]),
        "accuracy_ml4q": reporting.accuracy(y[q], pred[q]),
        "per_mood": reporting.per_class(cm, MOODS),
        "confusion": cm.tolist(),
        "confusion_ml": reporting.confusion(y[ml], pred[ml], len(MOODS)).tolist(),
        "confusion_ml4q": reporting.confusion(y[q], pred[q], len(MOODS)).tolist(),
    }


def saved_model_probs(model_dir: Path, texts, batch: int = 128) -> np.ndarray:
    import tensorflow as tf

    from musicalface.contracts import LyricsSignature as Sig

    fn = tf.saved_model.load(str(model_dir)).signatures[Sig.name]
    return np.concatenate([fn(**{Sig.input: tf.constant(list(texts[i:i + batch]))})[Sig.output].numpy()
                           for i in range(0, len(texts), batch)])


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6


def write(model_dir: Path, result: dict, test, meta: dict, report_dir: Path, baselines: dict | None = None) -> Path:
    """The report of one exported model, measured through the SavedModel itself."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    name = f"v{Path(model_dir).name}"
    m = evaluate(saved_model_probs(model_dir, [s.lyrics for s in test]), test)
    log = reporting.read_log(result["log"]) if result.get("log") else {}
    metrics = {"model": str(model_dir), "description": result["description"], "eval_set": f"our held-out split "
               f"({m['n']} songs: {m['n_ml']} MoodyLyrics, {m['n_ml4q']} MoodyLyrics4Q)", **m,
               "train_seconds": round(result["seconds"], 1), "epochs": len(log.get("epoch", [])),
               "saved_model_mb": round(_size_mb(model_dir), 2), "config": result.get("config"),
               "ml_weight": result.get("ml_weight", 1.0),
               "cv": result.get("cv"), "meta": meta}
    (report_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    reporting.confusion_png(np.array(m["confusion"]), MOODS, report_dir / "confusion.png",
                            f"lyrics {name}: held-out acc {m['accuracy']:.1%}")
    if log:
        reporting.curves_png(log, report_dir / "curves.png", f"lyrics {name}: training curves")
    lines = [
        f"# Lyrics model {name}",
        "",
        f"- Model: {result['description']}",
        f"- SavedModel: `{model_dir}` ({metrics['saved_model_mb']:.1f} MB), signature `serving_default`: "
        "`lyrics` string [N] -> `probabilities` float32 [N, 4] (angry, happy, relaxed, sad)",
        f"- Trained in {metrics['train_seconds']:.0f} s on {meta.get('cpus', '?')} shared CPU cores"
        + (f", {metrics['epochs']} epochs" if log else "") + f" (TensorFlow {meta.get('tensorflow', '?')})",
        f"- Data: `{meta['data']}`, split `{meta['split']}`: {meta['counts']}",
        f"- Command: `{meta['command']}` (git {meta.get('git_commit') or '?'})",
        f"- Evaluated on {metrics['eval_set']}, through the exported SavedModel.",
        "",
        "| held-out accuracy | this model |" + "".join(f" {k} |" for k in (baselines or {})),
        "|---|---:|" + "---:|" * len(baselines or {}),
    ]
    for key, label in (("accuracy", "all"), ("accuracy_ml", "MoodyLyrics (lexicon labels)"),
                       ("accuracy_ml4q", "MoodyLyrics4Q (Last.fm labels)")):
        lines.append(f"| {label} | {m[key]:.1%} |" + "".join(f" {b[key]:.1%} |" for b in (baselines or {}).values()))
    lines += ["", f"The original project claimed {ORIGINAL_CLAIM:.1%} on MoodyLyrics.", "",
              "## Per mood", "", reporting.table_md(m["per_mood"]), "![confusion](confusion.png)"]
    if result.get("cv") and "cv_ml" in result["cv"][0]:  # label sources weighted (train_lyrics_weighted)
        lines += ["", "## Cross-validation on the training part (how the weight and config were chosen)", "",
                  f"Chosen: MoodyLyrics songs weighted {result['ml_weight']:g}x. Rule, fixed before the held-out "
                  "songs were seen: the highest ML CV accuracy whose ML4Q CV accuracy is at most 2 points below "
                  "the previous shipped config's (weight 1).", "",
                  "| ML weight | model | CV all | CV ML | CV ML4Q |", "|---:|---|---:|---:|---:|"]
        lines += [f"| {r['ml_weight']:g} | {' + '.join(c['weighting'] + ' C=' + format(c['C'], 'g') for c in r['configs'])}"
                  f" | {r['cv_accuracy']:.1%} | {r['cv_ml']:.1%} | {r['cv_ml4q']:.1%} |" for r in result["cv"]]
    elif result.get("cv"):
        lines += ["", "## Cross-validation on the training part (how the config was chosen)", "",
                  "| model | CV accuracy |", "|---|---:|"]
        lines += [f"| {' + '.join(c['weighting'] + ' C=' + format(c['C'], 'g') for c in r['configs'])} | "
                  f"{r['cv_accuracy']:.1%} |" for r in result["cv"]]
    if log:
        lines += ["", "Curves: the \"held-out\" line is the validation slice of the training part (early "
                  "stopping, best epoch's weights kept), not the held-out split above.", "", "![curves](curves.png)"]
    (report_dir / "README.md").write_text("\n".join(lines) + "\n")
    print(f"report: {report_dir}  acc {m['accuracy']:.2%}  ML {m['accuracy_ml']:.2%}  ML4Q {m['accuracy_ml4q']:.2%}",
          flush=True)
    return report_dir


def write_index(reports: Path, summary: dict, meta: dict, versions: dict | None = None,
                descriptions: dict | None = None) -> Path:
    """reports/lyrics/README.md: every model side by side, which version is which."""
    reports = Path(reports)
    versions, descriptions = versions or {}, descriptions or {}
    shipped = max(versions.values()) if versions else None
    lines = ["# Lyrics mood models", "",
             f"Held-out split: `{meta['split']}` (artist/title ids only, no lyrics), {meta['counts']}. "
             "Accuracy is on the held-out (`test`) songs, never on catalog songs; ML = MoodyLyrics labels "
             "(from a word lexicon), ML4Q = MoodyLyrics4Q labels (from Last.fm tags); the few songs in both "
             "lists count in both.", "",
             "| model | exported as | all | ML | ML4Q | train s |", "|---|---|---:|---:|---:|---:|"]
    for name, s in summary.items():
        v = versions.get(name)
        where = f"`models/lyrics/{v}`" + (" (shipped: highest version)" if v == shipped else "") if v else "not exported"
        lines.append(f"| {name} | {where} | {s['accuracy']:.1%} | {s['accuracy_ml']:.1%} | "
                     f"{s['accuracy_ml4q']:.1%} | {s['train_seconds']:.0f} |")
    lines += ["", "Models:", ""] + [f"- **{k}**: {d}" for k, d in descriptions.items()]
    ml, q = summary.get("linear [ML only]"), summary.get("linear [ML4Q only]")
    if ml and q:
        lines += ["", "The two label sources pull against each other. Trained on the MoodyLyrics songs alone, "
                  f"the linear model gets {ml['accuracy_ml']:.1%} on MoodyLyrics but {ml['accuracy_ml4q']:.1%} on "
                  f"MoodyLyrics4Q; trained on MoodyLyrics4Q alone, {q['accuracy_ml4q']:.1%} on MoodyLyrics4Q and "
                  f"{q['accuracy_ml']:.1%} on MoodyLyrics (chance is 25%). A lexicon's mood of the words and "
                  "listeners' Last.fm tags are nearly different tasks; the shipped model is trained on both, "
                  "so it compromises on each. The specialists are reported, not exported."]
    lines += ["", f"The original project claimed {ORIGINAL_CLAIM:.1%} on MoodyLyrics.", "",
              "Reports per exported version: " + ", ".join(f"[v{v}](v{v}/README.md)" for v in sorted(versions.values())),
              "", f"Command: `{meta['command']}` (git {meta.get('git_commit') or '?'})"]
    path = reports / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path
