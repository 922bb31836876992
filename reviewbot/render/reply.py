"""Replies to the list: one plain-text RFC 5322 message per patch with findings.

Follows the etiquette of kernel review bots (trimmed interleaved quoting, questions, no
trailers that tools would harvest, a short signed footer).
"""
from __future__ import annotations

import email.policy
import email.utils
import hashlib
import re
import shlex
import textwrap
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

from reviewbot import __version__, engine
from reviewbot.diff import Hunk
from reviewbot.mail import (PatchMail, format_addr, normalise_addr, one_line,
                            mail_headers, report_mails)
from reviewbot.findings import Finding, Report
from reviewbot.render.trace import trace_lines

WIDTH = 72
CONTEXT_ABOVE = 5
MAX_QUOTED_LINE = 900          # RFC 5322 caps lines at 998; longer diff lines are cut
MAX_SITES = 20
CUT = "[ ... ]"
MAX_CC = 8                     # allow-listed Cc addresses per reply, at most

# RFC 5322 dot-atom addr-spec and msg-id (no quoted strings, no comments, no obsolete forms);
# a local part may not start with '-', so no address can ever read as a program's option
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ADDR_SPEC = re.compile(rf"(?!-){_DOT_ATOM}@{_LABEL}(?:\.{_LABEL})*\Z")
_MSG_ID = re.compile(rf"{_DOT_ATOM}@(?:{_DOT_ATOM}|\[[!-Z^-~]*\])\Z")


def is_addr_spec(addr: str) -> bool:
    """A plain RFC 5322 address (dot-atom form) that does not start with '-'."""
    return bool(_ADDR_SPEC.match(addr or "")) and len(addr) <= 254


def is_msg_id(msgid: str) -> bool:
    """The inside of an RFC 5322 msg-id (without the angle brackets)."""
    return bool(_MSG_ID.match(msgid or "")) and len(msgid) <= 900


@dataclass
class ReplyPolicy:
    """Who may receive a reply and how the bot signs it."""
    sender: tuple[str, str] = ("reviewbot", "reviewbot@localhost")
    lists: list[str] = field(default_factory=list)       # lists the series was posted to
    recipients: str = "all"        # all | author+lists | author
    bot_addresses: list[str] = field(default_factory=list)
    reply_to: str = ""
    linkmask: str = "https://lore.kernel.org/r/%s"
    reproduce: list[list[str]] | None = None              # argv lists; default from report
    cc_allow: list[str] = field(default_factory=list)    # people who may be Cc'd (allow-list)
    max_cc: int = MAX_CC
    tree_hint: str = "/path/to/linux"


def reply_message_id(patch_msgid: str, identities: list[str], sender_addr: str) -> str:
    """Deterministic Message-ID: the same patch and findings always give the same id."""
    h = hashlib.sha256("\0".join([patch_msgid] + sorted(identities)).encode()).hexdigest()
    domain = sender_addr.rpartition("@")[2] or "localhost"
    return f"<reviewbot-{h[:24]}@{domain}>"


def wrap(text: str, indent: str = "") -> list[str]:
    """Own prose, paragraph by paragraph, at 72 columns."""
    out: list[str] = []
    for para in text.split("\n\n"):
        para = " ".join(para.split())
        if para:
            out.extend(textwrap.wrap(para, WIDTH, initial_indent=indent,
                                     subsequent_indent=indent, break_on_hyphens=False,
                                     break_long_words=False) or [""])
        out.append("")
    return out[:-1]


