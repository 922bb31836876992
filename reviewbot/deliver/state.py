"""The bot's memory in SQLite: archive cursors, messages seen, series, replies and findings.

Replies are recorded before and after sending (queued -> sending -> sent) so a crash in
between is visible on restart; every change is committed before the next side effect.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS findings(
    series TEXT, identity TEXT, patch TEXT, rule TEXT, message TEXT, status TEXT,
    mailed INTEGER DEFAULT 0, PRIMARY KEY(series, identity));
"""


class State:
    def __init__(self, path: str | Path):
        self.path = str(path)
        # isolation_level=None: transactions are explicit, so nothing commits by surprise
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- transactions -----------------------------------------------------------------
    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, *exc):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")

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

    def series_with(self, status: str) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        try:
            return self.q("SELECT * FROM series WHERE status=? ORDER BY first_seen, key",
                          status).fetchall()
        finally:
            self.db.row_factory = None

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

    def reply_status(self, msgid: str) -> str | None:
        row = self.q("SELECT status FROM replies WHERE msgid=?", msgid).fetchone()
        return row[0] if row else None
