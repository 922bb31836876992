"""The list bot against a real public-inbox v2 inbox and a real SMTP server on 127.0.0.1,
with the real review pipeline (diff-only mode: the sample series needs no tree)."""
from __future__ import annotations

import email
import email.policy
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support.mbox import mboxrd_bytes  # noqa: E402
from test_render_reply import (COVER, P1, P2, HEADERS, make_mail, sample_series,  # noqa: E402
                               P2_BODY, cow_body)

from reviewbot.deliver.bot import Bot
from reviewbot.deliver.botconfig import load_config

BOT_ADDR = "reviewbot@bots.example.net"


def write_config(tmp_path, inbox, smtp=None, **bot) -> Path:
    opts = {"hold": 3600, "dry_run": smtp is None, "resend_after": 0, **bot}
    tmp_path.mkdir(parents=True, exist_ok=True)
    lines = ["[bot]", f'from = "reviewbot <{BOT_ADDR}>"', f'state = "{tmp_path}/state.sqlite"',
             f'outdir = "{tmp_path}/outbox"', 'tree = ""']
    policy = {k: opts.pop(k) for k in list(opts) if k in (
        "recipients", "no_findings", "remail_still_present", "report_preexisting")}
    for k, v in opts.items():
        lines.append(f"{k} = {toml(v)}")
    lines += ["", "[[list]]", f'address = "{inbox.address}"', f'inbox = "{inbox.inbox_dir}"']
    lines += [f"{k} = {toml(v)}" for k, v in policy.items()]
    if smtp is not None:
        lines += ["", "[smtp]", f'smtpServer = "{smtp.host}"', f"smtpServerPort = {smtp.port}",
                  "retries = 1", "backoff = 0"]
    path = tmp_path / "bot.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml(x) for x in v) + "]"
    return f'"{v}"'


def series_mbox(headers_from=None, rev=11, ids=(COVER, P1, P2), patches=(1, 2),
                headers: str = HEADERS, body_extra: str = "") -> bytes:
    """The sample series as an mbox; `headers` replaces the mails' From/To/Cc block and
    `body_extra` is put at the top of each patch's changelog."""
    _, mails = sample_series()
    out = []
    for mid, m in zip(ids, [mails[COVER], mails[P1], mails[P2]]):
        idx = [COVER, P1, P2].index([k for k, v in mails.items() if v is m][0])
        if idx and idx not in patches:
            continue
        subj = str(m["Subject"]).replace("v11", f"v{rev}")
        body = m.get_payload()
        parent = ids[0] if idx else None
        mm = make_mail(mid, subj, body_extra + body if idx else body, parent, headers)
        if headers_from:
            mm.replace_header("From", headers_from)
        out.append(mm)
    return mboxrd_bytes(out)


def sent_to_archive(smtp):
    return [r.message() for r in smtp.messages]


def test_bot_replies_once_in_thread_and_rerun_sends_nothing(tmp_path, public_inbox_factory, smtp_server):
    public_inbox = public_inbox_factory(series_mbox())
    smtp_server.route(public_inbox)
    bot = Bot(load_config(write_config(tmp_path, public_inbox, smtp_server, settle=0)))
    stats = bot.run_once()
    msgs = sent_to_archive(smtp_server)
    # the series' findings are all on patch 1: one reply, under it
    assert [m["In-Reply-To"] for m in msgs] == [f"<{P1}>"]
    assert stats["reviewed"] == 1 and stats["sent"] == 1
    db = sqlite3.connect(tmp_path / "state.sqlite")
    assert db.execute("SELECT msgid, status FROM replies").fetchall() == [
        (msgs[0]["Message-ID"].strip("<>"), "sent")]
    db.close()
    for r in smtp_server.messages:
        assert r.delivered_to == [public_inbox.address]
        assert set(a.lower() for a in r.rcpt_tos) <= {
            "matthew.r.wilcox@intel.com", "linux-mm@kvack.org", "linux-fsdevel@vger.kernel.org",
            "ross.zwisler@linux.intel.com"}
    thread = public_inbox.thread_msgids(COVER)
    assert all(m["Message-ID"].strip("<>") in thread for m in msgs)
    assert public_inbox.emergency_is_empty()
    n = len(smtp_server.messages)
    assert bot.run_once()["sent"] == 0
    bot.close()
    bot = Bot(load_config(write_config(tmp_path, public_inbox, smtp_server, settle=0)))
    assert bot.run_once() == {"messages": 0, "patches": 0, "skipped": 0, "reviewed": 0,
                              "sent": 0, "failed": 0, "unsent": 0, "errors": 0}
    assert len(smtp_server.messages) == n
    bot.close()


