"""The CNN behind TensorFlow Serving: one gRPC Predict call per batch of faces,
with a deadline per call and retries with backoff while the server is away."""
from __future__ import annotations

import logging
import time

import numpy as np

from musicalface.contracts import EXPRESSIONS
from musicalface.contracts import EmotionSignature as Sig
from services.emotion.classifier import ModelUnavailable, to_model_input

log = logging.getLogger(__name__)

# NOT_FOUND is transient too: TF Serving answers it while a version is still loading.
_TRANSIENT = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "NOT_FOUND", "CANCELLED")
BACKOFF_S = 0.2
BACKOFF_MAX_S = 2.0
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class TFServingModel:
    def __init__(self, addr: str, model_name: str = "emotion", version: int | None = None,
                 signature: str = Sig.name, timeout_s: float = 2.0, retries: int = 2):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.addr, self.model_name, self.version, self.signature = addr, model_name, version, signature
        self.timeout_s, self.retries = timeout_s, max(0, retries)
        self.name = f"TF Serving {addr} model {model_name}" + (f" v{version}" if version is not None else "")
        self._grpc = grpc
        # The channel connects lazily and reconnects by itself: a worker may start before the server.
        self._channel = grpc.insecure_channel(addr, options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ])
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def request(self, faces: np.ndarray):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        req = predict_pb2.PredictRequest()
        req.model_spec.name = self.model_name
        req.model_spec.signature_name = self.signature
        if self.version is not None:
            req.model_spec.version.value = int(self.version)
        req.inputs[Sig.input].CopyFrom(tf.make_tensor_proto(to_model_input(faces)))
        return req

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """uint8 faces [N, 48, 48] -> probabilities [N, 7]."""
        req = self.request(faces)
        n = req.inputs[Sig.input].tensor_shape.dim[0].size
        errors: list[str] = []
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(BACKOFF_MAX_S, BACKOFF_S * 2 ** (attempt - 1)))
            try:
                # The first try fails fast when the server is away; a retry waits, up to its deadline,
                # for the channel to reconnect, so a server that comes back is found at once.
                resp = self._stub.Predict(req, timeout=self.timeout_s, wait_for_ready=attempt > 0)
            except self._grpc.RpcError as e:
                code = e.code().name if e.code() else "UNKNOWN"
                errors.append(f"{code}: {e.details()}")
                if code not in _TRANSIENT:
                    raise RuntimeError(f"{self.name} refused the request: {errors[-1]}") from None
                log.debug("Predict attempt %d failed: %s", attempt + 1, errors[-1])
                continue
            return self._probabilities(resp, n)
        tries = self.retries + 1
        why = errors[0] if errors[-1] == errors[0] else f"{errors[0]}; last: {errors[-1]}"
        raise ModelUnavailable(f"{self.name} is unavailable after {tries} {'try' if tries == 1 else 'tries'}: {why}")

    def _probabilities(self, resp, n: int) -> np.ndarray:
        import tensorflow as tf

        if Sig.output not in resp.outputs:
            raise RuntimeError(f"{self.name} answered without the output {Sig.output!r}: "
                               f"got {sorted(resp.outputs)}")
        out = np.asarray(tf.make_ndarray(resp.outputs[Sig.output]), dtype=np.float32)
        if out.shape != (n, len(EXPRESSIONS)):
            raise RuntimeError(f"{self.name} answered shape {out.shape}, expected {(n, len(EXPRESSIONS))}")
        return out

    def close(self) -> None:
        self._channel.close()
