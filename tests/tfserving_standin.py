"""A stand-in for TensorFlow Serving: a real gRPC PredictionService on loopback
that serves an exported SavedModel the way TF Serving does (model spec checks,
NOT_FOUND for unknown models and versions, tensor protos in and out). It can be
stopped and started again on the same port, to play a server that goes away.

    .venv/bin/python -m tests.tfserving_standin --models-dir models/emotion --port 8500
"""
from __future__ import annotations

import argparse
import os
import socket
import threading
import time
from concurrent import futures
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc  # noqa: E402
from tensorflow_serving.apis import prediction_service_pb2_grpc  # noqa: E402

from musicalface.paths import latest_version  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, owner: "StandInServing"):
        self.owner = owner

    def Predict(self, request, context):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        o = self.owner
        o.requests += 1
        if o.delay_s:  # play a server too slow for the client's deadline
            time.sleep(o.delay_s)
        spec = request.model_spec
        if spec.name != o.model_name:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({spec.name})")
        version = spec.version.value if spec.HasField("version") else max(o.signatures)
        if version not in o.signatures:
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"Servable not found for request: Specific({spec.name}, {version})")
        sigs = o.signatures[version]
        sig_name = spec.signature_name or "serving_default"
        if sig_name not in sigs:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f'Serving signature key "{sig_name}" not found.')
        fn = sigs[sig_name]
        expected = set(fn.structured_input_signature[1])
        if set(request.inputs) != expected:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"Expected inputs {sorted(expected)}, got {sorted(request.inputs)}")
        try:
            inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
            outputs = fn(**inputs)
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e).splitlines()[0])
        resp = predict_pb2.PredictResponse()
        resp.model_spec.name = o.model_name
        resp.model_spec.version.value = version
        resp.model_spec.signature_name = sig_name
        for k, v in outputs.items():
            if not request.output_filter or k in request.output_filter:
                resp.outputs[k].CopyFrom(tf.make_tensor_proto(v.numpy()))
        return resp


class StandInServing:
    """Loads every numbered version under model_dir once; start/stop the server at will."""

    def __init__(self, model_dir: Path, model_name: str = "emotion", port: int | None = None,
                 versions: list[int] | None = None):
        import tensorflow as tf

        model_dir = Path(model_dir)
        versions = versions or [latest_version(model_dir)]
        self.model_name = model_name
        self.port = port or _free_port()
        self.addr = f"127.0.0.1:{self.port}"
        # Keep the loaded objects alive: the signatures hold only weak references to them.
        self._loaded = {v: tf.saved_model.load(str(model_dir / str(v))) for v in versions}
        self.signatures = {v: dict(m.signatures) for v, m in self._loaded.items()}
        self.requests = 0
        self.delay_s = 0.0
        self._server = None
        self._lock = threading.Lock()

    def start(self) -> "StandInServing":
        with self._lock:
            if self._server is not None:
                return self
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
            prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_Servicer(self), server)
            if server.add_insecure_port(self.addr) != self.port:
                raise RuntimeError(f"cannot listen on {self.addr}")
            server.start()
            self._server = server
            return self

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop(grace=None).wait(5)
                self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models-dir", default=os.environ.get("EMOTION_MODEL_DIR", "models/emotion"))
    p.add_argument("--model-name", default="emotion")
    p.add_argument("--port", type=int, default=8500)
    args = p.parse_args(argv)
    serving = StandInServing(Path(args.models_dir), args.model_name, args.port).start()
    print(f"stand-in TF Serving for {args.model_name} on {serving.addr}", flush=True)
    try:
        serving._server.wait_for_termination()
    except KeyboardInterrupt:
        serving.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