def test_dry_run_is_the_default_and_writes_eml(tmp_path, public_inbox_factory, smtp_server):
    public_inbox = public_inbox_factory(series_mbox())
    cfg = write_config(tmp_path, public_inbox, None)
    assert "dry_run = true" in cfg.read_text()
    text = cfg.read_text().replace("dry_run = true\n", "")
    cfg.write_text(text + f'\n[smtp]\nsmtpServer = "127.0.0.1"\nsmtpServerPort = {smtp_server.port}\n')
    bot = Bot(load_config(cfg))
    assert bot.run_once()["sent"] == 0
    emls = sorted((tmp_path / "outbox").glob("*.eml"))
    assert emls and not smtp_server.messages
    m = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    assert m["Subject"].startswith("Re: [PATCH v11")
    bot.close()


def test_smtp_down_retries_later_and_loses_nothing(tmp_path, public_inbox_factory, smtp_server):
    public_inbox = public_inbox_factory(series_mbox())
    smtp_server.route(public_inbox)
    smtp_server.fail_next(100)
    bot = Bot(load_config(write_config(tmp_path, public_inbox, smtp_server)))
    assert bot.run_once()["sent"] == 0
    db = sqlite3.connect(tmp_path / "state.sqlite")
    rows = db.execute("SELECT status, attempts, last_error FROM replies").fetchall()
    assert rows and all(s == "queued" and a >= 1 and "451" in e for s, a, e in rows)
    assert not smtp_server.messages and smtp_server.rejected
    smtp_server.fail_next(0)
    sent = bot.run_once()["sent"]
    assert sent == len(rows) == len(smtp_server.messages)
    assert db.execute("SELECT count(*) FROM replies WHERE status='sent'").fetchone()[0] == sent
    ids = [r.message()["Message-ID"] for r in smtp_server.messages]
    assert len(ids) == len(set(ids))
    bot.close()


def test_crash_after_smtp_accepted_is_found_in_archive_not_resent(tmp_path, public_inbox_factory,
                                                                   smtp_server):
    public_inbox = public_inbox_factory(series_mbox())
    smtp_server.route(public_inbox)
    bot = Bot(load_config(write_config(tmp_path, public_inbox, smtp_server)))
    bot.run_once()
    n = len(smtp_server.messages)
    bot.close()
    # the state a SIGKILL between the SMTP 250 and the 'sent' record leaves behind
    db = sqlite3.connect(tmp_path / "state.sqlite")
    db.execute("UPDATE replies SET status='sending'")
    db.execute("UPDATE series SET status='replying'")
    db.commit()
    bot = Bot(load_config(write_config(tmp_path, public_inbox, smtp_server)))
    bot.run_once()
    assert len(smtp_server.messages) == n
    assert {r[0] for r in db.execute("SELECT status FROM replies")} == {"sent"}
    assert {r[0] for r in db.execute("SELECT status FROM series")} == {"done"}
    bot.close()


def test_loop_guard_muted_malformed_and_huge(tmp_path, public_inbox_factory, smtp_server, caplog):
    own = series_mbox(headers_from=f"reviewbot <{BOT_ADDR}>", ids=("o0@x", "o1@x", "o2@x"))
    muted = series_mbox(headers_from="Muted <muted@example.org>", ids=("m0@x", "m1@x", "m2@x"))
    bad = (b"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: <<<@>>>\nSubject: [PATCH 1/1] x\n"
           b"Message-ID: <bad1@x>\nDate: Thu, 25 Sep 2014 16:33:21 -0400\n\nbody\n\n"
           b"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: A <a@example.org>\n"
           b"Subject: [PATCH 7/3] x\nMessage-ID: <bad2@x>\nDate: Thu, 25 Sep 2014 16:33:21 -0400\n"
           b"\nbody\n\n")
    huge_body = "x" * 300_000
    huge = mboxrd_bytes([make_mail("huge1@x", "[PATCH] mm: huge", huge_body + "\n")])
    public_inbox = public_inbox_factory(own + muted + bad + huge + series_mbox())
    smtp_server.route(public_inbox)
    cfg = write_config(tmp_path, public_inbox, smtp_server, muted=["MUTED@example.org"],
                       max_message_bytes=200_000)
    bot = Bot(load_config(cfg))
    with caplog.at_level("WARNING"):
        stats = bot.run_once()
    assert stats["reviewed"] == 1 and stats["skipped"] == 3
    assert "malformed message skipped" in caplog.text and "larger than 200000" in caplog.text
    parents = {r.message()["In-Reply-To"] for r in smtp_server.messages}
    assert parents and parents <= {f"<{COVER}>", f"<{P1}>", f"<{P2}>"}
    bot.close()


