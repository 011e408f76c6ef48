"""The `musicalface` command. Each service adds its own subcommands; imports are
lazy so that the capture client runs without TensorFlow installed."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# Modules that add subcommands, in the order `--help` lists them.
COMMAND_MODULES = (
    "musicalface.embedded_cli",
    "services.emotion.cli",
    "services.capture.cli",
    "services.lyrics.cli",
    "services.player.cli",
    "training.cli",
    "musicalface.up",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musicalface", description="Look into a camera, hear songs that fit your face.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        os.environ["MUSICALFACE_VERBOSE"] = "1"
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as e:
        print(f"musicalface: {args.command} needs the package {e.name!r}; install it with `pip install -e .[ml,services]`",
              file=sys.stderr)
        return 2
    except Exception as e:  # a user sees one line, not a traceback; -v shows it
        if args.verbose:
            raise
        print(f"musicalface: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
