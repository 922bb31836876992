"""End to end: the bot (`python -m reviewbot bot`, a real subprocess) follows a real public-inbox
v2 inbox seeded with the bundled series, reviews with the real pipeline against the bundled
tree, sends through a real SMTP server that delivers list mail back into the inbox, and b4
fetches the thread.  Then the bot is SIGKILLed at several points and restarted."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from support.b4 import run_b4  # noqa: E402
from support.mbox import split_mboxrd, parse  # noqa: E402
from test_deliver_bot import write_config  # noqa: E402

from reviewbot import corpus

COW = corpus.thread_path("cow")
SERIES = [COW, corpus.thread_path("cow-missing-unlock"), corpus.thread_path("clean")]
REPO = Path(__file__).resolve().parents[1]


def bot_config(tmp_path, inbox, smtp) -> Path:
    cfg = write_config(tmp_path, inbox, smtp, poll=0.2)
    cfg.write_text(cfg.read_text().replace('tree = ""', 'tree = "bundled"'))
    return cfg


def start_bot(cfg: Path, once=True) -> subprocess.Popen:
    args = [sys.executable, "-m", "reviewbot", "bot", "--config", str(cfg), "-v"]
    return subprocess.Popen(args + (["--once"] if once else []), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def finish(p: subprocess.Popen, timeout=180) -> str:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err.decode()
    return err.decode()


def state(tmp_path, sql):
    """Rows from the bot's state; an error (no state file, no table) fails the test."""
    path = tmp_path / "state.sqlite"
    assert path.exists(), f"{path}: no state file"
    db = sqlite3.connect(path, timeout=30)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def poll_state(tmp_path, sql):
    """The same while the bot may still be creating its state: nothing yet is []."""
    if not (tmp_path / "state.sqlite").exists():
        return []
    try:
        return state(tmp_path, sql)
    except sqlite3.OperationalError:      # tables not created yet
        return []


def replies(smtp):
    return [r.message() for r in smtp.messages]


def patch_subjects(inbox) -> dict[str, str]:
    out = {}
    for mbox in SERIES:
        for raw in split_mboxrd(Path(mbox).read_bytes()):
            m = parse(raw)
            out[str(m["Message-ID"]).strip("<>")] = str(m["Subject"])
    return out


def test_bot_replies_land_threaded_and_b4_sees_them(tmp_path, public_inbox_factory, smtp_server):
    inbox = public_inbox_factory(COW)
    smtp_server.route(inbox)
    cfg = bot_config(tmp_path, inbox, smtp_server)
    log = finish(start_bot(cfg))
    sent = replies(smtp_server)
    assert sent, log
    subjects = patch_subjects(inbox)
    for m in sent:
        parent = m["In-Reply-To"].strip("<>")
        assert m["Subject"] == "Re: " + subjects[parent]
        refs = m["References"].split()
        assert refs[-1] == f"<{parent}>" and refs[0] == "<20150105101500.3021-0-willa@example.org>"
        assert "willa@example.org" in m["To"] and "linux-mm@kvack.org" in m["Cc"]
    # every series was reviewed and replied to; none failed
    assert {s for (s,) in state(tmp_path, "SELECT status FROM series")} == {"done"}
    assert inbox.emergency_is_empty()

    # b4 fetches the thread from the same inbox: each reply sits under its patch
    out = tmp_path / "b4"
    out.mkdir()
    run_b4(["mbox", "-C", "-o", str(out), "20150112101500.4107-0-willa@example.org"], inbox,
           home=tmp_path / "home")
    fetched = {str(m["Message-ID"]).strip("<>"): m
               for m in (parse(r) for f in out.glob("*.mbx")
                         for r in split_mboxrd(f.read_bytes()))}
    for m in sent:
        mid = m["Message-ID"].strip("<>")
        assert mid in fetched, f"{mid} not in b4's thread"
        assert fetched[mid]["In-Reply-To"] == m["In-Reply-To"]
        assert m["In-Reply-To"].strip("<>") in fetched
    # b4 am must not harvest anything from the bot's replies as a trailer
    am = run_b4(["am", "-C", "-o", str(tmp_path / "am"), "20150112101500.4107-0-willa@example.org"],
                inbox, home=tmp_path / "home")
    text = "".join(p.read_text() for p in (tmp_path / "am").glob("*.mbx"))
    assert "reviewbot" not in text.lower() and "reviewbot" not in am.stdout.lower()

    n = len(smtp_server.messages)
    finish(start_bot(cfg))
    assert len(smtp_server.messages) == n, "a second run sent mail again"


