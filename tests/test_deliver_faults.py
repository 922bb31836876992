"""The bot under faults, each one made to happen for real and deterministically: a crash
inside the SMTP transaction (the server kills the bot at the chosen moment), a 5xx, a second
bot on the same state, a lost state file, a review that fails until the config is fixed, a
full disk (a 4 KiB tmpfs in a private mount namespace), a purged and garbage-collected
archive blob, mail from robots and loops, and what `bot --once` exits with."""
from __future__ import annotations

import collections
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support.mbox import split_mboxrd  # noqa: E402
from support.smtp import sendemail_env  # noqa: E402
from test_deliver_bot import BOT_ADDR, series_mbox, write_config  # noqa: E402
from test_render_reply import COVER, HEADERS, P1  # noqa: E402

from reviewbot import corpus
from reviewbot.deliver.bot import Bot
from reviewbot.deliver.botconfig import load_config

REPO = Path(__file__).resolve().parents[1]
OTHER = HEADERS.replace("Matthew Wilcox <matthew.r.wilcox@intel.com>",
                        "Dora Lin <dora.lin@example.org>")


def served(tmp_path, public_inbox_factory, smtp, *mboxes, **opts):
    """An inbox holding `mboxes` (default: the sample series), whose list mail the SMTP
    server delivers back into it, and a bot config for both."""
    inbox = public_inbox_factory(*(mboxes or [series_mbox()]))
    smtp.route(inbox)
    return inbox, write_config(tmp_path, inbox, smtp, **opts)


def bot_proc(cfg: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reviewbot", "bot", "--config", str(cfg),
                             "--once", *extra], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def run_bot(cfg: Path, *extra) -> subprocess.CompletedProcess:
    p = bot_proc(cfg, *extra)
    out, err = p.communicate(timeout=300)
    return subprocess.CompletedProcess(p.args, p.returncode, out.decode(), err.decode())


def db_rows(tmp_path, sql, *args):
    db = sqlite3.connect(tmp_path / "state.sqlite")     # raises if it was never created
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def accepted_ids(smtp) -> collections.Counter:
    return collections.Counter(r.message()["Message-ID"].strip("<>") for r in smtp.messages)


def kill_bot_at(smtp, proc_box, when: str):
    """SIGKILL the bot from inside its first SMTP transaction: 'before' acceptance (nothing
    was taken; the client waits for an answer it never reads) or 'after' acceptance and
    delivery into the archive, before the 250 that the bot would record."""
    fired = []

    def kill(rec):
        if fired:
            return None
        fired.append(rec.message()["Message-ID"].strip("<>"))
        os.killpg(proc_box[0].pid, signal.SIGKILL)
        return "451 4.3.0 the client is gone (test)" if when == "before" else None
    (smtp.before_accept if when == "before" else smtp.after_accept)(kill)
    return fired


@pytest.mark.parametrize("when", ["before", "after"])
def test_crash_inside_the_smtp_transaction_neither_loses_nor_duplicates(
        when, tmp_path, public_inbox_factory, smtp_server):
    inbox, cfg = served(tmp_path, public_inbox_factory, smtp_server)
    box: list = []
    fired = kill_bot_at(smtp_server, box, when)
    box.append(bot_proc(cfg))
    box[0].communicate(timeout=300)
    assert box[0].returncode == -signal.SIGKILL and len(fired) == 1
    [(status,)] = db_rows(tmp_path, "SELECT status FROM replies WHERE msgid=?", fired[0])
    assert status == "sending", "the crash must fall between the pre-send and sent records"
    smtp_server.before_accept(None)
    smtp_server.after_accept(None)

    second = run_bot(cfg)
    assert second.returncode == 0, second.stderr
    ids = accepted_ids(smtp_server)
    recorded = {m: s for m, s in db_rows(tmp_path, "SELECT msgid, status FROM replies")}
    assert set(recorded.values()) == {"sent"}
    assert ids[fired[0]] == 1, f"the interrupted reply was accepted {ids[fired[0]]} times"
    assert set(ids) == set(recorded) and set(ids.values()) == {1}
    assert inbox.thread_msgids(COVER) >= set(ids)
    assert inbox.emergency_is_empty()


