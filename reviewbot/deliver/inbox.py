"""Following a public-inbox v2 mirror with GitPython: the epoch repos' new commits, each
adding one blob `m` (one message), and a fast header-only triage of each message."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Iterator

import git

from reviewbot.mail import (header_msgid, msgid_list, normalise_addr, one_line,
                            parse_addresses, subject_name, subject_tags)

log = logging.getLogger("reviewbot.inbox")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEADER_LIMIT = 64 * 1024            # triage reads headers only, and only this much


class InboxError(Exception):
    """An epoch that cannot be read; the message names the repository."""


@dataclass
class NewBlob:
    epoch: str          # e.g. "0"
    commit: str
    blob: str


@dataclass
class Triage:
    """What the header says a message is: patch, cover, discussion, ignored or malformed."""
    kind: str
    msgid: str = ""
    sender: str = ""
    subject: str = ""
    n: int = 0
    total: int = 0
    revision: int = 1
    root: str = ""
    reason: str = ""
    own: bool = False        # one of the bot's own replies (by address, X-Mailer or Message-ID)
    parent: str = ""         # its In-Reply-To

    @property
    def series_key(self) -> str:
        return f"{self.root}#{self.sender}#v{self.revision}"


class Inbox:
    """The epochs of one v2 inbox directory (`git/0.git`, `git/1.git`, ...), or one bare
    epoch repo given directly."""

    def __init__(self, path: str | Path):
        p = Path(path)
        if (p / "git").is_dir():
            epochs = sorted((d for d in (p / "git").glob("*.git") if d.name[:-4].isdigit()),
                            key=lambda d: int(d.name[:-4]))
        elif p.name.endswith(".git") and p.is_dir():
            epochs = [p]
        else:
            raise FileNotFoundError(f"{p}: not a public-inbox v2 inbox (no git/N.git)")
        self.path = p
        self.repos = {d.name[:-4]: git.Repo(d) for d in epochs}

    def refresh(self) -> None:
        """Pick up epochs created since start (a v2 inbox rolls over to a new one)."""
        if (self.path / "git").is_dir():
            for d in (self.path / "git").glob("*.git"):
                if d.name[:-4].isdigit() and d.name[:-4] not in self.repos:
                    self.repos[d.name[:-4]] = git.Repo(d)

    def head(self, epoch: str) -> str | None:
        """The epoch's newest commit; None for an empty epoch; raises InboxError when HEAD
        names a ref that exists but cannot be read (a corrupt ref is not an empty epoch)."""
        repo = self.repos[epoch]
        try:
            return repo.git.rev_parse("--verify", "-q", "HEAD")
        except git.GitCommandError:
            pass
        gitdir = Path(repo.git_dir)
        try:
            head = (gitdir / "HEAD").read_text(errors="replace").strip()
        except OSError:
            head = ""
        ref = head[5:].strip() if head.startswith("ref: ") else ""
        packed = gitdir / "packed-refs"
        exists = bool(ref) and ((gitdir / ref).exists() or (packed.exists() and any(
            l.endswith(" " + ref) for l in packed.read_text(errors="replace").splitlines())))
        if exists or not ref:
            raise InboxError(f"{gitdir}: HEAD ({ref or 'detached'}) cannot be read")
        return None                         # empty epoch: its branch has no commit yet

    def new_blobs(self, epoch: str, since: str | None) -> Iterator[NewBlob]:
        """Blobs added by commits after `since` (oldest first); from the start when `since`
        is unknown or no longer an ancestor (history rewritten by a purge)."""
        repo = self.repos[epoch]
        head = self.head(epoch)
        if head is None or head == since:
            return
        rng = head
        if since:
            try:
                repo.git.merge_base("--is-ancestor", since, head)
                rng = f"{since}..{head}"
            except git.GitCommandError:
                log.warning("epoch %s: %s is not an ancestor of %s; rescanning", epoch,
                            since[:12], head[:12])
        out = repo.git.log("--reverse", "--format=%H", "--raw", "--no-abbrev",
                           "--no-renames", rng)
        commit = ""
        for line in out.split("\n"):
            if _HEX40.match(line):
                commit = line
            elif line.startswith(":"):
                meta, _, path = line.partition("\t")
                fields = meta.split()
                if path == "m" and fields[-1] in ("A", "M"):
                    yield NewBlob(epoch, commit, fields[3])

    def read(self, epoch: str, blob: str, limit: int) -> bytes | None:
        """The message bytes, or None when larger than `limit` (a huge message is skipped)."""
        odb = self.repos[epoch].odb
        binsha = bytes.fromhex(blob)
        if odb.info(binsha).size > limit:
            return None
        return odb.stream(binsha).read()

    def close(self) -> None:
        for r in self.repos.values():
            r.close()


_parser = BytesHeaderParser(policy=compat32)


@dataclass
class LoopGuard:
    """What tells the bot's own mail, other robots' mail and list loops apart."""
    own_address: str = ""
    list_address: str = ""           # the list whose archive this is

    @property
    def own_domain(self) -> str:
        return self.own_address.rpartition("@")[2].lower()


def _loop_reason(hdr, guard: LoopGuard) -> str:
    """Why a message must not be answered, from headers other than From ('' if none)."""
    auto = one_line(hdr.get("Auto-Submitted", "")).lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto}"
    prec = one_line(hdr.get("Precedence", "")).lower()
    if prec in ("bulk", "junk", "list"):
        return f"Precedence: {prec}"
    own = normalise_addr(guard.own_address)
    for v in hdr.get_all("X-Loop", []) or []:
        if own and own in normalise_addr(v):
            return "X-Loop names the bot"
    for v in hdr.get_all("X-Mailing-List", []) or []:
        addrs = [normalise_addr(a) for _, a in parse_addresses(one_line(v).strip("<>"))]
        if guard.list_address and addrs and normalise_addr(guard.list_address) not in addrs:
            return f"relayed by another list (X-Mailing-List: {one_line(v)})"
    return ""


def _is_own(hdr, msgid: str, sender: str, guard: LoopGuard) -> bool:
    """The bot's own reply, also behind a From the list rewrote (DMARC munging)."""
    if guard.own_address and sender == normalise_addr(guard.own_address):
        return True
    if one_line(hdr.get("X-Mailer", "")).lower().startswith("reviewbot "):
        return True
    return bool(guard.own_domain) and msgid.startswith("reviewbot-") and \
        msgid.lower().endswith("@" + guard.own_domain)