def test_incomplete_series_reviewed_after_hold_and_says_so(tmp_path, public_inbox_factory, smtp_server):
    public_inbox = public_inbox_factory(series_mbox(patches=(1,)))
    smtp_server.route(public_inbox)
    clock = [1000.0]
    cfg = load_config(write_config(tmp_path, public_inbox, smtp_server, hold=600))
    bot = Bot(cfg, now=lambda: clock[0])
    assert bot.run_once()["reviewed"] == 0
    clock[0] += 601
    assert bot.run_once()["reviewed"] == 1
    body = " ".join(smtp_server.messages[0].message().get_content().split())
    assert "This series looks incomplete: patch 2 of 2 did not reach the archive" in body
    bot.close()


def test_v2_still_present_findings_are_not_mailed_again(tmp_path, public_inbox_factory, smtp_server):
    public_inbox = public_inbox_factory(series_mbox())
    smtp_server.route(public_inbox)
    cfg = write_config(tmp_path, public_inbox, smtp_server)
    bot = Bot(load_config(cfg))
    bot.run_once()
    n = len(smtp_server.messages)
    assert n >= 1
    public_inbox.import_mbox(series_mbox(rev=12, ids=("v2-0@x", "v2-1@x", "v2-2@x")))
    assert bot.run_once()["reviewed"] == 1
    assert len(smtp_server.messages) == n
    db = sqlite3.connect(tmp_path / "state.sqlite")
    statuses = {r[0] for r in db.execute(
        "SELECT f.status FROM findings f JOIN series s ON s.key=f.series WHERE s.revision=12")}
    assert statuses == {"still present"}
    bot.close()
    text = cfg.read_text().replace('address = "linux-mm@kvack.org"',
                                   'address = "linux-mm@kvack.org"\nremail_still_present = true')
    cfg.write_text(text)
    public_inbox.import_mbox(series_mbox(rev=13, ids=("v3-0@x", "v3-1@x", "v3-2@x")))
    bot = Bot(load_config(cfg))
    bot.run_once()
    new = [r.message() for r in smtp_server.messages[n:]]
    assert new and all("v13" in m["Subject"] for m in new)
    assert "also reported on v12" in " ".join(new[0].get_content().split())
    bot.close()


def test_no_findings_policy_none_or_author_only(tmp_path, public_inbox_factory, smtp_server):
    from reviewbot import corpus
    public_inbox = public_inbox_factory(corpus.thread_path("clean"))
    smtp_server.route(public_inbox)
    bot = Bot(load_config(write_config(tmp_path / "a", public_inbox, smtp_server)))
    assert bot.run_once()["reviewed"] == 1 and not smtp_server.messages
    bot.close()
    bot = Bot(load_config(write_config(tmp_path / "b", public_inbox, smtp_server,
                                       no_findings="author")))
    assert bot.run_once()["sent"] == 1
    r = smtp_server.messages[0]
    assert r.rcpt_tos == ["dmitri.vance@example.org"] and not r.delivered_to
    m = r.message()
    assert m["Cc"] is None and m["In-Reply-To"] == "<20150203113000.7341-0-dmitri.vance@example.org>"
    assert "has no questions about it" in " ".join(m.get_content().split())
    bot.close()


@pytest.mark.parametrize("prefix", [b"[RFC", b"[RFC PATCH v3"])
def test_rfc_series_are_reviewed_like_patches(prefix, tmp_path, public_inbox_factory,
                                               smtp_server):
    mbox = series_mbox().replace(b"Subject: [PATCH v11", b"Subject: " + prefix)
    assert mbox.count(b"Subject: " + prefix + b" ") == 3
    public_inbox = public_inbox_factory(mbox)
    smtp_server.route(public_inbox)
    bot = Bot(load_config(write_config(tmp_path, public_inbox, smtp_server)))
    stats = bot.run_once()
    bot.close()
    assert stats["patches"] == 3 and stats["reviewed"] == 1 and stats["sent"] == 1
    m = smtp_server.messages[0].message()
    assert m["In-Reply-To"] == f"<{P1}>" and m["Subject"].startswith("Re: " + prefix.decode())
    # a long Subject stays on one line, not folded right after its colon
    assert b"\nSubject: Re: " + prefix + b" 1/2] mm: Allow page fault handlers to perform the COW\n" \
        in smtp_server.messages[0].data