def test_crash_after_acceptance_of_an_unarchived_reply_is_not_resent(
        tmp_path, public_inbox_factory, smtp_server):
    inbox = public_inbox_factory(corpus.thread_path("clean"))
    smtp_server.route(inbox)
    cfg = write_config(tmp_path, inbox, smtp_server, no_findings="author")
    box: list = []
    fired = kill_bot_at(smtp_server, box, "after")
    box.append(bot_proc(cfg))
    box[0].communicate(timeout=300)
    assert len(fired) == 1 and not smtp_server.messages[0].delivered_to
    smtp_server.after_accept(None)
    second = run_bot(cfg)
    assert accepted_ids(smtp_server)[fired[0]] == 1, "an author-only reply was sent twice"
    assert db_rows(tmp_path, "SELECT status FROM replies") == [("unknown",)]
    assert fired[0] in second.stderr and "not sent again" in second.stderr


def test_a_refused_reply_fails_alone_and_the_queue_moves_on(tmp_path, public_inbox_factory,
                                                            smtp_server):
    inbox = public_inbox_factory(series_mbox(), series_mbox(
        ids=("b0@example.org", "b1@example.org", "b2@example.org"), headers=OTHER))
    smtp_server.route(inbox)
    refused = []

    def refuse_first(rec):
        if not refused:
            refused.append(rec.message()["Message-ID"].strip("<>"))
            return "550 5.7.1 message refused by policy (test)"
        return None
    smtp_server.before_accept(refuse_first)
    bot = Bot(load_config(write_config(tmp_path, inbox, smtp_server)))
    stats = bot.run_once()
    rows = {m: (s, e) for m, s, e in db_rows(tmp_path, "SELECT msgid, status, last_error "
                                                       "FROM replies")}
    assert len(rows) >= 2 and rows[refused[0]][0] == "failed"
    assert "550" in rows[refused[0]][1] and "refused by policy" in rows[refused[0]][1]
    assert {s for m, (s, _) in rows.items() if m != refused[0]} == {"sent"}
    assert stats["sent"] == len(rows) - 1 == len(smtp_server.messages)
    assert stats["unsent"] == 1
    assert bot.run_once()["sent"] == 0 and len(smtp_server.rejected) == 1
    bot.close()


def test_a_second_bot_on_the_same_state_exits_with_one_line(tmp_path, public_inbox_factory,
                                                            smtp_server):
    inbox, cfg = served(tmp_path, public_inbox_factory, smtp_server)
    first = Bot(load_config(cfg))
    try:
        p = run_bot(cfg)
    finally:
        first.close()
    assert p.returncode == 2 and not p.stdout
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(f"reviewbot: {tmp_path}/state.sqlite")
    assert f"in use by another reviewbot bot (pid {os.getpid()})" in p.stderr
    assert not smtp_server.messages
    assert run_bot(cfg).returncode == 0 and smtp_server.messages, "the lock is released on close"


def test_a_lost_state_file_does_not_resend_what_the_archive_has(tmp_path, public_inbox_factory,
                                                               smtp_server):
    inbox, cfg = served(tmp_path, public_inbox_factory, smtp_server)
    bot = Bot(load_config(cfg))
    n = bot.run_once()["sent"]
    bot.close()
    assert n >= 1 and len(smtp_server.messages) == n
    for f in tmp_path.glob("state.sqlite*"):
        f.unlink()
    bot = Bot(load_config(cfg))
    stats = bot.run_once()
    bot.close()
    assert stats["reviewed"] == 1 and stats["sent"] == 0
    assert len(smtp_server.messages) == n
    assert {s for (s,) in db_rows(tmp_path, "SELECT status FROM replies")} == {"sent"}
    assert inbox.emergency_is_empty()


def test_a_failed_review_is_retried_with_capped_backoff_once_the_config_is_fixed(
        tmp_path, public_inbox_factory, smtp_server, caplog):
    inbox = public_inbox_factory(series_mbox())
    smtp_server.route(inbox)
    clock = [1000.0]
    cfg = write_config(tmp_path, inbox, smtp_server, retry=60, retry_max=100)
    broken = cfg.read_text().replace('tree = ""', f'tree = "{tmp_path}/no-such-tree"')
    cfg.write_text(broken)
    bot = Bot(load_config(cfg), now=lambda: clock[0])
    with caplog.at_level("ERROR"):
        assert bot.run_once()["failed"] == 1
    assert "review failed" in caplog.text and "no-such-tree" in caplog.text
    waits = []
    for _ in range(2):
        [(status, attempts, retry_at)] = db_rows(tmp_path, "SELECT status, attempts, retry_at "
                                                           "FROM series")
        assert status == "failed"
        waits.append(retry_at - clock[0])
        assert bot.run_once()["failed"] == 0, "retried before its time"
        clock[0] = retry_at
        bot.run_once()
    assert waits == [60, 100], "doubling from retry, capped at retry_max"
    bot.close()
    assert not smtp_server.messages
    cfg.write_text(broken.replace(f'tree = "{tmp_path}/no-such-tree"', 'tree = ""'))
    bot = Bot(load_config(cfg), now=lambda: clock[0] + 100)
    stats = bot.run_once()
    bot.close()
    assert stats["reviewed"] == 1 and stats["sent"] == len(smtp_server.messages) >= 1
    assert db_rows(tmp_path, "SELECT status FROM series") == [("done",)]


