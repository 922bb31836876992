"""Subject parsing as the bot's triage does it: b4's LoreSubject on every subject, against
mail.subject_tags (b4 only for a subject starting with '[', the rest decided at once), on the
bundled and shared threads plus N synthetic subjects mixed as in bench/bot_triage.py (1 in 12
a patch); prints agreement and microseconds a subject, and b4's Message-ID reading a message.

usage: .venv/bin/python bench/mail_parsing.py [N]        (default 20000)
"""
from __future__ import annotations

import email
import email.policy
import mailbox
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import b4  # noqa: E402

from reviewbot import corpus, mail  # noqa: E402

SHARED = ROOT.parent / "shared" / "threads"


def messages() -> list:
    paths = [corpus.thread_path(n) for n in corpus.list_threads()]
    paths += sorted(SHARED.glob("*.mbox")) if SHARED.is_dir() else []
    out = []
    for p in paths:
        for m in mailbox.mbox(str(p), factory=None):
            out.append(email.message_from_bytes(m.as_bytes(), policy=email.policy.default))
    return out


def b4_tags(subject: str) -> tuple[bool, int, int, int]:
    s = b4.LoreSubject(subject)
    if not s.patch or s.reply:
        return False, 0, 0, 1
    return True, s.counter, s.expected, s.revision


def timed(fn, items, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for x in items:
            fn(x)
        best = min(best, time.perf_counter() - t0)
    return best / len(items) * 1e6


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 20000
    msgs = messages()
    subjects = [str(m.get("Subject", "")) for m in msgs]
    subjects += [f"[PATCH v{1 + i % 3} {i % 8}/8] mm: fault {i}" if i % 12 == 0 else
                 f"Re: [PATCH {i % 5}/5] mm: thing {i}" for i in range(n)]
    same = sum(mail.subject_tags(s) == b4_tags(s) for s in subjects)
    print(f"subjects: {len(subjects)}; mail.subject_tags and b4.LoreSubject agree on {same}")
    print(f"  b4.LoreSubject on every subject: {timed(b4_tags, subjects):.1f} us a subject")
    print(f"  mail.subject_tags (fast path):   {timed(mail.subject_tags, subjects):.1f} us a "
          "subject")
    ids = [m for m in msgs if m.get("Message-ID")]
    print(f"message-ids: {len(ids)}; b4's get_clean_msgid (mail.header_msgid): "
          f"{timed(mail.header_msgid, ids):.1f} us a message")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
