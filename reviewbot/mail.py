"""Reading one patch mail for quoting and triage: safe headers, addresses, subject tags, the
changelog/diff split, and the hunks (parsed by reviewbot.diff) with their line numbers.

Shared by the renderers and by delivery (so render/ never imports deliver/); knows nothing of C.
"""
from __future__ import annotations

import email
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from email.message import Message

MAX_BODY = 4 * 1024 * 1024       # bodies beyond this are cut: a huge mail must stay bounded
# Budgets (README, "Budgets"), checked on the raw bytes before any parser sees them
MAX_MESSAGE = 4 * 1024 * 1024    # one message: a patch mail is never this big
MAX_MIME_DEPTH = 32              # multipart levels: Python's email parser recurses per level
_MIME_TOKEN = re.compile(rb'(?im)\bboundary\s*=\s*"?([^"\s;]+)|^--(\S+?)--[ \t\r]*$')
_ADDR_RE = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9.-]+$")
_PATCH_RE = re.compile(r"^\s*(?:re:\s*)*\[([^\]]*\bPATCH\b[^\]]*)\]", re.I)
_NM_RE = re.compile(r"\b(\d+)\s*/\s*(\d+)\b")
_REV_RE = re.compile(r"\bv(\d+)\b", re.I)


def one_line(value: object) -> str:
    """A header value with CR, LF and other controls folded to spaces: no header injection."""
    text = "" if value is None else str(value)
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())


def normalise_addr(addr: str) -> str:
    """The comparison form of a mailbox: lower case, stripped."""
    return one_line(addr).strip().strip("<>").lower()


def parse_addresses(*values: object) -> list[tuple[str, str]]:
    """(display name, address) pairs from header values; invalid addresses are dropped."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    raw = [one_line(v) for v in values if v]
    for name, addr in email.utils.getaddresses(raw):
        addr = addr.strip()
        if not _ADDR_RE.match(addr):
            continue
        key = normalise_addr(addr)
        if key in seen:
            continue
        seen.add(key)
        out.append((one_line(name).replace('"', "'"), addr))
    return out


def format_addr(pair: tuple[str, str]) -> str:
    return email.utils.formataddr(pair)


def parse_msgid(value: object) -> str:
    """The bare message-id from a header value or a lore URL fragment ('' if none)."""
    text = one_line(value)
    m = re.search(r"<([^<>\s]+)>", text)
    return m.group(1) if m else text.strip("<> ")


def message_id(msg: Message) -> str:
    """A message's own Message-ID as b4 (and so `review`) reads it: the one parser for every
    command; Python's header parser cuts `<a(b)c@x.org>` short."""
    try:
        import liblore.utils
        found = liblore.utils.get_clean_msgid(msg, "Message-Id")
    except Exception:       # a header b4 cannot read: the plain form, if any
        found = None
    if found:
        return one_line(found)
    try:
        return parse_msgid(msg.get("Message-ID", ""))
    except Exception:
        return ""


def msgid_list(value: object) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", one_line(value))


def subject_tags(subject: str) -> tuple[bool, int, int, int]:
    """(is a patch, n, m, revision) from a subject such as '[PATCH v2 3/7] mm: ...'."""
    m = _PATCH_RE.match(subject or "")
    if not m or re.match(r"^\s*re:", subject, re.I):
        return False, 0, 0, 1
    tag = m.group(1)
    nm = _NM_RE.search(tag)
    rev = _REV_RE.search(tag)
    n, total = (int(nm.group(1)), int(nm.group(2))) if nm else (1, 1)
    return True, n, total, int(rev.group(1)) if rev else 1


def subject_name(subject: str) -> str:
    """The subject without its [PATCH ...] prefix: what stays the same across revisions."""
    return re.sub(r"^\s*\[[^\]]*\]\s*", "", one_line(subject)).strip()


def message_from_bytes(raw: bytes) -> Message:
    return email.message_from_bytes(raw[:MAX_BODY + 65536], policy=email.policy.compat32)


def mime_depth(raw: bytes) -> int:
    """How deep multipart parts nest in one message, read from the raw bytes without
    recursion: each `boundary=` opens a level, its `--boundary--` line closes it."""
    open_: list[bytes] = []
    deepest = 0
    for m in _MIME_TOKEN.finditer(raw):
        if m.group(1) is not None:
            open_.append(m.group(1))
            deepest = max(deepest, len(open_))
        elif m.group(2) in open_:
            del open_[open_.index(m.group(2)):]
    return deepest


