"""`reviewbot reply MSGID`: the replies reviewbot would send to the list for a series, one per
patch with findings, printed as an mbox, written as .eml files (--outdir) or sent (--send,
through SMTP configured like git send-email: sendemail.smtpServer, ... and reviewbot.*).
Takes the same options as `reviewbot review`."""
from __future__ import annotations

import sys
from pathlib import Path

from reviewbot.config import git_config
from reviewbot.errors import ReviewbotError


def add_arguments(p) -> None:
    from reviewbot.review_cmd import add_arguments as review_arguments
    review_arguments(p)
    g = p.add_argument_group("replies")
    g.add_argument("--outdir", metavar="DIR", help="write one .eml file per reply into DIR")
    g.add_argument("--send", action="store_true", help="send the replies through SMTP")
    g.add_argument("--from", dest="sender", metavar="ADDR", help="From: address (default: "
                   "reviewbot.from, sendemail.from, then git's user.name/user.email)")
    g.add_argument("--list", dest="lists", action="append", metavar="ADDR",
                   help="a list address the series was posted to (reviewbot.list; repeatable)")
    g.add_argument("--recipients", choices=("all", "author+lists", "author"), default=None,
                   help="who gets the replies (default all: author, lists, and the "
                   "patch's Cc that --allow-cc names)")
    g.add_argument("--preexisting", action="store_true",
                   help="also reply about findings the series did not introduce")
    g.add_argument("--allow-cc", dest="allow_cc", action="append", metavar="ADDR|FILE",
                   help="an address, or a MAINTAINERS-style file, whose people the patch "
                   "Cc'd may be Cc'd on the reply (reviewbot.allowCc; repeatable; at most "
                   "8 are copied)")
    g.add_argument("--sent-log", dest="sent_log", metavar="FILE",
                   help="record of replies sent, so a re-run never sends one twice "
                   "(default: $XDG_STATE_HOME/reviewbot/sent-replies)")


def _sender(args) -> tuple[str, str]:
    from reviewbot.config import b4
    from reviewbot.mail import parse_addresses
    value = args.sender or git_config("reviewbot.from") or \
        b4().get_sendemail_config().get("from")
    if not value:
        user = b4().get_user_config()        # git's user.name and user.email, as b4 reads them
        name, mail = user.get("name"), user.get("email")
        value = f"{name or 'reviewbot'} <{mail}>" if mail else ""
    found = parse_addresses(value)
    if not found:
        raise ReviewbotError("--from", "no sender address: give --from or set reviewbot.from")
    return found[0]


def _sent_log(args) -> Path:
    import os
    if args.sent_log:
        return Path(args.sent_log)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "reviewbot" / "sent-replies"


def run(args) -> int:
    from reviewbot.review import review
    from reviewbot.review_cmd import request
    from reviewbot.mail import mail_headers, normalise_addr
    from reviewbot.render.reply import ReplyPolicy, render_replies
    from reviewbot.deliver.outfiles import check_outdir, write_atomic
    from reviewbot.deliver.recipients import load_allow_list
    sender = _sender(args)
    allow_values = args.allow_cc or [v.strip() for v in (git_config("reviewbot.allowCc") or "")
                                     .split(",") if v.strip()]
    allow = load_allow_list(allow_values, "--allow-cc", Path.cwd())
    if args.outdir:
        check_outdir(Path(args.outdir), "--outdir")
    report = review(request(args))
    lists = args.lists or [v for v in (git_config("reviewbot.list") or "").split(",") if v]
    posted = set()
    for m in report.messages.values():
        pm = mail_headers(m)
        posted |= {normalise_addr(a) for _, a in pm.recipients}
        posted |= {normalise_addr(l) for l in lists
                   if l.replace("@", ".").lower() in pm.list_id.lower()}
    reproduce = None
    if args.bundled:
        reproduce = [["reviewbot", "review", "--bundled", args.bundled]]
    elif args.mbox:
        reproduce = [["reviewbot", "review", "--mbox", Path(args.mbox).name,
                      report.series_msgid]]
    policy = ReplyPolicy(sender=sender, lists=[l for l in lists if normalise_addr(l) in posted],
                         recipients=args.recipients or git_config("reviewbot.recipients") or "all",
                         reproduce=reproduce, cc_allow=allow)
    findings = [f for f in report.findings if f.introduced or args.preexisting]
    msgs = render_replies(report, policy=policy, findings=findings)
    if not msgs:
        print("reviewbot: no findings to reply about", file=sys.stderr)
        return 0
    if args.outdir:
        out = Path(args.outdir)
        for i, m in enumerate(msgs, 1):
            write_atomic(out / f"{i:04d}-{m['Message-ID'].strip('<>')}.eml", m.as_bytes(),
                         "--outdir")
    if args.send:
        _send_all(msgs, sender, _sent_log(args), policy.lists)
    if not args.outdir and not args.send:
        from reviewbot.mail import mboxrd_entry
        for m in msgs:      # an mbox: each entry ends with a blank line
            sys.stdout.buffer.write(mboxrd_entry(m.as_bytes()) + b"\n")
    return 0