def sim_lines(sim: dict | None) -> list[str]:
    """The simulator verdict (first line), then 'TRACE' and a short trace, as plain lines."""
    if not sim:
        return []
    verdict = one_line(sim.get("verdict", "")) or "unknown"
    if verdict == "not simulated":
        reason = one_line(sim.get("reason", ""))
        return [f"The fault-path simulator did not run{': ' + reason if reason else ''}."]
    if verdict == "not reached":
        return [f"The fault-path simulator says nothing about this site: "
                f"{one_line(sim.get('reason', ''))}."]
    inv = one_line(sim.get("invariant", ""))
    states = sim.get("states")
    head = "The fault-path simulator"
    head += f" explored {states} states;" if states else ""
    head += f" verdict: {verdict}"
    head += f" (invariant: {inv})." if inv else "."
    fix = sim.get("with_fix")
    if isinstance(fix, dict) and fix.get("verdict"):
        head += f"  With the proposed fix applied it is {one_line(fix['verdict'])}."
    out = [head]
    steps = trace_lines(sim, "terse")
    if steps:                      # the steps that matter; the violation is last and whole
        out.append("TRACE")
        out += steps
    return out


def site_phrase(s) -> str:
    where = f"{s.function}() in {s.file}" if s.function else s.file
    who = ", changed by this series" if s.touched else ", not changed by the series"
    detail = f" ({one_line(s.detail)})" if s.detail else ""
    return f"{where}: {s.status}{who}{detail}"


def questions(f: Finding) -> list[str]:
    """Questions for the author: the rule's own (see engine.Rule.questions); never verdicts."""
    qs = [one_line(q) for q in engine.questions(f)] or ["Is this intended?"]
    return list(dict.fromkeys(q for q in qs if q))[:6]


def origin_text(f: Finding, what: str, mode: str) -> str:
    if f.introduced and mode != "tree":
        return (f"This is introduced by this {what}, going by the diff alone: no tree "
                "was checked.")
    if f.introduced:
        return f"This is introduced by this {what}: the same check is quiet on the base tree."
    return ("This is pre-existing: the same check fires on the base tree without the "
            "series.  It is mentioned because this patch touches the same code.")


def finding_text(f: Finding, policy: ReplyPolicy, note: str = "",
                 reply_msgid: str = "", what: str = "patch", mode: str = "tree",
                 shown: set | None = None, merged: bool = False) -> list[str]:
    """One finding's prose; a site list already in `shown` (same reply) is not repeated.
    `merged`: the tree has the patch as commits, so a fix is a patch of its own and may
    carry tags; a patch under review folds the fix into its next revision instead."""
    lines: list[str] = []
    lines += wrap(f"{f.rule}: {one_line(f.message).rstrip('.')}.")
    lines.append("")
    qs = questions(f)
    if f.raised_in:                # a reviewer asked already: point at it, don't ask again
        r = f.raised_in[0]
        lines += wrap(f"{one_line(r['author'])} already raised this in "
                      f"<{one_line(r['msgid'])}>: \"{one_line(r['excerpt'])}\"")
        lines.append("")
        qs = []
    if shown is not None:          # a question already asked in this reply is not asked again
        qs = [q for q in qs if ("q", q) not in shown] or qs[:0]
        shown.update(("q", q) for q in qs)
    if qs:
        lines += wrap("  ".join(qs))
        lines.append("")
    origin = origin_text(f, what, mode)
    if shown is not None and ("origin", origin) in shown:
        origin = ""                # the reply says it once for all its findings
    if note:
        origin = (origin + "  " + note).strip()
    if origin:
        lines += wrap(origin)
    elif lines and lines[-1] == "":
        lines.pop()
    phrases = list(dict.fromkeys(site_phrase(s) for s in f.sites))
    if phrases and shown is not None and tuple(phrases) in shown:
        lines += ["", "Sites: as listed above."]
        phrases = []
    elif shown is not None:
        shown.add(tuple(phrases))
    if phrases:
        lines += ["", "Sites:"]
        for ph in phrases[:MAX_SITES]:
            lines += wrap(ph, "  ")
        if len(phrases) > MAX_SITES:
            lines.append(f"  ... and {len(phrases) - MAX_SITES} more")
    sim = sim_lines(f.simulation)
    if sim:
        lines.append("")
        lines += wrap(sim[0])
        if len(sim) > 1:
            lines.append("")
            for s in sim[2:]:          # a trace line is evidence: wrapped, never cut
                lines += textwrap.wrap(s.strip(), WIDTH, initial_indent="  ",
                                       subsequent_indent="        ", break_long_words=False,
                                       break_on_hyphens=False)
    if f.fix and not merged:
        lines += ["", *wrap("A possible fix, to fold into the next revision:"), ""]
        lines += [l[:MAX_QUOTED_LINE] for l in f.fix.rstrip("\n").split("\n")]
    elif f.fix:
        lines += ["", *wrap("A possible fix, as a separate patch:"), ""]
        lines += [l[:MAX_QUOTED_LINE] for l in f.fix.rstrip("\n").split("\n")]
        lines += [""] + wrap("If this is fixed in a separate patch, these tags could be "
                             "added to it:")
        lines += [f"| Reported-by: {format_addr(policy.sender)}"]
        if reply_msgid:
            lines += [f"| Closes: {policy.linkmask % reply_msgid.strip('<>')}"]
    return lines