def _can_mount_tmpfs(tmp_path) -> bool:
    d = tmp_path / "probe"
    d.mkdir()
    p = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=4k none {d}"],
                       capture_output=True)
    return p.returncode == 0


def test_dry_run_on_a_full_disk_leaves_no_short_eml_and_does_not_mark_done(
        tmp_path, public_inbox_factory):
    if shutil.which("unshare") is None or not _can_mount_tmpfs(tmp_path):
        pytest.skip("needs unshare -rm and tmpfs to make a full disk")
    inbox = public_inbox_factory(series_mbox())
    cfg = write_config(tmp_path, inbox, None)
    out = tmp_path / "outbox"
    out.mkdir()
    # a 4 KiB tmpfs, filled, over the outbox, for the bot alone
    script = (f"mount -t tmpfs -o size=4k none {out} && "
              f"dd if=/dev/zero of={out}/fill bs=4096 count=1 2>/dev/null; "
              f"{sys.executable} -m reviewbot bot --config {cfg} --once; rc=$?; "
              f"find {out} -type f ! -name fill -printf '%s %f\\n' > {tmp_path}/left; exit $rc")
    p = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 1, p.stderr
    assert (tmp_path / "left").read_text() == "", "a file was left on the full disk"
    assert "No space left on device" in p.stderr and "review(s) failed" in p.stderr
    assert db_rows(tmp_path, "SELECT status FROM series") == [("failed",)]
    assert db_rows(tmp_path, "SELECT count(*) FROM replies") == [(0,)]
    # room again (the real, empty outbox): retried when due, every file whole
    db = sqlite3.connect(tmp_path / "state.sqlite")
    db.execute("UPDATE series SET retry_at=0")
    db.commit()
    db.close()
    p = run_bot(cfg)
    assert p.returncode == 0, p.stderr
    emls = sorted(out.glob("*.eml"))
    assert emls and all(f.stat().st_size > 500 for f in emls)
    assert not list(out.glob(".*"))
    assert db_rows(tmp_path, "SELECT status FROM series") == [("done",)]


def test_a_purged_blob_stalls_only_its_own_series(tmp_path, public_inbox_factory, smtp_server):
    a = series_mbox()
    b = series_mbox(ids=("b0@example.org", "b1@example.org", "b2@example.org"), headers=OTHER)
    inbox = public_inbox_factory(a, b)
    smtp_server.route(inbox)
    clock = [1000.0]
    cfg = load_config(write_config(tmp_path, inbox, smtp_server, settle=500))
    bot = Bot(cfg, now=lambda: clock[0])
    assert bot.run_once()["patches"] == 6
    # the list admin purges patch 1 of series A and garbage-collects the epoch
    victim = next(m for m in split_mboxrd(a) if f"<{P1}>".encode() in m)
    purge = subprocess.run(["public-inbox-purge", str(inbox.inbox_dir)], input=victim,
                           env=inbox.pi_env, capture_output=True)
    assert purge.returncode == 0, purge.stderr
    git = ["git", "-C", str(inbox.epoch_git)]
    subprocess.run(git + ["reflog", "expire", "--expire=now", "--all"], check=True)
    subprocess.run(git + ["gc", "-q", "--prune=now"], check=True)
    clock[0] += 600
    stats = bot.run_once()
    bot.close()
    assert stats["reviewed"] == 1 and stats["failed"] == 1
    status = dict(db_rows(tmp_path, "SELECT author, status FROM series"))
    assert status == {"matthew.r.wilcox@intel.com": "failed", "dora.lin@example.org": "done"}
    assert smtp_server.messages and all(
        "b0@example.org" in r.message()["References"] for r in smtp_server.messages)


LOOPS = {
    "auto": "Auto-Submitted: auto-replied\n",
    "bulk": "Precedence: bulk\n",
    "xloop": f"X-Loop: {BOT_ADDR}\n",
    "munged": "X-Mailer: reviewbot 0.1.0\n",
    "otherlist": "X-Mailing-List: linux-kernel@vger.kernel.org\n",
}


