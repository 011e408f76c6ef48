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
import shutil
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
    import keras

    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(Sig.name, serving_fn(model))
    archive.write_out(str(target), verbose=False)
    write_warmup(target)
    print(f"exported {target}", flush=True)
    return target


def write_warmup(target: Path) -> Path:
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = Path(target) / "assets.extra" / "tf_serving_warmup_requests"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as w:
        for n in (1, 8, 32):
            req = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name="lyrics", signature_name=Sig.name))
            req.inputs[Sig.input].CopyFrom(tf.make_tensor_proto([WARMUP[i % 2] for i in range(n)], dtype=tf.string))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=req))
            w.write(log.SerializeToString())
    return path


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
