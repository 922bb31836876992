"""mboxrd reading and writing (the format lore, public-inbox and b4 use).

mboxrd escapes every body line matching ``^>*From `` with one more ``>``, so
the transformation is reversible, unlike mboxo.
"""
from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Iterable

_FROM_LINE = b"From mboxrd@z Thu Jan  1 00:00:00 1970\n"
_ESCAPE = re.compile(rb"^(>*From )", re.M)
_UNESCAPE = re.compile(rb"^>(>*From )", re.M)
_SEPARATOR = re.compile(rb"^From [^\n]*\n", re.M)


def as_bytes(msg: bytes | str | Message) -> bytes:
    if isinstance(msg, bytes):
        return msg
    if isinstance(msg, str):
        return msg.encode()
    return msg.as_bytes(policy=email.policy.SMTP.clone(linesep="\n"))


def mboxrd_bytes(messages: Iterable[bytes | str | Message]) -> bytes:
    """Join raw messages into one mboxrd byte string (LF line ends)."""
    out = bytearray()
    for m in messages:
        raw = as_bytes(m).replace(b"\r\n", b"\n")
        if raw.startswith(b"From "):
            raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""   # drop an existing From_ line
        body = _ESCAPE.sub(rb">\1", raw)
        if not body.endswith(b"\n"):
            body += b"\n"
        out += _FROM_LINE + body + b"\n"
    return bytes(out)


def write_mboxrd(path: str | Path, messages: Iterable[bytes | str | Message]) -> Path:
    """Write `messages` (raw bytes, str or email.message objects) as an mboxrd file."""
    path = Path(path)
    path.write_bytes(mboxrd_bytes(messages))
    return path


def split_mboxrd(data: bytes) -> list[bytes]:
    """Split mboxrd bytes into raw messages (From_ lines removed, escapes undone)."""
    data = data.replace(b"\r\n", b"\n")
    # mboxrd escapes every body line that starts with "From ", so each one left is a separator
    starts = [m.start() for m in _SEPARATOR.finditer(data)]
    msgs = []
    for i, s in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[s:end]
        chunk = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        if chunk.endswith(b"\n\n"):
            chunk = chunk[:-1]          # the blank line that precedes the next From_
        msgs.append(_UNESCAPE.sub(rb"\1", chunk))
    return msgs


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def read_mboxrd(path: str | Path) -> list[EmailMessage]:
    return [parse(r) for r in split_mboxrd(Path(path).read_bytes())]


def msgid(msg: Message) -> str:
    """The Message-ID without angle brackets ('' if none)."""
    return str(msg.get("Message-ID", "")).strip().strip("<>")


def threads(messages: Iterable[Message]) -> list[set[str]]:
    """Group message-ids into threads by In-Reply-To/References (union-find),
    as public-inbox does.  Returns only sets that contain a message present."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    present = []
    for m in messages:
        mid = msgid(m)
        present.append(mid)
        refs = re.findall(r"<([^<>\s]+)>", f"{m.get('References', '')} {m.get('In-Reply-To', '')}")
        for r in refs:
            parent[find(r)] = find(mid)
        find(mid)
    groups: dict[str, set[str]] = {}
    for mid in present:
        groups.setdefault(find(mid), set()).add(mid)
    return list(groups.values())
