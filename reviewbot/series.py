"""Turn the messages of a thread into one patch series: cover letter, patches in order, revision,
trailers and `base-commit:`, with b4's own series assembly."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses

from reviewbot.errors import ReviewbotError

BASE_COMMIT = re.compile(r"^base-commit:\s*([0-9a-f]{7,40})\s*$", re.M)


@dataclass
class Patch:
    msgid: str
    subject: str            # as sent, with its [PATCH vN n/m] prefix
    title: str              # the subject without prefix
    index: int              # n of n/m (0: cover letter)
    total: int
    author: str             # "Name <addr>"
    author_email: str
    date: str
    body: str               # decoded body: changelog, ---, diffstat, diff
    headers: dict[str, str] = field(default_factory=dict)
    recipients: list[str] = field(default_factory=list)   # To + Cc addresses as sent
    references: list[str] = field(default_factory=list)
    trailers: list[str] = field(default_factory=list)

    @property
    def changelog(self) -> str:
        """The commit message: everything before the first `---` line."""
        return re.split(r"^---\s*$", self.body, maxsplit=1, flags=re.M)[0]

    @property
    def has_diff(self) -> bool:
        return bool(re.search(r"^(diff --git |--- \S)", self.body, re.M))


@dataclass
class Series:
    subject: str
    revision: int
    total: int
    cover: Patch | None
    patches: list[Patch]
    base_commit: str | None
    complete: bool
    revisions: list[int]
    followups: list[Patch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # numbering the subjects get wrong

    @property
    def msgid(self) -> str:
        return (self.cover or self.patches[0]).msgid


def _headers(msg: EmailMessage) -> list[tuple[str, str]]:
    """(name, value) of every header, decoded; a value Python's header parser cannot read (a
    mangled Message-ID raises IndexError inside it) is kept as it was sent."""
    out = []
    for k, raw in msg.raw_items():
        try:
            out.append((k, str(msg.policy.header_fetch_parse(k, raw))))
        except Exception:
            out.append((k, str(raw)))
    return out


def _patch_from(lmsg, index: int, total: int) -> Patch:
    msg: EmailMessage = lmsg.msg
    pairs = _headers(msg)
    headers = dict(pairs)
    rcpts = [addr for _n, addr in getaddresses([v for k, v in pairs if k.lower() in ("to", "cc")])
             if addr]
    author = f"{lmsg.fromname} <{lmsg.fromemail}>" if lmsg.fromname else lmsg.fromemail
    date = next((v for k, v in pairs if k.lower() == "date"), "")
    return Patch(msgid=lmsg.msgid, subject=" ".join(lmsg.full_subject.split()),
                 title=" ".join(lmsg.subject.split()), index=index, total=total, author=author,
                 author_email=lmsg.fromemail, date=date, body=lmsg.body,
                 headers=headers, recipients=rcpts, references=list(lmsg.references or []),
                 trailers=[f"{t.name}: {t.value}" for t in lmsg.trailers])


def parse_series(messages: list[EmailMessage], revision: int | None = None,
                 where: str = "thread", allow_incomplete: bool = False) -> Series:
    """Assemble the newest revision (or `revision`) of the series in `messages`."""
    import b4
    logging.getLogger("b4").setLevel(logging.CRITICAL)
    lmbx = b4.LoreMailbox()
    for msg in messages:
        try:
            lmbx.add_message(msg)
        except Exception:   # a message without Message-ID or with a broken header: not a patch
            continue
    if not lmbx.series:
        raise ReviewbotError(where, "no patch in this thread")
    revisions = sorted(lmbx.series)
    if revision is not None and revision not in lmbx.series:
        have = ", ".join(f"v{r}" for r in revisions)
        raise ReviewbotError(where, f"no revision v{revision} in this thread (it has {have})")
    lser = lmbx.get_series(revision, codereview_trailers=False, reroll=False)
    if lser is None:
        raise ReviewbotError(where, "no patch in this thread")
    total = lser.expected
    missing = [i for i in range(1, total + 1) if lser.patches[i] is None]
    if missing and not allow_incomplete:
        names = ", ".join(f"{i}/{total}" for i in missing)
        raise ReviewbotError(where, f"series v{lser.revision} is missing patch {names}")
    patches = [_patch_from(lser.patches[i], i, total) for i in range(1, total + 1)
               if lser.patches[i] is not None]
    for p in patches:
        if not p.has_diff:
            raise ReviewbotError(p.msgid, f"patch {p.index}/{total} carries no diff")
    cover = _patch_from(lser.patches[0], 0, total) if lser.patches[0] is not None else None
    base = lser.base_commit
    if not base:
        for p in ([cover] if cover else []) + patches:
            m = BASE_COMMIT.search(p.body)
            if m:
                base = m.group(1)
                break
    subject = (cover.title if cover else patches[0].title) if patches else lser.subject
    followups = []
    for fm in lmbx.followups:
        try:
            followups.append(_patch_from(fm, -1, total))
        except Exception:
            continue
    return Series(subject=subject, revision=lser.revision, total=total, cover=cover,
                  patches=patches, base_commit=base, complete=not missing,
                  revisions=revisions, followups=followups,
                  notes=numbering_notes(messages, lser.revision, total))


def numbering_notes(messages: list[EmailMessage], revision: int, total: int) -> list[str]:
    """What the subjects' n/m say that the assembled series cannot show: two mails with one
    number (b4 keeps one or renumbers), a number past its total, a total that is not the
    number of patches."""
    from reviewbot.mail import one_line, subject_tags
    claims: dict[tuple[int, int], list[str]] = {}
    for msg in messages:
        try:
            subject = one_line(msg.get("Subject", ""))
            mid = one_line(msg.get("Message-ID", "")).strip("<> ")
        except Exception:
            continue
        is_patch, n, m, rev = subject_tags(subject)
        # the numbers as written: b4 reads an implausible total such as 1/100000 as 1/1
        said = re.match(r"\s*\[[^\]]*?\b(\d+)\s*/\s*(\d+)\b[^\]]*\]", subject)
        if said:
            n, m = int(said.group(1)), int(said.group(2))
        if is_patch and rev == revision and said:
            claims.setdefault((n, m), [])
            if mid not in claims[(n, m)]:
                claims[(n, m)].append(mid)
    notes = []
    for (n, m), mids in sorted(claims.items()):
        if len(mids) > 1 and n > 0:
            notes.append(f"{len(mids)} mails are numbered [PATCH {n}/{m}] ("
                         + ", ".join(mids[:3]) + "): patches were numbered again in thread "
                         "order; check that the right one was reviewed")
        if n > m:
            notes.append(f"a subject says [PATCH {n}/{m}], a number past its total; reviewed "
                         f"as {n}/{total}")
        elif m != total and n > 0:
            notes.append(f"a subject says [PATCH {n}/{m}], but the series has {total} "
                         f"patch{'es' if total != 1 else ''}; reviewed as {n}/{total}")
    return notes
