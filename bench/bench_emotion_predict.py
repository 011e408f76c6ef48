"""Face-reading speed: single-face latency (decode + detect + classify, warm)
and batched classification throughput. Prints numbers; asserts nothing.

    .venv/bin/python bench/bench_emotion_predict.py [--model-dir models/emotion] [--n 200]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def pct(samples, q):
    return float(np.percentile(np.asarray(samples) * 1000, q))


def main() -> int:
    import cv2
    from skimage import data

    from musicalface.paths import MODELS_DIR
    from services.emotion.classifier import InProcessModel
    from services.emotion.face_detector import FaceDetector
    from services.emotion.image_decode import decode_grey
    from services.emotion.reader import EmotionReader

    p = argparse.ArgumentParser()
    p.add_argument("--model-dir", default=str(MODELS_DIR / "emotion"))
    p.add_argument("--n", type=int, default=200)
    args = p.parse_args()

    model = InProcessModel(Path(args.model_dir))
    reader = EmotionReader(model, FaceDetector())
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    photo = buf.tobytes()
    for _ in range(10):
        reader.read_bytes(photo)

    total, decode, detect, classify = [], [], [], []
    for _ in range(args.n):
        t0 = time.perf_counter()
        grey = decode_grey(photo)
        t1 = time.perf_counter()
        face = reader.detector.largest_face(grey)
        t2 = time.perf_counter()
        model.predict(face.crop[None])
        t3 = time.perf_counter()
        decode.append(t1 - t0), detect.append(t2 - t1), classify.append(t3 - t2), total.append(t3 - t0)
    print(f"model {model.name}; oneDNN opts {os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default (on)')}; "
          f"{os.cpu_count()} CPUs")
    print(f"single face, 512x512 JPEG, warm, n={args.n}:")
    for name, s in (("decode", decode), ("detect+crop", detect), ("classify", classify), ("total", total)):
        print(f"  {name:12s} p50 {pct(s, 50):7.2f} ms   p99 {pct(s, 99):7.2f} ms")

    faces = np.random.default_rng(0).integers(0, 256, (512, 48, 48), dtype=np.uint8)
    print("batched classification (faces already cropped):")
    for b in (1, 8, 32, 128, 512):
        model.predict(faces[:b])
        reps = max(3, 256 // b)
        t0 = time.perf_counter()
        for _ in range(reps):
            model.predict(faces[:b])
        dt = (time.perf_counter() - t0) / reps
        print(f"  batch {b:4d}: {b / dt:8.0f} faces/s   ({dt * 1000:.1f} ms per call)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