def anchor_of(f: Finding, hunks: list[Hunk]) -> tuple[Hunk, int] | None:
    """The hunk and line a finding comments on: its own line, else a touched site, else its
    function; None when the diff does not show it."""
    points = [(f.file, f.line)] + engine.anchors(f)
    points += [(s.file, s.line) for s in f.sites if s.touched]
    for path, line in points:
        for h in hunks:
            if h.path == path and h.covers(line):
                i = h.index_of_line(line)
                if i is not None:
                    return h, i
    for h in hunks:
        if h.path == f.file and f.function and (f.function in h.section or any(
                f.function in t for _k, t in h.lines)):
            added = [i for i, (k, _t) in enumerate(h.lines) if k == "+"]
            return h, added[-1] if added else len(h.lines) - 1
    return None


def quote(line: str) -> str:
    return ("> " + line[:MAX_QUOTED_LINE]).rstrip(" ") if line else ">"


def quoted_body(pm: PatchMail, items: list[tuple[Finding, list[str]]]) -> list[str]:
    """Interleave the comments with only the hunks they are about, cuts marked [ ... ]."""
    placed: dict[int, dict[int, list[list[str]]]] = {}
    loose: list[list[str]] = []
    hunks = pm.hunks
    order = {id(h): i for i, h in enumerate(hunks)}
    header = {id(h): f.header for f in pm.diff for h in f.hunks}
    for f, text in items:
        a = anchor_of(f, hunks)
        if a is None:
            loose.append(text)
        else:
            placed.setdefault(order[id(a[0])], {}).setdefault(a[1], []).append(text)
    out: list[str] = [CUT, ""] if placed else []
    last_file = None
    for n in sorted(placed):
        h = hunks[n]
        if h.path != last_file:
            out += [quote(l) for l in header[id(h)] if not l.startswith(("index ",))]
            last_file = h.path
        out.append(quote(h.header))
        lines = h.text
        pos = 0
        for idx in sorted(placed[n]):
            start = max(pos, idx - CONTEXT_ABOVE + 1)
            if start > pos:
                out.append(CUT)
            out += [quote(l) for l in lines[start:idx + 1]]
            for text in placed[n][idx]:
                out += ["", *text, ""]
            pos = idx + 1
        if pos < len(lines):
            out.append(CUT)
        out.append("")
    for text in loose:
        out += [*text, ""]
    while out and out[-1] == "":
        out.pop()
    return out


