"""The list bot: follow public-inbox mirrors, assemble series, review each once, reply under
the list's policy, and never send the same reply twice (state in SQLite, see state.py)."""
from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import time

from reviewbot.deliver import smtp as smtpmod
from reviewbot.deliver.botconfig import BotConfig, ListPolicy
from reviewbot.deliver.inbox import Inbox, LoopGuard, series_name, triage
from reviewbot.deliver.outfiles import write_atomic
from reviewbot.errors import ReviewbotError
from reviewbot.mail import mail_headers, normalise_addr, parse_addresses, read_message
from reviewbot.deliver.state import State
from reviewbot.findings import Report
from reviewbot.render.reply import (ReplyPolicy, is_addr_spec, render_no_findings,
                                   render_replies)

log = logging.getLogger("reviewbot.bot")
BATCH = 500                      # messages per state transaction while following


def default_review(messages, cfg: BotConfig, complete: bool) -> Report:
    from reviewbot.review import ReviewRequest, review
    return review(ReviewRequest(messages=messages, tree=cfg.tree or None, no_tree=not cfg.tree,
                                base=cfg.base or None, simulate=cfg.simulate,
                                allow_incomplete=not complete))


class Bot:
    def __init__(self, cfg: BotConfig, review=default_review, now=time.time,
                 sleep=time.sleep):
        self.cfg = cfg
        self.review = review
        self.now = now
        self.sleep = sleep
        self.inboxes = {}
        for l in cfg.lists:                  # checked before the state is created
            try:
                self.inboxes[l.address] = Inbox(l.inbox)
            except Exception as e:
                for i in self.inboxes.values():
                    i.close()
                why = str(e).removeprefix(f"{l.inbox}: ")
                raise ReviewbotError(f"{l.inbox}", f"cannot open the inbox of {l.address}: "
                                     f"{why}") from None
        self.policies = {l.address: l for l in cfg.lists}
        try:
            self.state = State(cfg.state)    # locked: one bot per state file
        except BaseException:
            for i in self.inboxes.values():
                i.close()
            raise
        try:
            self._bundled_tree()
        except BaseException:
            self.close()
            raise

    def _bundled_tree(self) -> None:
        if self.cfg.tree == "bundled":
            from reviewbot import corpus
            self.cfg.tree = str(corpus.ensure_tree_repo(self.cfg.state.parent / "bundled-tree"))

    def close(self) -> None:
        for i in self.inboxes.values():
            i.close()
        self.state.close()

    # -- one pass ---------------------------------------------------------------------
    def run_once(self) -> dict:
        """One pass; the counts say what happened, `failed` and `unsent` what did not (a
        review that failed, a reply refused or not delivered, an archive that is unreadable)."""
        stats = {"messages": 0, "patches": 0, "skipped": 0, "reviewed": 0, "sent": 0,
                 "failed": 0, "unsent": 0, "errors": 0}
        for address in self.inboxes:
            try:
                self.follow(address, stats)
            except Exception as e:      # one unreadable archive must not stop the others
                log.error("list %s: archive not read: %s", address, e)
                stats["errors"] += 1
        self.reconcile()
        self.review_ready(stats)
        self.send_queued(stats)
        return stats

    def follow(self, address: str, stats: dict | None = None, limit: int | None = None) -> dict:
        """Triage every message the mirror gained since the last pass."""
        stats = stats if stats is not None else {"messages": 0, "patches": 0, "skipped": 0}
        inbox, ignore = self.inboxes[address], self.cfg.ignore_from
        inbox.refresh()
        for epoch in sorted(inbox.repos, key=int):
            pending = 0
            self.state.begin()
            try:
                for nb in inbox.new_blobs(epoch, self.state.cursor(f"{address}:{epoch}")):
                    try:
                        self._one(address, inbox, nb, ignore, stats)
                    except Exception as e:   # one bad blob must not stop the mirror forever
                        log.warning("%s epoch %s blob %s: skipped: %s", address, nb.epoch,
                                    nb.blob[:12], e)
                        stats["skipped"] += 1
                    self.state.set_cursor(f"{address}:{epoch}", nb.commit)
                    pending += 1
                    if pending >= BATCH:
                        self.state.batch()
                        pending = 0
                    if limit is not None and stats["messages"] >= limit:
                        break
                self.state.commit()
            except Exception as e:      # this epoch cannot be read; the others still are
                self.state.rollback()
                log.error("list %s: epoch %s not read: %s", address, epoch, e)
                stats["errors"] = stats.get("errors", 0) + 1
            except BaseException:
                self.state.rollback()
                raise
        return stats

    def _guard(self, address: str) -> LoopGuard:
        return LoopGuard(own_address=self.cfg.sender[1], list_address=address)

    def _one(self, address, inbox: Inbox, nb, ignore, stats) -> None:
        stats["messages"] += 1
        raw = inbox.read(nb.epoch, nb.blob, self.cfg.max_message_bytes)
        if raw is None:
            log.warning("%s epoch %s blob %s: larger than %d bytes, skipped", address,
                        nb.epoch, nb.blob[:12], self.cfg.max_message_bytes)
            self.state.add_message(f"blob:{nb.blob}", "huge", epoch=nb.epoch, blob=nb.blob)
            stats["skipped"] += 1
            return
        t = triage(raw, ignore, self._guard(address))
        if t.kind == "malformed":
            log.warning("%s epoch %s blob %s: malformed message skipped: %s", address,
                        nb.epoch, nb.blob[:12], t.reason)
            self.state.add_message(t.msgid or f"blob:{nb.blob}", "malformed", epoch=nb.epoch,
                                   blob=nb.blob)
            stats["skipped"] += 1
            return
        if self.state.reply_status(t.msgid) not in (None, "dry-run", "sent"):
            self.state.set_reply(t.msgid, "sent")       # our reply reached the archive
        if t.own and t.parent:
            self.state.add_own_reply(t.parent, t.msgid)
        if t.kind in ("patch", "cover"):
            key = t.series_key
            if not self.state.add_message(t.msgid, t.kind, key, t.n, nb.epoch, nb.blob):
                return
            stats["patches"] += 1
            name = series_name(t) if t.n <= 1 else None
            self.state.touch_series(key, address, t.sender, t.revision, t.total, name,
                                    self.now())
        else:
            self.state.add_message(t.msgid, t.kind)

    # -- exactly once --------------------------------------------------------------------
    def _archived(self, rcpts: str) -> bool:
        """The reply went to a list whose archive the bot follows, so the archive can tell."""
        lists = {normalise_addr(a) for a in self.inboxes}
        return any(normalise_addr(a) in lists for a in rcpts.split("\n"))

    def reconcile(self) -> None:
        """A reply left 'sending' by a crash: sent if the archive has it; when it should be
        archived but is not (after `resend_after`), queued again; when no followed archive
        can tell (author-only mail), marked 'unknown' and logged, never resent."""
        with self.state:
            for msgid, _series, _raw, rcpts, updated in self.state.replies_with("sending"):
                if self.state.seen(msgid):
                    self.state.set_reply(msgid, "sent")
                elif not self._archived(rcpts):
                    log.warning("reply %s: interrupted while sending and not sent to an "
                                "archived list; it may or may not have been delivered, so it "
                                "is not sent again", msgid)
                    self.state.set_reply(msgid, "unknown", "interrupted while sending; "
                                         "not resent")
                elif self.now() - updated >= self.cfg.resend_after:
                    log.warning("reply %s not found in the archive; sending again", msgid)
                    self.state.set_reply(msgid, "queued", "interrupted while sending")

    # -- review --------------------------------------------------------------------------
    def review_ready(self, stats: dict) -> None:
        now = self.now()
        for s in self.state.series_with("waiting") + self.state.series_with("failed", now):
            try:
                self._ready(s, now, stats)
            except Exception as e:   # one series that cannot be read must not stall the rest
                self._failed(s["key"], f"{e.__class__.__name__}: {e}", stats)

    def _failed(self, key: str, reason: str, stats: dict) -> None:
        """Log it, and retry later: backoff doubling from `retry` up to `retry_max`."""
        with self.state:
            n = self.state.attempts(key)
            delay = min(self.cfg.retry * 2 ** n, self.cfg.retry_max)
            self.state.review_failed(key, reason, self.now() + delay)
        log.error("series %s: review failed (attempt %d, retry in %ds): %s", key, n + 1,
                  delay, reason)
        stats["failed"] = stats.get("failed", 0) + 1

    def _ready(self, s, now: float, stats: dict) -> None:
        members = self.state.series_messages(s["key"])
        have = sorted({idx for _, idx, _, _ in members if idx > 0})
        total = max(s["total"], 1)
        complete = have == list(range(1, total + 1))
        age = now - s["first_seen"]
        if total > self.cfg.max_series_patches:
            with self.state:
                self.state.set_series(s["key"], "skipped",
                                      f"{total} patches, over the limit of "
                                      f"{self.cfg.max_series_patches}")
            log.warning("series %s: %d patches, not reviewed", s["key"], total)
            return
        if not have or not (complete and age >= self.cfg.settle or age >= self.cfg.hold):
            return
        if self._review_series(s, members, have, total, complete, stats):
            stats["reviewed"] = stats.get("reviewed", 0) + 1

    def _review_series(self, s, members, have, total, complete, stats) -> bool:
        key = s["key"]
        policy = self.policies[s["inbox"]]
        inbox = self.inboxes[s["inbox"]]
        mails = {}
        try:
            for msgid, _idx, epoch, blob in members:
                raw = inbox.read(epoch, blob, self.cfg.max_message_bytes)
                if raw is not None:     # the budgets `review` applies (size, MIME depth)
                    mails[msgid] = read_message(raw, msgid)
            report = self.review(list(mails.values()), self.cfg, complete)
        except Exception as e:       # a review that fails is logged, never mailed about
            self._failed(key, str(e) or e.__class__.__name__, stats)
            return False
        footer = []
        if not complete:
            missing = [str(i) for i in range(1, total + 1) if i not in have]
            footer.append(f"This series looks incomplete: patch {', '.join(missing)} of "
                          f"{total} did not reach the archive within the hold period, so "
                          "this review covers only the patches that did.")
        if report.applied == "none" and report.mode == "tree":
            footer.append("The series did not apply to the tree; only the checks that need "
                          "the diff and the base ran.")
        elif any(sk.check == "apply" for sk in report.skipped):
            footer.append("Part of the series did not apply to the tree (see the hunks named "
                          "in the review); the checks ran on what applied, on the base tree "
                          "and on the diff.")
        self._reply(key, s, report, mails, policy, footer)
        return True

    def _reply(self, key, s, report: Report, mails, policy: ListPolicy, footer) -> None:
        prior = self.state.prior_revision(key)
        before = self.state.findings_of(prior) if prior else {}
        prior_rev = self.state.revision(prior) if prior else 0
        to_mail, notes, rows = [], {}, []
        for f in report.findings:
            status = "still present" if f.identity in before else "new"
            # info is for the reader of a report; like the exit status, it never makes mail
            mail = f.severity != "info" and (policy.report_preexisting or f.introduced) and (
                status == "new" or policy.remail_still_present)
            if status == "still present":
                notes[f.identity] = f"This was also reported on v{prior_rev}."
            if mail:
                to_mail.append(f)
            rows.append((f, status, mail))
        addressed = [i for i in before if i not in {f.identity for f in report.findings}]
        if prior and (addressed or rows):
            footer = footer + [f"Compared with v{prior_rev}: {len(addressed)} finding(s) "
                               f"addressed, {sum(r[1] == 'still present' for r in rows)} still "
                               "present."]
        posted = self._posted_to(mails)
        lists = [policy.address] + [l.address for l in self.cfg.lists
                                    if l.address != policy.address and
                                    normalise_addr(l.address) in posted]
        rp = ReplyPolicy(sender=self.cfg.sender, lists=lists, recipients=policy.recipients,
                         bot_addresses=self.cfg.bots, reply_to=policy.reply_to,
                         linkmask=self.cfg.linkmask, cc_allow=self.cfg.cc_allow,
                         max_cc=self.cfg.max_cc)
        date = email.utils.formatdate(localtime=False)
        msgs = render_replies(report, mails, rp, date=date, notes=notes, footer=footer,
                              findings=to_mail) if to_mail else []
        if not [f for f in report.findings if f.severity != "info"] and \
                policy.no_findings == "author" and mails:
            first = report.series_msgid if report.series_msgid in mails else next(iter(mails))
            msgs = [render_no_findings(report, mails[first], rp, date, footer)]
        allowed = self._allowed(mails)
        if self.cfg.dry_run:
            # each file complete on disk before anything is recorded; a write that fails
            # raises, the series stays unreviewed and is retried
            for m in msgs:
                name = m["Message-ID"].strip("<>").replace("/", "_")
                write_atomic(self.cfg.outdir / f"{name}.eml", m.as_bytes(), "outdir")
        with self.state:
            for f, st, mailed in rows:
                self.state.add_finding(key, f.identity, f.patch, f.rule, f.message, st, mailed)
            for ident in addressed:
                self.state.add_finding(key, ident, "", "", "", "addressed", False)
            for m in msgs:
                rcpts = self._recipients(m, allowed)
                if not rcpts:
                    continue
                mid, parent = m["Message-ID"].strip("<>"), m["In-Reply-To"].strip("<>")
                status = "dry-run" if self.cfg.dry_run else "queued"
                if not self.cfg.dry_run and (self.state.seen(mid) or
                                             self.state.replied_to(parent)):
                    # the archive already has it (a state file lost or restored)
                    log.warning("reply %s: already in the archive, not sent again", mid)
                    status = "sent"
                self.state.add_reply(mid, key, parent, m.as_bytes(), rcpts, status)
            self.state.set_series(key, "replying" if msgs and not self.cfg.dry_run else "done")
        log.info("series %s: %d findings, %d replies %s", key, len(report.findings), len(msgs),
                 "written (dry run)" if self.cfg.dry_run else "queued")

    def _posted_to(self, mails) -> set[str]:
        out: set[str] = set()
        for m in mails.values():
            out |= {normalise_addr(a) for _, a in mail_headers(m).recipients}
        return out

    def _allowed(self, mails) -> set[str]:
        """Addresses a reply may go to: the authors, the configured lists, and the patches'
        own Cc/To only where the allow-list names them; never the bot or a muted sender."""
        allowed = {normalise_addr(l.address) for l in self.cfg.lists}
        allow = {normalise_addr(a) for a in self.cfg.cc_allow}
        for m in mails.values():
            pm = mail_headers(m)
            if pm.author[1]:
                allowed.add(normalise_addr(pm.author[1]))
            allowed |= {normalise_addr(a) for _, a in pm.recipients} & allow
        return allowed - self.cfg.ignore_from

    def _recipients(self, m, allowed: set[str]) -> list[str]:
        rcpts = [a for _, a in parse_addresses(str(m.get("To", "")), str(m.get("Cc", "")))]
        bad = [a for a in rcpts if normalise_addr(a) not in allowed or not is_addr_spec(a)]
        if bad:      # the renderer never does this; the guard stays in case it ever does
            log.error("reply %s: dropping recipients outside policy: %s", m["Message-ID"], bad)
        return [a for a in rcpts if a not in bad][:2 + len(self.cfg.lists) + self.cfg.max_cc]

    # -- sending -------------------------------------------------------------------------
    def send_queued(self, stats: dict | None = None) -> int:
        """Send in order; a permanent refusal (5xx, unusable address) fails that reply alone,
        a temporary one (the server down) keeps it and the rest queued for the next pass."""
        stats = stats if stats is not None else {}
        sent = 0
        queued = self.state.replies_with("queued")
        for i, (msgid, series, raw, rcpts, _) in enumerate(queued):
            with self.state:
                self.state.set_reply(msgid, "sending")
            try:
                smtpmod.send(raw, self.cfg.sender[1], rcpts.split("\n"), self.cfg.smtp,
                             sleep=self.sleep)
            except smtpmod.SendError as e:
                if e.permanent:
                    log.error("reply %s: refused, not sent: %s", msgid, e)
                    with self.state:
                        self.state.set_reply(msgid, "failed", str(e)[:500])
                    stats["unsent"] = stats.get("unsent", 0) + 1
                    continue
                log.error("reply %s: %s; will retry", msgid, e)
                with self.state:
                    self.state.set_reply(msgid, "queued", str(e))
                stats["unsent"] = stats.get("unsent", 0) + len(queued) - i
                break        # the server is down: keep the rest queued in order
            with self.state:
                self.state.set_reply(msgid, "sent")
            sent += 1
        with self.state:
            self.state.finish_replied()
        stats["sent"] = sent
        return sent

    def loop(self, stop=lambda: False) -> None:
        while not stop():
            stats = self.run_once()
            log.info("pass: %s", stats)
            end = time.monotonic() + self.cfg.poll
            while not stop() and time.monotonic() < end:
                self.sleep(min(1.0, self.cfg.poll))
