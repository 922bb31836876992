"""What people already said in the thread: a finding whose site a human reply has raised is
marked with that reply, so the bot refers to it instead of asking the same question again."""
from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import parseaddr

from reviewbot.findings import Finding
from reviewbot.mail import body_text

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ATTRIBUTION = re.compile(r"\b(wrote|writes|said):\s*$")
_PATCH = re.compile(r"^(diff --git |@@ -\d)", re.M)
MAX_EXCERPT = 160


@dataclass(frozen=True)
class Remark:
    """One stretch of a reply's own text, with the quoted lines it answers."""
    msgid: str
    author: str
    quote: str
    text: str

    def to_dict(self, about: str = "") -> dict[str, str]:
        """The reply, and the first sentence of its text that names `about` (else its first)."""
        flat = " ".join(self.text.split())
        sentences = re.split(r"(?<=[.?!])\s+", flat)
        first = next((x for x in sentences if about and about in x), sentences[0])
        if len(first) > MAX_EXCERPT:
            first = first[:MAX_EXCERPT - 3].rstrip() + "..."
        return {"msgid": self.msgid, "author": self.author, "excerpt": first}


def _automated(msg: Message) -> bool:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    return auto not in ("", "no") or str(msg.get("X-Mailer", "")).lower().startswith("reviewbot")


def remarks(messages: list[Message], patch_ids: set[str]) -> list[Remark]:
    """Every reply's own text, block by block, in thread order; patches, cover letters and
    automated mail (this bot's included) are not remarks."""
    out = []
    for msg in messages:
        mid = str(msg.get("Message-ID", "")).strip().strip("<>")
        if not mid or mid in patch_ids or _automated(msg):
            continue
        name, addr = parseaddr(str(msg.get("From", "")))
        author = " ".join((name or addr).split())
        body = body_text(msg)
        if _PATCH.search(body):                # a patch of another revision, or a -fix
            continue
        quote: list[str] = []
        own: list[str] = []
        for line in body.splitlines():
            if line.rstrip() == "--":          # the signature: nothing after it is review
                break
            if line.lstrip().startswith(">"):
                if own:
                    out.append(Remark(mid, author, "\n".join(quote), "\n".join(own)))
                    quote, own = [], []
                quote.append(line.lstrip()[1:])
            elif line.strip() and not _ATTRIBUTION.search(line):
                own.append(line.strip())
        if own:
            out.append(Remark(mid, author, "\n".join(quote), "\n".join(own)))
    return out


def _subject(f: Finding) -> set[str]:
    """The names a finding is about: the identifiers of its key's first part (the member as
    struct.member, the bit), long enough not to be a common word."""
    head = f.key.split(":", 1)[0]
    return {w for w in _IDENT.findall(head) if len(w) > 3 and "_" in w}


def _names(text: str) -> set[str]:
    return set(_IDENT.findall(text))


def raised_by(f: Finding, said: list[Remark]) -> list[Remark]:
    """The remarks that raise this finding's site: their own text names the finding's function
    (or, for a finding on a file, its path), and the finding's subject appears in that text or
    in the lines it answers."""
    subject = _subject(f)
    if not subject or not (f.function or f.file):
        return []
    hits = []
    for r in said:
        own = _names(r.text)
        here = f.function in own if f.function else f.file in r.text
        if here and (subject & own or subject & _names(r.quote)):
            hits.append(r)
    return hits


def annotate(findings: list[Finding], messages: list[Message], patch_ids: set[str]) -> None:
    """Record on each finding the replies that already raised it (first one per message)."""
    said = remarks(messages, patch_ids)
    if not said:
        return
    for f in findings:
        seen: dict[str, Remark] = {}
        for r in raised_by(f, said):
            seen.setdefault(r.msgid, r)
        f.raised_in = [r.to_dict(f.function or f.file) for r in seen.values()]
