"""`musicalface emotion check`: the container health check of a worker. Healthy
means Redis answers, a worker of this host is registered with RQ, and the model
answers (TF Serving: one Predict of a blank face; in process: a version on disk)."""
from __future__ import annotations

import socket

import numpy as np


def problems(settings) -> list[str]:
    import redis
    from rq import Worker

    out = []
    try:
        conn = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        conn.ping()
        host = socket.gethostname()
        if not any(w.hostname == host for w in Worker.all(connection=conn)):
            out.append(f"no RQ worker of host {host} is registered")
    except redis.RedisError as e:
        out.append(f"Redis at {settings.redis_url.split('@')[-1]}: {e}")
    if settings.tfserving_addr:
        from services.emotion.classifier import ModelUnavailable
        from services.emotion.tfserving_client import TFServingModel

        model = TFServingModel(settings.tfserving_addr, settings.emotion_model_name, settings.emotion_model_version,
                               settings.emotion_signature, settings.tfserving_timeout_s, retries=0)
        try:
            model.predict(np.zeros((1, 48, 48), np.uint8))
        except ModelUnavailable as e:
            out.append(str(e))
        finally:
            model.close()
    else:
        from musicalface.paths import latest_version

        try:
            latest_version(settings.emotion_model_dir)
        except FileNotFoundError as e:
            out.append(str(e))
    return out


def check(args) -> int:
    from musicalface.health import report
    from services.emotion.settings import EmotionSettings

    return report(problems(EmotionSettings()))
