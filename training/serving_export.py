"""Writing a SavedModel for TensorFlow Serving: the archive with its serving
signature, and the warm-up requests TF Serving replays before taking traffic."""
from __future__ import annotations

import shutil
from pathlib import Path

SIGNATURE = "serving_default"


def write_archive(model, target: Path, serve) -> Path:
    """`serve` is a tf.function with an input signature; it becomes `serving_default`."""
    import keras

    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SIGNATURE, serve)
    archive.write_out(str(target), verbose=False)
    return target


def write_warmup(target: Path, model_name: str, input_name: str, batches) -> Path:
    """One PredictRequest per batch (a numpy array or a list of strings) in assets.extra/."""
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = Path(target) / "assets.extra" / "tf_serving_warmup_requests"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as w:
        for batch in batches:
            req = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model_name, signature_name=SIGNATURE))
            req.inputs[input_name].CopyFrom(tf.make_tensor_proto(batch))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=req))
            w.write(log.SerializeToString())
    return path
