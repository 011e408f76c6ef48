"""Export a trained lyrics model (raw strings in) as a TensorFlow Serving SavedModel.

    python -m training.export_lyrics runs/lyrics/lstm.keras --version 1

Contract (musicalface.contracts.LyricsSignature): signature `serving_default`,
input `lyrics` string [N] raw text, output `probabilities` float32 [N, 4] in
MOODS order. The text vectorisation (vocabulary, idf) is inside the graph.
Warm-up requests go to assets.extra/ so TF Serving compiles before traffic.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from musicalface.contracts import LyricsSignature as Sig

WARMUP = ("la la la love you baby", "I hate you, get out of my head\nscreaming in the dark")


def serving_fn(model):
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=Sig.input)])
    def serve(lyrics):
        return {Sig.output: tf.cast(model(tf.expand_dims(lyrics, -1), training=False), tf.float32)}

    return serve


def export(model, target: Path) -> Path:
    from training.serving_export import write_archive, write_warmup

    target = write_archive(model, target, serving_fn(model))
    write_warmup(target, "lyrics", Sig.input, [[WARMUP[i % 2] for i in range(n)] for n in (1, 8, 32)])
    print(f"exported {target}", flush=True)
    return target


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("keras_model")
    p.add_argument("--version", type=int, required=True)
    p.add_argument("--models-dir", default="models/lyrics")
    args = p.parse_args(argv)
    import keras

    import training.lyrics_models  # noqa: F401  registers the custom layer

    export(keras.models.load_model(args.keras_model), Path(args.models_dir) / str(args.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
