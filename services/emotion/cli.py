"""`musicalface predict` and `musicalface emotion ...`."""
from __future__ import annotations

import json


def add_commands(sub) -> None:
    p = sub.add_parser("predict", help="read the expression on one or more photos")
    p.add_argument("photos", nargs="+", metavar="PHOTO")
    p.add_argument("--json", action="store_true", help="one JSON object per photo, one per line")
    p.set_defaults(func=predict)

    from services.emotion.worker import add_worker_command

    e = sub.add_parser("emotion", help="emotion service: workers that read faces on frames")
    esub = e.add_subparsers(dest="emotion_command", metavar="COMMAND", required=True)
    add_worker_command(esub)
    c = esub.add_parser("check", help="health check: Redis, this host's worker, the model (exit 0 when healthy)")
    c.set_defaults(func=_check)


def _check(args) -> int:
    from services.emotion.health import check

    return check(args)


def format_reading(r) -> str:
    if r.error:
        return f"{r.file}: error: {r.error}"
    if r.emotion is None:
        return f"{r.file}: no face found ({r.seconds:.2f} s)"
    probs = "  ".join(f"{k} {v:.3f}" for k, v in r.probabilities.items())
    top = ", ".join(f"{k} ({v:.1%})" for k, v in r.top(3))
    return "\n".join([
        f"{r.file}",
        f"  Emotion: {r.emotion}   (face at x={r.face[0]} y={r.face[1]} w={r.face[2]} h={r.face[3]})"
        if r.face else f"  Emotion: {r.emotion}   (image taken as a face crop)",
        f"  Probabilities: {probs}",
        f"  Top 3: {top}",
        f"  Mood: {r.mood}",
        f"  Time taken: {r.seconds:.3f} s",
    ])


def make_reader(settings=None):
    from services.emotion.classifier import load_model
    from services.emotion.reader import EmotionReader
    from services.emotion.settings import EmotionSettings

    s = settings or EmotionSettings()
    return EmotionReader(load_model(s), max_bytes=s.max_image_bytes, max_pixels=s.max_image_pixels)


def predict(args) -> int:
    reader = make_reader()
    failed = False
    for path in args.photos:
        r = reader.read_file(path)
        failed |= r.error is not None
        print(json.dumps(r.to_json()) if args.json else format_reading(r), flush=True)
    return 1 if failed else 0
