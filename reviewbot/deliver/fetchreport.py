"""Run `reviewbot review`'s pipeline for another subcommand and keep the mail it fetched, which
the reply and checklist renderers quote from."""
from __future__ import annotations

from email.message import Message

from reviewbot.findings import Report


def report_and_mails(args) -> tuple[Report, dict[str, Message]]:
    import reviewbot.review as review
    captured: list = []
    fetch = review.fetch_thread

    # build_report fetches inside; wrapping its fetch keeps one fetch and one code path
    def keep(*a, **kw):
        result = fetch(*a, **kw)
        captured.append(result[1])
        return result

    review.fetch_thread = keep
    try:
        report = review.build_report(args)
    finally:
        review.fetch_thread = fetch
    mails = {}
    for msgs in captured:
        for m in msgs:
            mid = str(m.get("Message-ID", "")).strip().strip("<>")
            if mid:
                mails.setdefault(mid, m)
    return report, mails
