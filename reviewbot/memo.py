"""Results of per-file analyses kept on disk, keyed by the file's content, the analysis' own
source code and its arguments, so a repeat review parses none of the files it already read."""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import sqlite3
from functools import lru_cache
from typing import Any, Callable

from reviewbot.wordindex import cache_root

MAX_VALUE = 1 << 20          # a result larger than this is recomputed rather than stored


@lru_cache(maxsize=None)
def _code_version(fn: Callable) -> str:
    """A hash of the module that defines `fn` and of the parser and index every analysis reads
    through: editing any of them invalidates the results."""
    from reviewbot import cindex, cparse
    parts = []
    for module in (inspect.getmodule(fn), cparse, cindex):
        try:
            parts.append(inspect.getsource(module))
        except (OSError, TypeError):
            parts.append(fn.__qualname__)
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:16]


class _Store:
    def __init__(self) -> None:
        self.db: sqlite3.Connection | None = None
        self.path = None

    def connect(self) -> sqlite3.Connection | None:
        path = cache_root() / "analysis.sqlite"
        if self.db is not None and self.path == path:
            return self.db
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path), timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")     # readers never wait; a kill loses nothing
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS memo (key TEXT PRIMARY KEY, value TEXT)")
        except (OSError, sqlite3.Error):
            return None                               # no cache: slower, never wrong
        self.db, self.path = db, path
        return db


_store = _Store()


def cached(fn: Callable[..., Any], src: bytes, *args: Any) -> Any:
    """fn(src, *args), from the disk when this code already computed it for these bytes.
    The result must be JSON (lists come back as lists: callers rebuild tuples)."""
    if os.environ.get("REVIEWBOT_NO_MEMO"):
        return fn(src, *args)
    key = hashlib.sha1(b"\0".join([fn.__module__.encode(), fn.__qualname__.encode(),
                                   _code_version(fn).encode(), json.dumps(args).encode(),
                                   src])).hexdigest()
    db = _store.connect()
    if db is not None:
        try:
            row = db.execute("SELECT value FROM memo WHERE key=?", (key,)).fetchone()
            if row is not None:
                return json.loads(row[0])
        except sqlite3.Error:
            db = None
    value = fn(src, *args)
    text = json.dumps(value)
    if db is not None and len(text) <= MAX_VALUE:
        try:
            db.execute("INSERT OR REPLACE INTO memo VALUES (?, ?)", (key, text))
        except sqlite3.Error:
            pass
    return value
