"""The bot's memory in SQLite: archive cursors, messages seen, series, replies and findings.

Replies are recorded before and after sending (queued -> sending -> sent) so a crash in
between is visible on restart; every change is committed before the next side effect.
One process at a time: an exclusive flock on `<state>.lock`, held while the State is open.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from pathlib import Path

from reviewbot.errors import ReviewbotError

SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor(epoch TEXT PRIMARY KEY, commit_sha TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages(
    msgid TEXT PRIMARY KEY, kind TEXT NOT NULL, series TEXT, idx INTEGER,
    epoch TEXT, blob TEXT, seen_at REAL);
CREATE INDEX IF NOT EXISTS messages_series ON messages(series);
CREATE TABLE IF NOT EXISTS series(
    key TEXT PRIMARY KEY, inbox TEXT, name TEXT, author TEXT, revision INTEGER,
    total INTEGER, first_seen REAL, status TEXT NOT NULL DEFAULT 'waiting',
    note TEXT DEFAULT '', reviewed_at REAL);
CREATE INDEX IF NOT EXISTS series_status ON series(status);
CREATE TABLE IF NOT EXISTS replies(
    msgid TEXT PRIMARY KEY, series TEXT, patch TEXT, status TEXT NOT NULL,
    raw BLOB, rcpts TEXT, created REAL, updated REAL, attempts INTEGER DEFAULT 0,
    last_error TEXT DEFAULT '');
CREATE INDEX IF NOT EXISTS replies_status ON replies(status);
CREATE TABLE IF NOT EXISTS own_replies(parent TEXT, msgid TEXT, PRIMARY KEY(parent, msgid));
CREATE TABLE IF NOT EXISTS findings(
    series TEXT, identity TEXT, patch TEXT, rule TEXT, message TEXT, status TEXT,
    mailed INTEGER DEFAULT 0, PRIMARY KEY(series, identity));
"""


# columns added after the first release: (table, column, declaration)
MIGRATIONS = [("series", "attempts", "INTEGER DEFAULT 0"),
              ("series", "retry_at", "REAL DEFAULT 0")]


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _lock(path: Path) -> int:
    """An exclusive, non-blocking flock on `<state>.lock`: a second bot exits at once."""
    lock = _lock_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise ReviewbotError(str(path), f"state file unusable: {e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise ReviewbotError(str(path), "in use by another reviewbot bot"
                             + (f" (pid {holder})" if holder.isdigit() else "")) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


