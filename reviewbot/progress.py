"""A progress line on stderr for steps that take over a second (applying, indexing,
simulating), only when stderr is a terminal: pipes, b4 and CI logs never see it."""
from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

DELAY = 1.0


@contextmanager
def step(what: str, stream=None, delay: float = DELAY, force: bool = False):
    """Print `reviewbot: <what>...` once `delay` seconds have passed, and clear it at the end."""
    stream = stream or sys.stderr
    if not force and not _isatty(stream):
        yield
        return
    shown = threading.Event()
    done = threading.Event()
    start = time.monotonic()

    def show():
        if not done.wait(delay):
            stream.write(f"\rreviewbot: {what}...")
            stream.flush()
            shown.set()

    t = threading.Thread(target=show, daemon=True)
    t.start()
    try:
        yield
    finally:
        done.set()
        t.join()
        if shown.is_set():
            stream.write(f"\rreviewbot: {what}... {time.monotonic() - start:.1f} s\n")
            stream.flush()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