def _send_all(msgs, sender, log_path: Path, lists: list[str]) -> None:
    """Send each reply once: 'sending' is recorded before the SMTP transaction and 'sent'
    after its 250, so a re-run skips what was accepted and never guesses about a reply
    interrupted in between.  Like git send-email: sendemail.to/cc are added, the envelope
    sender is sendemail.envelopeSender, and each mail is confirmed unless confirm=never."""
    from reviewbot.deliver import smtp
    from reviewbot.deliver.outfiles import SentLog
    from reviewbot.mail import format_addr, normalise_addr, parse_addresses
    cfg = smtp.from_git_config()
    ask = cfg.confirm != "never"
    if ask and not sys.stdin.isatty():
        raise ReviewbotError("sendemail.confirm", "cannot ask before sending: stdin is not a "
                             "terminal (set sendemail.confirm=never to send without asking)")
    log = SentLog(log_path)
    mail_from = cfg.envelope_sender or sender[1]
    for m in msgs:
        mid = m["Message-ID"].strip("<>")
        state = log.status(mid)
        if state == "sent":
            print(f"reviewbot: {mid}: already sent, not sent again", file=sys.stderr)
            continue
        if state == "sending":
            print(f"reviewbot: {mid}: an earlier run was interrupted while sending it; not "
                  f"sent again (check the archive; delete its lines from {log_path} to "
                  "resend)", file=sys.stderr)
            continue
        for header, extra in (("To", cfg.to), ("Cc", cfg.cc)):
            have = parse_addresses(str(m.get(header, "")))
            add = [a for a in parse_addresses(*extra)
                   if normalise_addr(a[1]) not in {normalise_addr(h[1]) for h in have}]
            if add:
                del m[header]
                m[header] = ", ".join(format_addr(a) for a in have + add)
        rcpts = [a for _, a in parse_addresses(str(m.get("To", "")), str(m.get("Cc", "")))]
        if not {normalise_addr(a) for a in rcpts} & {normalise_addr(l) for l in lists}:
            print(f"reviewbot: {mid}: warning: no mailing list among the recipients "
                  f"({', '.join(rcpts)})", file=sys.stderr)
        if ask:
            print(f"Subject: {m['Subject']}\nTo: {', '.join(rcpts)}\n"
                  "Send this email? ([y]es|[n]o|[a]ll|[q]uit): ", end="", file=sys.stderr,
                  flush=True)
            answer = (sys.stdin.readline().strip().lower() or "n")[0]
            if answer == "q":
                return
            if answer == "a":
                ask = False
            elif answer != "y":
                continue
        log.record(mid, "sending")
        try:
            smtp.send(m.as_bytes(), mail_from, rcpts, cfg)
        except smtp.SendError:
            log.record(mid, "failed")       # refused or never reached the server
            raise
        log.record(mid, "sent")
        print(f"sent {m['Message-ID']} to {', '.join(rcpts)}", file=sys.stderr)
