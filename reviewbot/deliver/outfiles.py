"""Files delivery writes: .eml replies (temporary name, fsync, rename, so a full disk never
leaves a short file behind) and the append-only log of replies `reply --send` sent."""
from __future__ import annotations

import os
from pathlib import Path

from reviewbot.errors import ReviewbotError


def check_outdir(path: Path, where: str) -> None:
    """Refuse an output directory that cannot be one before any work is done."""
    p = path
    while not p.exists():
        if p.is_symlink():
            raise ReviewbotError(f"{where}: {path}", f"{p} is a dangling symbolic link")
        if p.parent == p:
            break
        p = p.parent
    if not p.is_dir():
        raise ReviewbotError(f"{where}: {path}", f"{p} is not a directory")
    if not os.access(p, os.W_OK | os.X_OK):
        raise ReviewbotError(f"{where}: {path}", f"{p} is not writable")


def check_outfile(path: Path, where: str) -> None:
    """Refuse an output file that cannot be written before any work is done."""
    if path.is_dir():
        raise ReviewbotError(f"{where}: {path}", "is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise ReviewbotError(f"{where}: {path}", f"{parent} is not a directory"
                             if parent.exists() else f"{parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReviewbotError(f"{where}: {path}", f"{parent} is not writable")


def write_atomic(path: Path, data: bytes, where: str = "") -> None:
    """`path` holds all of `data` or is left as it was; raises ReviewbotError naming it."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise ReviewbotError(f"{where + ': ' if where else ''}{path}",
                             e.strerror or str(e)) from None


class SentLog:
    """Lines '<status> <message-id>', appended and fsynced; the last line for an id wins."""

    def __init__(self, path: Path):
        self.path = path
        self.status_of: dict[str, str] = {}
        try:
            for line in path.read_text(errors="replace").splitlines():
                status, _, mid = line.partition(" ")
                if mid:
                    self.status_of[mid] = status
        except FileNotFoundError:
            pass
        except OSError as e:
            raise ReviewbotError(f"--sent-log: {path}", e.strerror or str(e)) from None

    def status(self, msgid: str) -> str | None:
        s = self.status_of.get(msgid)
        return None if s == "failed" else s

    def record(self, msgid: str, status: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, f"{status} {msgid}\n".encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise ReviewbotError(f"--sent-log: {self.path}", e.strerror or str(e)) from None
        self.status_of[msgid] = status