def allowed_recipients(pm: PatchMail, policy: ReplyPolicy) -> tuple[list, list]:
    """(To, Cc): the author; the configured lists when the policy includes them; and, under
    "all", at most `max_cc` of the patch's own Cc/To that the allow-list names.  Never the
    bot, never an address the patch did not carry or the allow-list lacks, never one that is
    not a plain RFC 5322 address."""
    bots = {normalise_addr(a) for a in policy.bot_addresses + [policy.sender[1]]}
    ok = lambda a: is_addr_spec(a[1]) and normalise_addr(a[1]) not in bots
    to = [a for a in [pm.author] if a[1] and ok(a)]
    cc: list[tuple[str, str]] = []
    if policy.recipients != "author":
        lists = {normalise_addr(a) for a in policy.lists}
        allow = {normalise_addr(a) for a in policy.cc_allow}
        people = 0
        for a in pm.recipients:
            key = normalise_addr(a[1])
            if not ok(a):
                continue
            if key in lists:
                cc.append(a)
            elif policy.recipients == "all" and key in allow and people < policy.max_cc:
                cc.append(a)
                people += 1
        for l in policy.lists:           # the archive it came from, when headers lack it
            cc.append(("", l))
    seen = {normalise_addr(a[1]) for a in to}
    dedup = []
    for a in cc:
        k = normalise_addr(a[1])
        if k not in seen and ok(a):
            seen.add(k)
            dedup.append(a)
    if not to and dedup:
        to, dedup = dedup[:1], dedup[1:]
    return to, dedup


