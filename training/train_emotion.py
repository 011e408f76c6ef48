"""Train the face-expression CNN on FER2013.

    python -m training.train_emotion --out runs/emotion/v1            # our default net
    python -m training.train_emotion --arch seed --out runs/emotion/seed
    python -m training.train_emotion --out runs/emotion/v1 --export 1  # then export + report
    KERAS_BACKEND=jax python -m training.train_emotion --time-budget 600  # a GPU, ten minutes

Training needs only Keras: any backend runs it (TensorFlow here, JAX or PyTorch
on a GPU machine); export and report need TensorFlow. With --time-budget the
run times its second epoch and, if --epochs would not fit, re-plans the cosine
to as many epochs as do.

The run folder holds everything needed to stop and go on: `last.keras` (model
and optimizer state), `state.json` (epochs done), `log.csv` (one row an epoch)
and `meta.json` (data and command); at the end, `final.keras` (the model alone). Running the same command again resumes.
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

from training.export_emotion import DEFAULT_TTA, TTA_MODES

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
    p.add_argument("--tta", default=DEFAULT_TTA, choices=TTA_MODES,
                   help="test-time augmentation built into the exported graph")
    p.add_argument("--time-budget", type=float, default=0, metavar="SECONDS",
                   help="fit training into about this many seconds: fewer epochs, same schedule shape")
    p.add_argument("--checkpoint-every", type=float, default=0, metavar="SECONDS",
                   help="save last.keras at most this often, and after the last epoch; 0: every epoch")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    return p.parse_args(argv)


def class_weights(y: np.ndarray, power: float, n_classes: int) -> dict[int, float] | None:
    if power <= 0:
        return None
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = (counts.max() / np.maximum(counts, 1)) ** power
    w = w / (w * counts).sum() * counts.sum()  # keep the mean weight per sample at 1
    return {i: float(v) for i, v in enumerate(w)}


def accelerator() -> str:
    """What the backend trains on, for the run's record."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax
            return jax.devices()[0].device_kind
        if backend == "torch":
            import torch
            return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf
            gpus = tf.config.list_physical_devices("GPU")
            return gpus[0].name if gpus else "cpu"
    except Exception:  # the record is a nicety; never fail a run over it
        pass
    return "unknown"


