"""TensorFlow's C++ start-up notices (absl's "oneDNN custom operations are on")
go straight to file descriptor 2, before any Python logging can filter them."""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_stderr():
    """Silence fd 2 for the block, unless -v / MUSICALFACE_VERBOSE asks to see everything.
    Python exceptions still propagate with their messages; only C-level chatter is lost."""
    if os.environ.get("MUSICALFACE_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