class State:
    def __init__(self, path: str | Path):
        self.path = str(path)
        had_lock = _lock_path(Path(path)).exists()
        self._lock_fd: int | None = _lock(Path(path))
        try:
            # isolation_level=None: transactions are explicit, so nothing commits by surprise
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
            for table, col, decl in MIGRATIONS:
                cols = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
                if col not in cols:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {col} {decl}")
        except sqlite3.Error as e:
            if not had_lock:            # an unusable state leaves nothing behind
                _lock_path(Path(path)).unlink(missing_ok=True)
            self._unlock()
            raise ReviewbotError(self.path, f"state file unusable: {e}") from None

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)         # closing the descriptor drops the flock
            self._lock_fd = None

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            self._unlock()

    # -- transactions -----------------------------------------------------------------
    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, *exc):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def begin(self) -> None:
        """Open a transaction by hand, for a long pass that commits in batches (`batch`)."""
        self.db.execute("BEGIN IMMEDIATE")

    def batch(self) -> None:
        """Commit what the open transaction did and open the next one."""
        self.db.execute("COMMIT")
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        self.db.execute("ROLLBACK")

    def q(self, sql: str, *args):
        return self.db.execute(sql, args)

    # -- archive cursor and messages -------------------------------------------------
    def cursor(self, epoch: str) -> str | None:
        row = self.q("SELECT commit_sha FROM cursor WHERE epoch=?", epoch).fetchone()
        return row[0] if row else None

    def set_cursor(self, epoch: str, sha: str) -> None:
        self.q("INSERT OR REPLACE INTO cursor VALUES(?,?)", epoch, sha)

    def seen(self, msgid: str) -> bool:
        return self.q("SELECT 1 FROM messages WHERE msgid=?", msgid).fetchone() is not None

    def add_message(self, msgid: str, kind: str, series: str | None = None, idx: int = 0,
                    epoch: str = "", blob: str = "") -> bool:
        cur = self.q("INSERT OR IGNORE INTO messages VALUES(?,?,?,?,?,?,?)", msgid, kind,
                     series, idx, epoch, blob, time.time())
        return cur.rowcount == 1

    def series_messages(self, key: str) -> list[tuple[str, int, str, str]]:
        return self.q("SELECT msgid, idx, epoch, blob FROM messages WHERE series=? "
                      "ORDER BY idx, msgid", key).fetchall()

    # -- series --------------------------------------------------------------------------
    def touch_series(self, key: str, inbox: str, author: str, revision: int, total: int,
                     name: str | None, now: float) -> None:
        self.q("INSERT OR IGNORE INTO series(key, inbox, name, author, revision, total, "
               "first_seen) VALUES(?,?,?,?,?,?,?)", key, inbox, name or "", author,
               revision, total, now)
        self.q("UPDATE series SET total=max(total, ?) WHERE key=?", total, key)
        if name:
            self.q("UPDATE series SET name=? WHERE key=? AND name=''", name, key)

    def series_with(self, status: str, due: float | None = None) -> list[sqlite3.Row]:
        """Series in `status`; with `due`, only those whose retry time has come."""
        self.db.row_factory = sqlite3.Row
        try:
            return self.q("SELECT * FROM series WHERE status=? AND retry_at<=? "
                          "ORDER BY first_seen, key", status,
                          float("inf") if due is None else due).fetchall()
        finally:
            self.db.row_factory = None

    def attempts(self, key: str) -> int:
        """How many reviews of the series failed so far."""
        row = self.q("SELECT attempts FROM series WHERE key=?", key).fetchone()
        return row[0] if row else 0

    def revision(self, key: str) -> int:
        row = self.q("SELECT revision FROM series WHERE key=?", key).fetchone()
        return row[0] if row else 0

    def finish_replied(self) -> None:
        """Series whose every reply went out (none queued or sending) are done."""
        self.q("UPDATE series SET status='done' WHERE status='replying' AND NOT EXISTS "
               "(SELECT 1 FROM replies r WHERE r.series=series.key AND "
               "r.status IN ('queued','sending'))")

    def review_failed(self, key: str, reason: str, retry_at: float) -> int:
        """Count a failed review and set when to retry it; returns the attempts so far."""
        self.q("UPDATE series SET status='failed', note=?, attempts=attempts+1, retry_at=?, "
               "reviewed_at=? WHERE key=?", reason[:500], retry_at, time.time(), key)
        return self.q("SELECT attempts FROM series WHERE key=?", key).fetchone()[0]

    def set_series(self, key: str, status: str, note: str | None = None) -> None:
        if note is None:
            self.q("UPDATE series SET status=?, reviewed_at=? WHERE key=?", status,
                   time.time(), key)
        else:
            self.q("UPDATE series SET status=?, note=?, reviewed_at=? WHERE key=?", status,
                   note, time.time(), key)

    def prior_revision(self, key: str) -> str | None:
        """The latest earlier revision of the same series (same author and name)."""
        row = self.q("SELECT name, author, revision FROM series WHERE key=?", key).fetchone()
        if not row or not row[0]:
            return None
        prev = self.q("SELECT key FROM series WHERE name=? AND author=? AND revision<? "
                      "AND status IN ('replying','done') ORDER BY revision DESC LIMIT 1",
                      *row).fetchone()
        return prev[0] if prev else None

    # -- findings ------------------------------------------------------------------------
    def findings_of(self, series: str) -> dict[str, tuple[str, int]]:
        return {r[0]: (r[1], r[2]) for r in self.q(
            "SELECT identity, status, mailed FROM findings WHERE series=? "
            "AND status!='addressed'", series)}

    def add_finding(self, series: str, identity: str, patch: str, rule: str, message: str,
                    status: str, mailed: bool) -> None:
        self.q("INSERT OR REPLACE INTO findings VALUES(?,?,?,?,?,?,?)", series, identity,
               patch, rule, message, status, int(mailed))

    # -- replies -------------------------------------------------------------------------
    def add_reply(self, msgid: str, series: str, patch: str, raw: bytes, rcpts: list[str],
                  status: str = "queued") -> None:
        now = time.time()
        self.q("INSERT OR IGNORE INTO replies(msgid, series, patch, status, raw, rcpts, "
               "created, updated) VALUES(?,?,?,?,?,?,?,?)", msgid, series, patch, status,
               raw, "\n".join(rcpts), now, now)

    def set_reply(self, msgid: str, status: str, error: str = "") -> None:
        self.q("UPDATE replies SET status=?, updated=?, last_error=?, "
               "attempts=attempts+(?='queued') WHERE msgid=?", status, time.time(), error,
               status, msgid)

    def replies_with(self, status: str) -> list[tuple]:
        return self.q("SELECT msgid, series, raw, rcpts, updated FROM replies WHERE status=? "
                      "ORDER BY created, msgid", status).fetchall()

    def add_own_reply(self, parent: str, msgid: str) -> None:
        self.q("INSERT OR IGNORE INTO own_replies VALUES(?,?)", parent, msgid)

    def replied_to(self, parent: str) -> bool:
        """The archive holds a reply of the bot's to `parent` (whatever its Message-ID)."""
        return self.q("SELECT 1 FROM own_replies WHERE parent=?", parent).fetchone() is not None

    def reply_status(self, msgid: str) -> str | None:
        row = self.q("SELECT status FROM replies WHERE msgid=?", msgid).fetchone()
        return row[0] if row else None
