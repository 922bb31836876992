"""Reading one patch mail for quoting and triage: safe headers, addresses, subject tags, the
changelog/diff split, and its diff (parsed by reviewbot.diff: one diff model).

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
MAX_COMMENT_DEPTH = 32           # (comments (in a header)): its header parser recurses per level
_MIME_TOKEN = re.compile(rb'(?im)\bboundary\s*=\s*"?([^"\s;]+)|^--(\S+?)--[ \t\r]*$')
_PAREN = re.compile(rb"[()]")
_ADDR_RE = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9.-]+$")


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


def header_msgid(msg: Message, name: str = "Message-ID") -> str:
    """The bare message-id in one header of `msg`, as b4 reads it (liblore's get_clean_msgid:
    from the raw value, so `(` or `"` inside an id survive); '' if none."""
    import b4
    try:
        return one_line(b4.LoreMessage.get_clean_msgid(msg, name) or "")
    except Exception:                   # a header the parser chokes on: no id
        return ""


def msgid_list(value: object) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", one_line(value))


def subject_tags(subject: str, rfc: bool = False) -> tuple[bool, int, int, int]:
    """(is a patch, n, m, revision) from a subject such as '[PATCH v2 3/7] mm: ...', as b4's
    LoreSubject reads it; a reply is not a patch. With `rfc`, '[RFC n/m]' (no PATCH word)
    is one too. A subject not starting with '[' has no tags: that is decided without b4,
    as the bot's triage reads every message (bench/mail_parsing.py)."""
    if not one_line(subject).startswith("["):
        return False, 0, 0, 1
    import b4
    s = b4.LoreSubject(subject)
    if s.reply or not (s.patch or (rfc and s.rfc and not s.counters_inferred)):
        return False, 0, 0, 1
    return True, s.counter, s.expected, s.revision


def subject_name(subject: str) -> str:
    """The subject without its [PATCH ...] prefixes (b4's LoreSubject.subject): what stays the
    same across revisions."""
    import b4
    return one_line(b4.LoreSubject(one_line(subject)).subject)


MBOXRD_FROM = b"From mboxrd@z Thu Jan  1 00:00:00 1970\n"


def mboxrd_entry(raw: bytes) -> bytes:
    """One message as an mboxrd entry: the From_ line, then the message with every line that
    reads `From ` after any number of `>` given one more `>`, ending in a newline."""
    out = [MBOXRD_FROM]
    for line in raw.splitlines(keepends=True):
        out.append(b">" + line if line.lstrip(b">").startswith(b"From ") else line)
    body = b"".join(out)
    return body if body.endswith(b"\n") else body + b"\n"


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


def comment_depth(raw: bytes) -> int:
    """How deep parenthesised comments nest in the header fields of one message (its own and
    those of each MIME part), read from the raw bytes without recursion."""
    bounds = {b"--" + m.group(1) for m in _MIME_TOKEN.finditer(raw) if m.group(1) is not None}
    deepest = depth = 0
    in_header = True
    for line in raw.split(b"\n"):
        line = line.rstrip(b"\r")
        if not in_header:
            in_header = line.rstrip(b"-") in bounds or line in bounds
            continue
        if not line.strip():
            in_header = False
            continue
        if not line[:1].isspace():
            depth = 0                       # a new field
        for m in _PAREN.finditer(line):     # a scan of the brackets, not of every byte
            if m.group() == b"(":
                depth += 1
                deepest = max(deepest, depth)
            elif depth:
                depth -= 1
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
    depth = comment_depth(raw)
    if depth > MAX_COMMENT_DEPTH:
        raise ReviewbotError(where, f"header comments nested {depth} deep, past the budget of "
                             f"{MAX_COMMENT_DEPTH}")
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
class PatchMail:
    """One mail as a reply quotes and addresses it: safe headers, the changelog, and its diff
    (reviewbot.diff's FileDiff and Hunk: the one diff model)."""
    msgid: str
    subject: str
    author: tuple[str, str]
    date: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    references: list[str]
    in_reply_to: str
    list_id: str
    changelog: str = ""
    diff: list = field(default_factory=list)       # reviewbot.diff.FileDiff each

    @property
    def recipients(self) -> list[tuple[str, str]]:
        return parse_addresses(*(format_addr(a) for a in self.to + self.cc))

    @property
    def hunks(self) -> list:
        return [h for f in self.diff for h in f.hunks]

    def files(self) -> list[str]:
        return sorted({f.path for f in self.diff if f.hunks})


def mail_headers(msg: Message, changelog: str = "", diff: list | None = None) -> PatchMail:
    """A mail's headers made safe; the changelog and parsed diff come from the caller (the
    review's series and diffs), so the body is not read again."""
    def hdr(name: str) -> str:
        try:
            return one_line(msg.get(name, ""))
        except Exception:                       # a header that cannot be decoded is empty
            return ""

    authors = parse_addresses(hdr("From"))
    return PatchMail(msgid=header_msgid(msg), subject=hdr("Subject"),
                     author=authors[0] if authors else ("", ""), date=hdr("Date"),
                     to=parse_addresses(hdr("To")), cc=parse_addresses(hdr("Cc")),
                     references=msgid_list(hdr("References")),
                     in_reply_to=header_msgid(msg, "In-Reply-To"),
                     list_id=hdr("List-Id"), changelog=changelog, diff=diff or [])


def parse_patch_mail(msg: Message) -> PatchMail:
    """A mail nobody has parsed yet (b4-check's stdin, a report read back from JSON): its
    headers, and its body split and its diff parsed; never raises on odd input."""
    changelog, diff = split_body(body_text(msg))
    return mail_headers(msg, changelog, parse_diff(diff))


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


def parse_diff(diff: str) -> list:
    """The diff's files (reviewbot.diff.FileDiff); an unreadable diff quotes nothing."""
    from reviewbot.diff import parse_diff_text
    from reviewbot.errors import ReviewbotError
    try:
        return parse_diff_text(diff, "diff") if diff.strip() else []
    except ReviewbotError:
        return []


def report_mails(report, mails: dict | None = None) -> dict[str, PatchMail]:
    """The mails of a review (`report.messages` unless given) as PatchMails: headers from each
    mail; the changelog and the diff from the review's own series and diffs, not read again.
    Only a mail the review did not parse (a report read back from JSON) is parsed here."""
    mails = report.messages if mails is None else mails
    diffs = {d.patch.msgid: d for d in report.diffs}
    series = report.series
    covers = {series.cover.msgid: series.cover} if series is not None and series.cover else {}
    out: dict[str, PatchMail] = {}
    for mid, m in mails.items():
        if isinstance(m, PatchMail):
            out[mid] = m
        elif mid in diffs:
            d = diffs[mid]
            out[mid] = mail_headers(m, d.patch.changelog.strip("\n"), d.mail_files)
        elif mid in covers:
            out[mid] = mail_headers(m, covers[mid].changelog.strip("\n"))
        else:
            out[mid] = parse_patch_mail(m)
    return out