def check_message(raw: bytes, where: str) -> bytes:
    """One raw message within the budgets, with CRLF line ends made LF (a mail saved from a
    Windows client must not read as a diff of other files); a ReviewbotError otherwise."""
    from reviewbot.errors import ReviewbotError
    if len(raw) > MAX_MESSAGE:
        raise ReviewbotError(where, f"a message of {len(raw) / 1048576:.1f} MiB, past the "
                             f"budget of {MAX_MESSAGE >> 20} MiB a message")
    depth = mime_depth(raw)
    if depth > MAX_MIME_DEPTH:
        raise ReviewbotError(where, f"MIME parts nested {depth} deep, past the budget of "
                             f"{MAX_MIME_DEPTH}")
    return raw.replace(b"\r\n", b"\n")


def read_message(raw: bytes, where: str) -> Message:
    """The one way a command turns raw bytes into a message: budgets first, then the parser."""
    return email.message_from_bytes(check_message(raw, where), policy=email.policy.default)


def body_text(msg: Message) -> str:
    """The first text/plain part, decoded with its charset (or replaced bytes), bounded."""
    part = msg
    if msg.is_multipart():
        part = next((p for p in msg.walk() if p.get_content_type() == "text/plain"
                     and not p.is_multipart()), None)
        if part is None:
            return ""
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = str(part.get_payload()).encode("utf-8", "replace")
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload[:MAX_BODY].decode(charset, "replace")
    except LookupError:
        text = payload[:MAX_BODY].decode("utf-8", "replace")
    return text.replace("\r\n", "\n")


@dataclass
class Hunk:
    """One @@ hunk: the file header lines above it and its lines with new-file numbers."""
    file: str
    file_header: list[str]
    head: str
    lines: list[str]
    new_numbers: list[int | None]     # new-file line of each line; None for '-' lines
    context: str = ""                 # the text after the second @@ (enclosing function)
    order: int = 0

    def index_of_line(self, line: int) -> int | None:
        for i, n in enumerate(self.new_numbers):
            if n == line:
                return i
        return None

    def covers(self, line: int) -> bool:
        nums = [n for n in self.new_numbers if n is not None]
        return bool(nums) and nums[0] <= line <= nums[-1]


@dataclass
class PatchMail:
    msgid: str
    subject: str
    author: tuple[str, str]
    date: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    references: list[str]
    in_reply_to: str
    list_id: str
    changelog: str
    diff: str
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def recipients(self) -> list[tuple[str, str]]:
        return parse_addresses(*(format_addr(a) for a in self.to + self.cc))

    def files(self) -> list[str]:
        return sorted({h.file for h in self.hunks})


def parse_patch_mail(msg: Message) -> PatchMail:
    """Split a patch mail into its parts; never raises on odd input, fields are just empty."""
    def hdr(name: str) -> str:
        try:
            return one_line(msg.get(name, ""))
        except Exception:                       # a header that cannot be decoded is empty
            return ""

    authors = parse_addresses(hdr("From"))
    body = body_text(msg)
    changelog, diff = split_body(body)
    refs = msgid_list(hdr("References"))
    irt = parse_msgid(hdr("In-Reply-To")) if hdr("In-Reply-To") else ""
    return PatchMail(msgid=message_id(msg), subject=hdr("Subject"),
                     author=authors[0] if authors else ("", ""), date=hdr("Date"),
                     to=parse_addresses(hdr("To")), cc=parse_addresses(hdr("Cc")),
                     references=refs, in_reply_to=irt, list_id=hdr("List-Id"),
                     changelog=changelog, diff=diff, hunks=parse_hunks(diff))


def split_body(body: str) -> tuple[str, str]:
    """(changelog, diff): the changelog ends at the first '---' line, the diff starts at
    the first 'diff --git' line; a trailing '-- ' signature is dropped from the diff."""
    lines = body.split("\n")
    start = next((i for i, l in enumerate(lines) if l.startswith("diff --git ")), None)
    if start is None:
        return body.strip("\n"), ""
    cut = next((i for i, l in enumerate(lines[:start]) if l.rstrip() == "---"), start)
    diff_lines = lines[start:]
    for i in range(len(diff_lines) - 1, -1, -1):
        if diff_lines[i] == "-- ":
            diff_lines = diff_lines[:i]
            break
    return "\n".join(lines[:cut]).strip("\n"), "\n".join(diff_lines).rstrip("\n") + "\n"


def parse_hunks(diff: str) -> list[Hunk]:
    """The quotable hunks of a diff; an unreadable diff quotes nothing."""
    from reviewbot.diff import parse_diff_text
    from reviewbot.errors import ReviewbotError
    try:
        files = parse_diff_text(diff, "diff") if diff.strip() else []
    except ReviewbotError:
        return []
    hunks: list[Hunk] = []
    for f in files:
        for h in f.hunks:
            hunks.append(Hunk(file=f.path, file_header=f.header, head=h.header,
                              lines=[k + t for k, t in h.lines], new_numbers=list(h.numbers),
                              context=h.section.strip(), order=len(hunks)))
    return hunks