def epochs_that_fit(budget: float, elapsed: float, epoch_seconds: float, done: int, planned: int) -> int:
    """How many epochs the run can have in `budget` seconds, given the time so far and
    the last (warm) epoch's length; never fewer than done + 1, never more than planned."""
    more = int(max(budget - elapsed, 0) // max(epoch_seconds, 1e-6))
    return max(done + 1, min(planned, done + more))


def main(argv=None) -> int:
    args = parse_args(argv)
    import keras

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

    # Plain arrays rather than tf.data, so that any Keras backend can train.
    def arrays(x, y):
        return x[..., None].astype("float32"), keras.utils.to_categorical(y, n_classes)

    (xtr_f, ytr_1h), (xva_f, yva_1h) = arrays(xtr, ytr), arrays(xva, yva)
    steps_per_epoch = -(-len(xtr) // args.batch_size)
    if args.max_batches:
        steps_per_epoch = min(steps_per_epoch, args.max_batches)

    # --- model: fresh or resumed ----------------------------------------------
    state_path, last_path = out / "state.json", out / "last.keras"
    start_epoch = 0
    def schedule():
        total = steps_per_epoch * args.epochs
        warmup = min(steps_per_epoch, total // 2)
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(total - warmup, 1), warmup_target=args.lr, warmup_steps=warmup)

    def replan(after_epoch: int, old: int, new: int, why: str):
        # A run may be lengthened or cut short: the cosine is re-planned to end at the new
        # last epoch, from the step reached (the learning rate jumps once, then anneals).
        args.epochs = new
        model.optimizer.learning_rate = schedule()
        print(f"schedule re-planned after epoch {after_epoch}: {old} -> {new} epochs ({why})", flush=True)
        meta = json.loads((out / "meta.json").read_text())
        meta.setdefault("replanned", []).append({"after_epoch": after_epoch, "from": old, "to": new, "why": why})
        meta["args"]["epochs"] = new
        (out / "meta.json").write_text(json.dumps(meta, indent=2))

    if last_path.exists() and state_path.exists() and not args.fresh:
        model = emotion_models.load(last_path)
        state = json.loads(state_path.read_text())
        start_epoch = state["epochs_done"]
        print(f"resuming {last_path} after epoch {start_epoch}", flush=True)
        log = out / "log.csv"
        if log.exists():  # epochs logged after the last checkpoint are trained again
            log.write_text("".join(log.read_text().splitlines(keepends=True)[: 1 + start_epoch]))
        if state["of"] != args.epochs:
            replan(start_epoch, state["of"], args.epochs, "--epochs changed")
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
            "git_commit": git_commit(), "keras": keras.__version__, "backend": keras.backend.backend(),
            "accelerator": accelerator(), "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        }, indent=2))
    print(f"model {model.name}: {model.count_params():,} parameters, {steps_per_epoch} steps/epoch", flush=True)

    # --- one epoch at a time, checkpointed -----------------------------------
    def save_checkpoint(epochs_done: int):
        model.save(last_path)
        state_path.write_text(json.dumps({"epochs_done": epochs_done, "of": args.epochs}))
        Checkpoint.saved = time.time()

    class Checkpoint(keras.callbacks.Callback):
        seconds: list[float] = []
        saved = time.time()

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            logs["seconds"] = round(time.time() - self.t0, 1)
            Checkpoint.seconds.append(logs["seconds"])
            logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            if time.time() - Checkpoint.saved >= args.checkpoint_every or epoch + 1 == args.epochs:
                save_checkpoint(epoch + 1)

    def fit(done: int, until: int):
        model.fit(
            xtr_f, ytr_1h, batch_size=args.batch_size, shuffle=True,
            validation_data=(xva_f, yva_1h), epochs=until, initial_epoch=done,
            steps_per_epoch=args.max_batches or None, validation_steps=args.max_batches or None,
            class_weight=class_weights(ytr, args.class_weight_power, n_classes),
            callbacks=[Checkpoint(), keras.callbacks.CSVLogger(out / "log.csv", append=True)],
            verbose=1 if sys.stdout.isatty() else 2,
        )

    started = time.time()
    if args.time_budget and start_epoch + 2 < args.epochs:
        # Two epochs: the first pays for compilation, the second shows the pace.
        fit(start_epoch, start_epoch + 2)
        start_epoch += 2
        first, pace = Checkpoint.seconds[-2:]
        recompile = max(first - pace, 0)  # a re-plan compiles the step again
        fits = epochs_that_fit(args.time_budget - recompile, time.time() - started, pace, start_epoch, args.epochs)
        if fits < args.epochs:
            replan(start_epoch, args.epochs, fits, f"--time-budget {args.time_budget:g}s at {pace}s an epoch")
            save_checkpoint(start_epoch)
            model.make_train_function(force=True)  # the compiled step holds the old schedule
    if start_epoch < args.epochs:
        fit(start_epoch, args.epochs)

    # The final model carries no optimizer state: a third of the size, and all that export needs.
    final = emotion_models.build(json.loads((out / "meta.json").read_text())["arch"])
    final.set_weights(model.get_weights())
    final.save(out / "final.keras")
    print(f"trained: {out / 'final.keras'} ({(time.time() - started) / 60:.1f} min this session)", flush=True)

    if args.export:
        from training import emotion_report, export_emotion

        target = export_emotion.export(final, Path(args.models_dir) / str(args.export), tta=args.tta)
        emotion_report.write(target, out, xva, yva, Path(args.reports_dir) / f"v{args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
