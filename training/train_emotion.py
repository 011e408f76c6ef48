"""Train the face-expression CNN on FER2013.

    python -m training.train_emotion --out runs/emotion/v1            # our default net
    python -m training.train_emotion --arch seed --out runs/emotion/seed
    python -m training.train_emotion --out runs/emotion/v1 --export 1  # then export + report

The run folder holds everything needed to stop and go on: `last.keras` (model
and optimizer state), `state.json` (epochs done), `log.csv` (one row an epoch)
and `meta.json` (data and command). Running the same command again resumes.
The model kept is the last epoch's: the schedule anneals to zero, and picking
the best epoch on PublicTest would flatter the number we report on it.
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

DEFAULT_DATA = "../shared/data/fer2013/fer2013.npz"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DEFAULT_DATA, help="fer2013.npz, Kaggle fer2013.csv, or a folder with train/ and test/")
    p.add_argument("--arch", default="default", help="default (small VGG), seed (the original CNN) or tiny (smoke tests)")
    p.add_argument("--out", default="runs/emotion/default", help="run folder: checkpoints, log, report")
    p.add_argument("--epochs", type=int, default=45)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW, 1 warm-up epoch, cosine to 0)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--class-weight-power", type=float, default=0.5,
                   help="class weight = (max count / count) ** power; 0 turns weighting off")
    p.add_argument("--max-batches", type=int, default=0, help="cap batches per epoch (smoke runs)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (smoke runs)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--export", type=int, default=0, metavar="VERSION",
                   help="after training, export models/emotion/VERSION and write its report")
    p.add_argument("--models-dir", default="models/emotion")
    p.add_argument("--reports-dir", default="reports/emotion", help="the report goes to REPORTS_DIR/vVERSION")
    p.add_argument("--tta", default="flip", choices=("none", "flip", "flip+shift"),
                   help="test-time augmentation built into the exported graph")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    return p.parse_args(argv)


def class_weights(y: np.ndarray, power: float, n_classes: int) -> dict[int, float] | None:
    if power <= 0:
        return None
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = (counts.max() / np.maximum(counts, 1)) ** power
    w = w / (w * counts).sum() * counts.sum()  # keep the mean weight per sample at 1
    return {i: float(v) for i, v in enumerate(w)}


def main(argv=None) -> int:
    args = parse_args(argv)
    import keras
    import tensorflow as tf

    from training import emotion_models, fer_data
    from training.reporting import git_commit

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    # --- data ---------------------------------------------------------------
    splits = fer_data.load(args.data)
    (xtr, ytr), (xva, yva) = splits["train"], splits.get("val", splits["train"])
    if args.limit:
        xtr, ytr = xtr[: args.limit], ytr[: args.limit]
        xva, yva = xva[: args.limit], yva[: args.limit]
    n_classes = emotion_models.N_CLASSES
    print(f"data: {args.data}: {len(xtr)} train, {len(xva)} PublicTest images", flush=True)

    def dataset(x, y, shuffle):
        ds = tf.data.Dataset.from_tensor_slices((x[..., None].astype("float32"), keras.utils.to_categorical(y, n_classes)))
        if shuffle:
            ds = ds.shuffle(len(x), seed=args.seed, reshuffle_each_iteration=True)
        ds = ds.batch(args.batch_size)
        if args.max_batches:
            ds = ds.take(args.max_batches)
        return ds.prefetch(tf.data.AUTOTUNE)

    train_ds, val_ds = dataset(xtr, ytr, True), dataset(xva, yva, False)
    steps_per_epoch = int(train_ds.cardinality())

    # --- model: fresh or resumed ----------------------------------------------
    state_path, last_path = out / "state.json", out / "last.keras"
    start_epoch = 0
    def schedule():
        total = steps_per_epoch * args.epochs
        warmup = min(steps_per_epoch, total // 2)
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(total - warmup, 1), warmup_target=args.lr, warmup_steps=warmup)

    if last_path.exists() and state_path.exists() and not args.fresh:
        model = keras.models.load_model(last_path)
        state = json.loads(state_path.read_text())
        start_epoch = state["epochs_done"]
        print(f"resuming {last_path} after epoch {start_epoch}", flush=True)
        if state["of"] != args.epochs:
            # A run may be lengthened or cut short: the cosine is re-planned to end at the new
            # last epoch, from the step reached (the learning rate jumps once, then anneals).
            model.optimizer.learning_rate = schedule()
            print(f"schedule re-planned: {state['of']} -> {args.epochs} epochs", flush=True)
            meta = json.loads((out / "meta.json").read_text())
            meta.setdefault("replanned", []).append({"after_epoch": start_epoch, "from": state["of"], "to": args.epochs})
            meta["args"]["epochs"] = args.epochs
            (out / "meta.json").write_text(json.dumps(meta, indent=2))
    else:
        model = emotion_models.build(args.arch)
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule(), weight_decay=args.weight_decay),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
            metrics=["accuracy"],
        )
        (out / "meta.json").write_text(json.dumps({
            "arch": args.arch, "params": model.count_params(), "data": str(args.data),
            "train_images": len(xtr), "val_images": len(xva), "args": vars(args),
            "command": " ".join([Path(sys.executable).name, "-m", "training.train_emotion", *(argv or sys.argv[1:])]),
            "git_commit": git_commit(), "tensorflow": tf.__version__, "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        }, indent=2))
    print(f"model {model.name}: {model.count_params():,} parameters, {steps_per_epoch} steps/epoch", flush=True)

    # --- one epoch at a time, checkpointed -----------------------------------
    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            logs["seconds"] = round(time.time() - self.t0, 1)
            logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            self.model.save(last_path)
            state_path.write_text(json.dumps({"epochs_done": epoch + 1, "of": args.epochs}))

    if start_epoch < args.epochs:
        model.fit(
            train_ds, validation_data=val_ds, epochs=args.epochs, initial_epoch=start_epoch,
            class_weight=class_weights(ytr, args.class_weight_power, n_classes),
            callbacks=[Checkpoint(), keras.callbacks.CSVLogger(out / "log.csv", append=True)],
            verbose=1 if sys.stdout.isatty() else 2,
        )
    model.save(out / "final.keras")
    print(f"trained: {out / 'final.keras'}", flush=True)

    if args.export:
        from training import emotion_report, export_emotion

        target = export_emotion.export(model, Path(args.models_dir) / str(args.export), tta=args.tta)
        emotion_report.write(target, out, xva, yva, Path(args.reports_dir) / f"v{args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
