"""Export a trained Keras CNN as a TensorFlow Serving SavedModel.

    python -m training.export_emotion runs/emotion/v2/final.keras --version 2

Contract (musicalface.contracts.EmotionSignature): signature `serving_default`,
input `image` float32 [N, 48, 48, 1] raw grey 0..255, output `probabilities`
float32 [N, 7]. Test-time augmentation happens inside the graph: `flip` averages
the face and its mirror image; `flip+shift` also averages four copies shifted by
3 pixels and their mirrors (10 views in one batched call). The report measures
each on PublicTest.
Warm-up requests go to assets.extra/ so TF Serving compiles before traffic.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from musicalface.contracts import EmotionSignature as Sig

WARMUP_BATCHES = (1, 8, 32)


TTA_MODES = ("none", "flip", "flip+shift")
DEFAULT_TTA = "flip+shift"  # what the shipped models use: +0.9 to +1.7 points for 10 views
SHIFT = 3


def tta_views(image, tta: str):
    """The views of a batch [N, 48, 48, 1] that get averaged, stacked as [V * N, 48, 48, 1]."""
    import tensorflow as tf

    if tta not in TTA_MODES:
        raise ValueError(f"unknown test-time augmentation {tta!r}; choose from {', '.join(TTA_MODES)}")
    views = [image]
    if tta == "flip+shift":
        s, n = SHIFT, Sig.size
        padded = tf.pad(image, [[0, 0], [s, s], [s, s], [0, 0]], mode="REFLECT")
        views += [padded[:, dy:dy + n, dx:dx + n, :] for dy, dx in ((0, s), (2 * s, s), (s, 0), (s, 2 * s))]
    if tta != "none":
        views += [tf.image.flip_left_right(v) for v in views]
    return tf.concat(views, axis=0), len(views)


def predict_tta(model, image, tta: str):
    import tensorflow as tf

    stacked, v = tta_views(image, tta)
    p = model(stacked, training=False)
    return tf.reduce_mean(tf.reshape(p, [v, -1, p.shape[-1]]), axis=0)


def serving_fn(model, tta: str = DEFAULT_TTA):
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, Sig.size, Sig.size, 1], tf.float32, name=Sig.input)])
    def serve(image):
        return {Sig.output: tf.cast(predict_tta(model, image, tta), tf.float32)}

    return serve


def export(model, target: Path, tta: str = DEFAULT_TTA) -> Path:
    import numpy as np

    from training.serving_export import write_archive, write_warmup

    target = write_archive(model, target, serving_fn(model, tta))
    rng = np.random.default_rng(0)
    write_warmup(target, "emotion", Sig.input,
                 [rng.integers(0, 256, (n, Sig.size, Sig.size, 1)).astype("float32") for n in WARMUP_BATCHES])
    (target / "assets.extra" / "export.json").write_text(json.dumps({"model": model.name, "tta": tta}))
    print(f"exported {target}", flush=True)
    return target


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("keras_model")
    p.add_argument("--version", type=int, required=True)
    p.add_argument("--models-dir", default="models/emotion")
    p.add_argument("--tta", choices=TTA_MODES, default=DEFAULT_TTA, help="test-time augmentation inside the graph")
    args = p.parse_args(argv)
    from training.emotion_models import load

    export(load(args.keras_model), Path(args.models_dir) / str(args.version), tta=args.tta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
