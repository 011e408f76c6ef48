"""`musicalface train emotion|lyrics ...`: the training scripts, reachable from the CLI."""
from __future__ import annotations

import importlib

SCRIPTS = {"emotion": "training.train_emotion", "lyrics": "training.train_lyrics"}


def add_commands(sub) -> None:
    p = sub.add_parser("train", help="train a model (see `musicalface train emotion -h`)", add_help=False)
    p.add_argument("model", choices=sorted(SCRIPTS))
    p.add_argument("args", nargs="...", help="the training script's own options")
    p.set_defaults(func=train)


def train(args) -> int:
    return importlib.import_module(SCRIPTS[args.model]).main(args.args)