def _reference(tmp_path, public_inbox_factory, smtp_cls) -> set[str]:
    inbox = public_inbox_factory(*SERIES)
    srv = smtp_cls().start()
    try:
        srv.route(inbox)
        finish(start_bot(bot_config(tmp_path, inbox, srv)))
        ids = [m["Message-ID"] for m in replies(srv)]
        assert len(ids) == len(set(ids))
        return set(ids)
    finally:
        srv.stop()


def test_sigkill_at_several_points_no_duplicate_no_missed_series(tmp_path, public_inbox_factory,
                                                                  smtp_server):
    from support.smtp import SmtpServer
    ref_dir = tmp_path / "reference"
    ref_dir.mkdir()
    expected = _reference(ref_dir, public_inbox_factory, SmtpServer)
    assert expected

    inbox = public_inbox_factory(*SERIES)
    smtp_server.route(inbox)
    cfg = bot_config(tmp_path, inbox, smtp_server)
    # points: while following and once replies are queued (seen in the state), then inside
    # an SMTP transaction, from the server: before it accepts, and after it accepted and
    # delivered but before the 250 reaches the bot (the window where the bot cannot know)
    running: list = []

    def kill_from_server(when):
        def hook(rec):
            if running and running[0].poll() is None:
                os.killpg(running[0].pid, signal.SIGKILL)
                running.clear()
            return "451 4.3.0 the client is gone (test)" if when == "before" else None
        return hook

    points = [
        ("following", lambda: bool(poll_state(tmp_path, "SELECT 1 FROM messages LIMIT 1")), None),
        ("queued", lambda: bool(poll_state(
            tmp_path, "SELECT 1 FROM replies WHERE status IN ('queued','sending') LIMIT 1")),
         None),
        ("smtp before acceptance", None, "before"),
        ("smtp after acceptance", None, "after"),
    ]
    killed = []
    for name, cond, when in points:
        smtp_server.before_accept(kill_from_server("before") if when == "before" else None)
        smtp_server.after_accept(kill_from_server("after") if when == "after" else None)
        p = start_bot(cfg)
        running[:] = [p]
        deadline = time.monotonic() + 180
        while cond and p.poll() is None and time.monotonic() < deadline and not cond():
            time.sleep(0.005)
        if cond and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.communicate(timeout=300)
        if p.returncode == -signal.SIGKILL:
            killed.append(name + " [" + ",".join(sorted({s for (s,) in poll_state(
                tmp_path, "SELECT status FROM replies")})) + "]")
    smtp_server.before_accept(None)
    smtp_server.after_accept(None)
    assert [k for k in killed if k.startswith("smtp")] and len(killed) >= 3, killed
    assert any(k.startswith("smtp after acceptance [") and "sending" in k for k in killed), killed
    for _ in range(2):
        finish(start_bot(cfg))
    ids = [m["Message-ID"] for m in replies(smtp_server)]
    assert len(ids) == len(set(ids)), f"kills {killed}: duplicate replies"
    assert set(ids) == expected, f"kills {killed}: missed or extra replies"
    assert {s for (s,) in state(tmp_path, "SELECT status FROM series")} == {"done"}
    assert state(tmp_path, "SELECT count(*) FROM series") == [(len(state(
        ref_dir, "SELECT key FROM series")),)]
    assert inbox.emergency_is_empty()
