"""Train the lyrics mood models, compare them on our held-out split, export them.

    python -m training.train_lyrics                       # train, evaluate, report
    python -m training.train_lyrics --export              # ... and export models/lyrics/<n>, write reports

Exported: version 1 is the seed LSTM; then the best TF-IDF + LR model and, if
cross-validation prefers it, the mean of the TF-IDF and word-frequency models,
numbered by held-out accuracy so that the highest version (what TF Serving
serves) is the best. Models trained on one label source only are reported,
not exported.

The shared training file already lacks the data curators' holdout, so we keep
our own 20% apart: stratified by mood x label source, whole cover groups at a
time, seeded; its ids go to reports/lyrics/split.csv and a later run reuses
that file. Nothing is tuned on the held-out songs: the LSTM stops on a
validation slice of the training part, the linear model's C comes from
grouped 5-fold cross-validation on the training part.

Accuracy is reported overall and per label source: MoodyLyrics (ML, labels
from a word lexicon) and MoodyLyrics4Q (ML4Q, labels from Last.fm tags).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

DEFAULT_DATA = "../shared/data/lyrics/moodylyrics_lyrics.csv.gz"
LSTM_DESCRIPTION = ("seed LSTM: TextVectorization(600 tokens) > Embedding 50 > LSTM 32 > Dense 256 ReLU > "
                    "Dropout 0.2 > Dense 4 softmax")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DEFAULT_DATA, help="labelled lyrics CSV (artist,title,mood,lyrics,label_sources)")
    p.add_argument("--split", default="reports/lyrics/split.csv", help="held-out split ids: read if present, else made and written")
    p.add_argument("--out", default="runs/lyrics", help="run folder: checkpoints, logs, metrics")
    p.add_argument("--reports", default="reports/lyrics")
    p.add_argument("--models", default="lstm,linear", help="which to train: lstm, linear (comma list)")
    p.add_argument("--epochs", type=int, default=12, help="LSTM epochs at most (early stop on the validation slice)")
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--vocab", type=int, default=20000, help="LSTM vocabulary size")
    p.add_argument("--linear-grid", default="", help="weightings and C values to cross-validate, e.g. "
                   "'tfidf=3,10;freq=0.1' (default: lyrics_linear.GRIDS)")
    p.add_argument("--no-specialists", dest="specialists", action="store_false",
                   help="skip the models trained on one label source only (reported, never exported)")
    p.add_argument("--limit", type=int, default=0, help="use only N songs (smoke runs)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int, default=2, help="TensorFlow threads (the machine is shared)")
    p.add_argument("--export", action="store_true", help="export models/lyrics/<n> and write their reports")
    p.add_argument("--models-dir", default="models/lyrics")
    return p.parse_args(argv)


def parse_grid(text: str) -> dict | None:
    if not text:
        return None
    return {w.split("=")[0].strip(): [float(c) for c in w.split("=")[1].split(",")] for w in text.split(";") if w}


def main(argv=None) -> int:
    args = parse_args(argv)
    import keras
    import tensorflow as tf

    from training import lyrics_data, lyrics_models, lyrics_report
    from training.reporting import git_commit

    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    except RuntimeError:  # TensorFlow already running in this process (tests): keep its threads
        pass
    keras.utils.set_random_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.models.split(","))

    # --- data and the held-out split -----------------------------------------
    songs = lyrics_data.read_labelled(args.data)
    if args.limit:
        songs = songs[: args.limit]
    groups = lyrics_data.cover_groups(songs)
    split_path = Path(args.split)
    if split_path.exists() and not args.limit:
        splits = lyrics_data.read_split(split_path, songs)
        print(f"split: reusing {split_path}", flush=True)
    else:
        held = lyrics_data.held_out_split(songs, groups=groups)
        # a grouped validation slice of the training part, for the LSTM's early stop
        rest = [i for i, h in enumerate(held) if not h]
        val_of_rest = lyrics_data.held_out_split([songs[i] for i in rest], fraction=0.1, seed=args.seed + 1,
                                                 groups=[groups[i] for i in rest])
        splits = ["test" if h else "train" for h in held]
        for i, v in zip(rest, val_of_rest):
            if v:
                splits[i] = "val"
        if not args.limit:
            lyrics_data.write_split(split_path, songs, splits, groups)
            print(f"split: wrote {split_path}", flush=True)
    part = {name: [s for s, sp in zip(songs, splits) if sp == name] for name in ("train", "val", "test")}
    fit_part = [s for s, sp in zip(songs, splits) if sp in ("train", "val")]
    print("data: " + ", ".join(f"{len(v)} {k}" for k, v in part.items()), flush=True)

    def texts(ss):
        return [s.lyrics for s in ss]

    def labels(ss):
        return np.array([s.label for s in ss])

    meta = {
        "data": str(args.data), "split": str(split_path), "counts": {k: len(v) for k, v in part.items()},
        "args": vars(args), "git_commit": git_commit(), "tensorflow": tf.__version__,
        "command": " ".join([Path(sys.executable).name, "-m", "training.train_lyrics", *(argv or sys.argv[1:])]),
        "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
    }
    results = {}

    # --- the seed LSTM ---------------------------------------------------------
    def train_lstm(train, val, log_path):
        t0 = time.time()
        keras.utils.set_random_seed(args.seed)
        vec = lyrics_models.sequence_vectorizer(texts(train), max_tokens=args.vocab)
        model = lyrics_models.seed_lstm(vec)
        model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        print(f"model {model.name}: {model.count_params():,} parameters, {len(train)} songs", flush=True)

        def dataset(ss, shuffle):
            ds = tf.data.Dataset.from_tensor_slices((tf.constant(texts(ss))[:, None], labels(ss)))
            if shuffle:
                ds = ds.shuffle(len(ss), seed=args.seed, reshuffle_each_iteration=True)
            return ds.batch(args.batch_size).prefetch(tf.data.AUTOTUNE)

        class Seconds(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.time()

            def on_epoch_end(self, epoch, logs=None):
                logs["seconds"] = round(time.time() - self.t, 1)

        log_path.unlink(missing_ok=True)
        model.fit(dataset(train, True), validation_data=dataset(val, False), epochs=args.epochs,
                  callbacks=[Seconds(), keras.callbacks.CSVLogger(log_path),
                             keras.callbacks.EarlyStopping("val_loss", patience=args.patience, restore_best_weights=True)],
                  verbose=2)
        return {"model": model, "seconds": time.time() - t0, "log": log_path, "description": LSTM_DESCRIPTION}

    if "lstm" in wanted:
        results["lstm"] = train_lstm(part["train"], part["val"], out / "lstm_log.csv")
        results["lstm"]["model"].save(out / "lstm.keras")

    # --- linear models: TF-IDF + LR baseline, and ours ---------------------------
    if "linear" in wanted:
        from training import lyrics_linear

        t0 = time.time()
        base = lyrics_linear.sklearn_baseline(texts(fit_part), labels(fit_part))
        results["tfidf_lr_sklearn"] = {"sklearn": base, "seconds": time.time() - t0,
                                       "description": "baseline: scikit-learn TfidfVectorizer(sublinear tf, word "
                                                      "uni+bigrams) + LogisticRegression(C=10)"}
        t0 = time.time()
        fit_idx = [i for i, sp in enumerate(splits) if sp in ("train", "val")]
        best, cv = lyrics_linear.choose(texts(fit_part), labels(fit_part),
                                        strata=[lyrics_data.stratum(songs[i]) for i in fit_idx],
                                        groups=[groups[i] for i in fit_idx],
                                        grids=parse_grid(args.linear_grid), seed=args.seed)
        cv_seconds = time.time() - t0
        # the best single TF-IDF model, and the cross-validation's winner if that is another
        tfidf_best = max((r for r in cv if [c["weighting"] for c in r["configs"]] == ["tfidf"]),
                         key=lambda r: r["cv_accuracy"])["configs"]
        for name, cfgs in (("tfidf_lr", tfidf_best), ("linear_ensemble", best)):
            if name == "linear_ensemble" and cfgs == tfidf_best:
                continue
            t0 = time.time()
            model = lyrics_linear.build(texts(fit_part), labels(fit_part), cfgs)
            results[name] = {"model": model, "seconds": time.time() - t0 + cv_seconds, "cv": cv, "config": cfgs,
                             "description": lyrics_linear.describe(cfgs)}
        print(f"linear: cross-validation chose {lyrics_linear.describe(best)}", flush=True)

        # Specialists, reported only: the two label sources pull against each other.
        if args.specialists:
            for source in ("ml", "ml4q"):
                sub = [s for s in fit_part if (s.from_ml if source == "ml" else s.from_ml4q)]
                t0 = time.time()
                model = lyrics_linear.build(texts(sub), labels(sub), best)
                results[f"linear [{source.upper()} only]"] = {
                    "model": model, "seconds": time.time() - t0,
                    "description": f"{lyrics_linear.describe(best)}, trained on the {source.upper()} songs only"}
            if "lstm" in wanted:
                ml_train = [s for s in part["train"] if s.from_ml]
                ml_val = [s for s in part["val"] if s.from_ml]
                r = train_lstm(ml_train, ml_val, out / "lstm_ml_log.csv")
                r["description"] = LSTM_DESCRIPTION + ", trained on the ML songs only (the original's setting)"
                results["lstm [ML only]"] = r

    # --- evaluate on the held-out songs ------------------------------------------
    test = part["test"]
    summary = {}
    for name, r in results.items():
        probs = (r["sklearn"].predict_proba(texts(test)) if "sklearn" in r
                 else lyrics_models.predict(r["model"], texts(test)))
        r["metrics"] = lyrics_report.evaluate(probs, test)
        summary[name] = {k: r["metrics"][k] for k in ("accuracy", "accuracy_ml", "accuracy_ml4q")}
        summary[name]["train_seconds"] = round(r["seconds"], 1)
        print(f"{name:28s} held-out acc {r['metrics']['accuracy']:.2%}  ML {r['metrics']['accuracy_ml']:.2%}  "
              f"ML4Q {r['metrics']['accuracy_ml4q']:.2%}  ({r['seconds']:.0f} s)", flush=True)
    (out / "summary.json").write_text(json.dumps({"summary": summary, "meta": meta}, indent=2))

    # --- export: the seed LSTM as version 1, then ours, the best last -------------
    if args.export:
        from training import export_lyrics

        # TF Serving serves the highest version: number ours by held-out accuracy, best last.
        ours = sorted((n for n in ("tfidf_lr", "linear_ensemble") if n in results),
                      key=lambda n: results[n]["metrics"]["accuracy"])
        order = (["lstm"] if "lstm" in results else []) + ours
        exported = {name: export_lyrics.export(results[name]["model"], Path(args.models_dir) / str(v))
                    for v, name in enumerate(order, start=1)}
        compare = {k: v["metrics"] for k, v in results.items() if "[" not in k}
        for name, target in exported.items():
            lyrics_report.write(target, results[name], test, meta, Path(args.reports) / f"v{target.name}",
                                baselines=compare)
        lyrics_report.write_index(Path(args.reports), summary, meta,
                                  versions={k: int(v.name) for k, v in exported.items()},
                                  descriptions={k: v["description"] for k, v in results.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