def build_message(pm: PatchMail, body: list[str], msgid: str, policy: ReplyPolicy,
                  date: str | None = None, extra_headers: dict | None = None) -> EmailMessage:
    to, cc = allowed_recipients(pm, policy)
    # fold only past RFC 5322's hard limit: the default folds a long Subject right after
    # its colon, which some clients show with a leading space
    msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    msg["From"] = format_addr(policy.sender)
    if to:
        msg["To"] = ", ".join(format_addr(a) for a in to)
    if cc:
        msg["Cc"] = ", ".join(format_addr(a) for a in cc)
    subject = one_line(pm.subject)
    msg["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    msg["Date"] = date or email.utils.formatdate(localtime=False)
    msg["Message-ID"] = msgid
    parent = f"<{pm.msgid}>"
    msg["In-Reply-To"] = parent
    chain = [f"<{r}>" for r in (pm.references or ([pm.in_reply_to] if pm.in_reply_to else []))]
    if parent not in chain:
        chain.append(parent)
    msg["References"] = " ".join(chain)
    if policy.reply_to:
        msg["Reply-To"] = one_line(policy.reply_to)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Mailer"] = f"reviewbot {__version__}"
    for k, v in (extra_headers or {}).items():
        msg[k] = one_line(v)
    text = "\n".join(body).rstrip("\n") + "\n"
    cte = "7bit" if text.isascii() else "8bit"
    msg.set_content(text, charset="utf-8", cte=cte)
    return msg


def signature(policy: ReplyPolicy) -> list[str]:
    return ["-- "] + wrap(
        f"This is an automated reply from reviewbot {__version__}, a static checker "
        "and fault-path simulator for linux-mm patches; no human has looked at it. If a "
        "finding is wrong, a reply to this mail saying why is welcome.  reviewbot never "
        "sends Reviewed-by or Acked-by tags.")


def reproduce_lines(report: Report, policy: ReplyPolicy) -> list[str]:
    """Shell commands that redo the review; every word is quoted, and none is offered for a
    Message-ID outside the RFC 5322 grammar (it came from the mail, the world can choose it)."""
    if policy.reproduce is not None:
        cmds = policy.reproduce
    else:
        mid = report.series_msgid
        if not is_msg_id(mid):
            return wrap("The series' Message-ID is not a valid RFC 5322 msg-id, so no "
                        "command to reproduce this review is given.")
        base = ["--base", report.base[:12]] if report.base else []
        cmds = [["b4", "mbox", "-o", ".", mid],
                ["reviewbot", "review", "--mbox", f"./{mid}.mbx", "--tree", policy.tree_hint,
                 *base, mid]]
    out = wrap("To reproduce offline:") + [""]
    for c in cmds:
        out += _shell_lines([shlex.quote(w) for w in c])
    return out


def _shell_lines(words: list[str]) -> list[str]:
    """Quoted words indented and broken with backslashes to stay within 72 columns."""
    lines, cur = [], "  "
    for w in words:
        if len(cur) + len(w) + 3 > WIDTH and cur.strip():
            lines.append(cur + " \\")
            cur = "      "
        cur += ("" if cur.strip() == "" else " ") + w
    lines.append(cur)
    return lines


def attribution(pm: PatchMail) -> str:
    who = pm.author[0] or pm.author[1] or "the author"
    return f"On {pm.date}, {who} wrote:" if pm.date else f"{who} wrote:"


def render_replies(report: Report, mails: dict[str, Message | PatchMail] | None = None,
                   policy: ReplyPolicy | None = None, date: str | None = None,
                   notes: dict[str, str] | None = None, footer: list[str] | None = None,
                   findings: list[Finding] | None = None) -> list[EmailMessage]:
    """One reply per patch with findings; series-wide ones (on the cover letter or with no
    patch) go to the cover, or to patch 1 without a cover.  `notes` maps a finding identity
    to a sentence (e.g. 'Also reported on v1.'); `footer` adds paragraphs (e.g. that the
    series was incomplete); `findings` restricts what is mailed. `mails` default to the
    ones the review read (report.messages)."""
    policy = policy or ReplyPolicy()
    notes = notes or {}
    pms = report_mails(report, mails)
    order = {p.msgid: p.index for p in report.patches}
    first = min(report.patches, key=lambda p: p.index).msgid if report.patches else ""
    groups: dict[str, list[Finding]] = {}
    for f in report.sorted().findings if findings is None else findings:
        target = f.patch if f.patch in pms else ""
        if not target:
            target = report.series_msgid if report.series_msgid in pms else first
        if target not in pms:
            continue
        groups.setdefault(target, []).append(f)
    out = []
    for target in sorted(groups, key=lambda m: (order.get(m, 0), m)):
        pm = pms[target]
        fs = groups[target]
        mid = reply_message_id(target, [f.identity for f in fs], policy.sender[1])
        what = "series" if order.get(target, 1) == 0 else "patch"
        shown: set = set()
        origins = {origin_text(f, what, report.mode) for f in fs}
        common = origins.pop() if len(origins) == 1 and len(fs) > 1 else ""
        if common:                 # one sentence for the reply, not one a finding
            shown.add(("origin", common))
        merged = report.already_applied and report.applied != "none"
        items = [(f, finding_text(f, policy, notes.get(f.identity, ""), mid, what,
                                  report.mode, shown, merged))
                 for f in fs]
        body = [attribution(pm), ""] + quoted_body(pm, items) + [""]
        if common:
            body += wrap(common.replace("This is", "Each finding above is", 1)) + [""]
        for para in footer or []:
            body += wrap(para) + [""]
        body += reproduce_lines(report, policy) + ["", *signature(policy)]
        out.append(build_message(pm, body, mid, policy, date,
                                 {"X-Reviewbot-Findings": " ".join(f.identity for f in fs)}))
    return out


def render_no_findings(report: Report, mail: Message | PatchMail, policy: ReplyPolicy,
                       date: str | None = None, footer: list[str] | None = None) -> EmailMessage:
    """The author-only note some lists want when nothing was found."""
    pm = mail if isinstance(mail, PatchMail) else mail_headers(mail)   # no body is quoted
    author_only = ReplyPolicy(**{**policy.__dict__, "recipients": "author", "lists": []})
    body = wrap(f"reviewbot ran its checks on this series ({len(report.patches)} "
                "patches) and has no questions about it.")
    if report.skipped:
        body += ["", *wrap("Checks that did not run:")]
        for s in report.skipped:
            body += wrap(f"{s.check}: {s.reason}", "  ")
    for para in footer or []:
        body += [""] + wrap(para)
    body += ["", *reproduce_lines(report, policy), "", *signature(policy)]
    mid = reply_message_id(pm.msgid, ["no-findings"], policy.sender[1])
    return build_message(pm, body, mid, author_only, date)