def triage(raw: bytes, ignore_from: set[str], guard: LoopGuard | None = None) -> Triage:
    """Classify from the headers alone; never raises."""
    try:
        end = raw.find(b"\n\n", 0, _HEADER_LIMIT)
        hdr = _parser.parsebytes(raw[:end if end >= 0 else _HEADER_LIMIT])
        msgid = header_msgid(hdr)
        if not msgid or " " in msgid:
            return Triage("malformed", reason="no usable Message-ID")
        senders = parse_addresses(str(hdr.get("From", "")))
        sender = normalise_addr(senders[0][1]) if senders else ""
        subject = one_line(_decode(hdr.get("Subject", "")))
        t = Triage("discussion", msgid=msgid, sender=sender, subject=subject)
        if not sender:
            t.kind, t.reason = "malformed", "no usable From address"
            return t
        guard = guard or LoopGuard()
        if _is_own(hdr, msgid, sender, guard):
            t.kind, t.reason, t.own = "ignored", "the bot's own mail", True
            t.parent = header_msgid(hdr, "In-Reply-To")
            return t
        if sender in ignore_from:
            t.kind, t.reason = "ignored", "muted sender or a bot"
            return t
        loop = _loop_reason(hdr, guard)
        if loop:
            t.kind, t.reason = "ignored", loop
            return t
        # an RFC series is reviewed like a PATCH one
        is_patch, n, total, rev = subject_tags(subject, rfc=True)
        if not is_patch:
            return t
        if total > 0 and n > total:
            t.kind, t.reason = "malformed", f"patch {n}/{total}"
            return t
        refs = msgid_list(hdr.get("References", "")) or msgid_list(hdr.get("In-Reply-To", ""))
        t.kind = "cover" if n == 0 else "patch"
        t.n, t.total, t.revision = n, total, rev
        # the thread root names the series (a v2 sent in reply to v1 shares v1's root, so
        # the revision is part of the key); a lone patch is its own series
        t.root = msgid if (n == 1 and total <= 1) or not refs else refs[0]
        return t
    except Exception as e:                  # a header the parser chokes on
        return Triage("malformed", reason=f"unparsable headers: {e.__class__.__name__}")


def _decode(value) -> str:
    from email.header import decode_header, make_header
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:
        return str(value)


def series_name(t: Triage) -> str:
    return subject_name(t.subject).lower()