def test_loop_guard_skips_robots_own_mail_behind_a_munged_from_and_list_loops(
        tmp_path, public_inbox_factory, smtp_server):
    mboxes = []
    for i, (name, extra) in enumerate(LOOPS.items()):
        who = HEADERS.replace("Matthew Wilcox <matthew.r.wilcox@intel.com>",
                              f"Sender {i} <s{i}@example.org>")
        if name == "munged":
            who = HEADERS.replace("Matthew Wilcox <matthew.r.wilcox@intel.com>",
                                  "'reviewbot via linux-mm' <linux-mm@kvack.org>")
        mboxes.append(series_mbox(ids=tuple(f"{name}{k}@example.org" for k in range(3)),
                                  headers=who + extra))
    inbox = public_inbox_factory(*mboxes, series_mbox())
    smtp_server.route(inbox)
    bot = Bot(load_config(write_config(tmp_path, inbox, smtp_server)))
    stats = bot.run_once()
    bot.close()
    assert stats["reviewed"] == 1 and stats["patches"] == 3
    assert {r.message()["References"].split()[0] for r in smtp_server.messages} == {f"<{COVER}>"}


def test_bot_once_exit_status_and_summary_when_nothing_could_be_sent(
        tmp_path, public_inbox_factory, smtp_server):
    inbox = public_inbox_factory(series_mbox())
    smtp_server.route(inbox)
    smtp_server.before_accept(lambda rec: "554 5.7.1 no (test)")
    p = run_bot(write_config(tmp_path, inbox, smtp_server))
    n = len(smtp_server.rejected)
    assert n >= 1 and p.returncode == 1
    assert p.stdout.strip().endswith(f"sent=0 failed=0 unsent={n} errors=0")
    assert p.stderr.splitlines()[-1] == (f"reviewbot: bot --once: {n} reply(ies) not sent "
                                         "(see the log above)")


def test_bot_once_exit_status_when_an_epoch_head_is_unreadable(tmp_path, public_inbox_factory):
    inbox = public_inbox_factory(series_mbox())
    epoch = inbox.epoch_git
    ref = (epoch / "HEAD").read_text().split()[1]
    (epoch / ref).parent.mkdir(parents=True, exist_ok=True)
    (epoch / ref).write_text("not a sha\n")
    p = run_bot(write_config(tmp_path, inbox, None))
    assert p.returncode == 1
    assert f"{epoch}: HEAD ({ref}) cannot be read" in p.stderr
    assert p.stderr.splitlines()[-1].startswith("reviewbot: bot --once: 1 archive(s) unreadable")


def test_reply_send_rerun_after_a_partial_failure_sends_only_what_was_not_accepted(
        tmp_path, smtp_server):
    env = sendemail_env(tmp_path, smtp_server.host, smtp_server.port)
    seen = []

    def refuse_second(rec):
        seen.append(rec)
        return "550 5.3.4 message too big for this hour (test)" if len(seen) == 2 else None
    smtp_server.before_accept(refuse_second)
    args = [sys.executable, "-m", "reviewbot", "reply", "--bundled", "--list",
            "linux-mm@kvack.org", "--send"]
    first = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 2 and "550" in first.stderr
    assert len(smtp_server.messages) == 1
    smtp_server.before_accept(None)
    second = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr
    ids = accepted_ids(smtp_server)
    assert len(ids) == 2 and set(ids.values()) == {1}, ids
    first_id = smtp_server.messages[0].message()["Message-ID"].strip("<>")
    assert f"reviewbot: {first_id}: already sent, not sent again" in second.stderr


def test_a_lost_state_and_a_new_bot_address_still_do_not_answer_a_patch_twice(
        tmp_path, public_inbox_factory, smtp_server):
    inbox, cfg = served(tmp_path, public_inbox_factory, smtp_server)
    bot = Bot(load_config(cfg))
    n = bot.run_once()["sent"]
    bot.close()
    assert n >= 1
    for f in tmp_path.glob("state.sqlite*"):
        f.unlink()
    # another domain gives other Message-IDs; the archive still shows the bot's replies (its
    # X-Mailer) under the same patches
    cfg.write_text(cfg.read_text().replace(BOT_ADDR, "reviewbot@new.example.net"))
    bot = Bot(load_config(cfg))
    stats = bot.run_once()
    bot.close()
    assert stats["reviewed"] == 1 and stats["sent"] == 0 and len(smtp_server.messages) == n
    rows = db_rows(tmp_path, "SELECT msgid, status FROM replies")
    assert rows and all(m.endswith("@new.example.net") and s == "sent" for m, s in rows)
