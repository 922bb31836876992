"""Pointing the bot at a public list: what the world's mail may put in a From, Cc or
Message-ID must never become a program's option, a shell command or a recipient.

Real parts: a public-inbox v2 inbox, the bot, SMTP on loopback (aiosmtpd), a sendmail-like
program (a script that records its argv, as git send-email's sendemail.smtpServer=/path).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from support.mbox import split_mboxrd  # noqa: E402
from support.smtp import sendemail_env  # noqa: E402
from test_deliver_bot import BOT_ADDR, series_mbox, write_config  # noqa: E402
from test_render_reply import COVER, HEADERS  # noqa: E402

from reviewbot import corpus
from reviewbot.deliver.bot import Bot
from reviewbot.deliver.botconfig import load_config

REPO = Path(__file__).resolve().parents[1]
EVIL = ["-X/tmp/sendmail.log@example.org", "--file=x@example.org", "-oQ/tmp@x.org"]
AUTHOR = "matthew.r.wilcox@intel.com"


def sendmail_program(tmp_path) -> tuple[Path, Path]:
    """A sendmail stand-in: appends its argv (NUL-separated, one call a line) to a log."""
    log = tmp_path / "argv.log"
    prog = tmp_path / "sendmail"
    prog.write_text("#!/bin/sh\n"
                    f"for a in \"$0\" \"$@\"; do printf '%s\\0' \"$a\"; done >> '{log}'\n"
                    f"echo >> '{log}'\ncat > /dev/null\n")
    prog.chmod(0o755)
    return prog, log


def argv_calls(log: Path) -> list[list[str]]:
    return [l.rstrip("\0").split("\0") for l in log.read_text().splitlines() if l]


def evil_headers() -> str:
    return HEADERS.replace("Cc: linux-fsdevel@vger.kernel.org,",
                           "Cc: " + ", ".join(EVIL) + ", linux-fsdevel@vger.kernel.org,")


def assert_no_option_from_mail(calls, prog):
    assert calls
    for argv in calls:
        assert argv[:3] == [str(prog), "-i", "--"], argv
        rcpts = argv[3:]
        assert AUTHOR in rcpts and "linux-mm@kvack.org" in rcpts
        assert not [a for a in rcpts if a.startswith("-")], argv
        assert not set(EVIL) & set(argv)


def test_bot_never_hands_a_mail_address_to_sendmail_as_an_option(tmp_path, public_inbox_factory):
    inbox = public_inbox_factory(series_mbox(headers=evil_headers()))
    prog, log = sendmail_program(tmp_path)
    cfg = write_config(tmp_path, inbox, None, dry_run=False)
    cfg.write_text(cfg.read_text() + f'\n[smtp]\nsmtpServer = "{prog}"\nretries = 0\n')
    bot = Bot(load_config(cfg))
    stats = bot.run_once()
    bot.close()
    assert_no_option_from_mail(argv_calls(log), prog)
    assert stats["sent"] == len(argv_calls(log)) and stats["unsent"] == 0


def test_reply_send_never_hands_a_mail_address_to_sendmail_as_an_option(tmp_path):
    tree = tmp_path / "tree"
    corpus.build_tree_repo(tree)
    mbox = tmp_path / "evil.mbox"
    data = corpus.thread_path("cow").read_bytes()
    mbox.write_bytes(re.sub(rb"\nCc: ", ("\nCc: " + ", ".join(EVIL) + ", ").encode(),
                            re.sub(rb"\nFrom: [^\n]*", b"\nFrom: Willa <willa@example.org>", data)))
    allow = tmp_path / "MAINTAINERS"
    allow.write_text("".join(f"M:\tEvil <{a}>\n" for a in EVIL))
    prog, log = sendmail_program(tmp_path)
    env = sendemail_env(tmp_path, str(prog))
    p = subprocess.run([sys.executable, "-m", "reviewbot", "reply", "--mbox", str(mbox),
                        "--tree", str(tree), "--no-simulate", "--list", "linux-mm@kvack.org",
                        "--allow-cc", str(allow), "--send"],
                       cwd=REPO, env=env, capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    calls = argv_calls(log)
    assert calls
    for argv in calls:
        assert argv[:3] == [str(prog), "-i", "--"], argv
        assert "willa@example.org" in argv and "linux-mm@kvack.org" in argv
        assert not [a for a in argv[3:] if a.startswith("-")] and not set(EVIL) & set(argv)


def reproduce_commands(body: str) -> str:
    """The 'To reproduce offline' block as a user would paste it into a shell."""
    block = body.split("To reproduce offline:", 1)[1].split("\n-- \n", 1)[0]
    return block.strip("\n") + "\n"


def test_reproduce_lines_run_nothing_but_b4_and_reviewbot(tmp_path, public_inbox_factory):
    # '|', '$', '{' and '}' are all allowed in an RFC 5322 msg-id; '(' and ')' are not
    fits = "x|touch${IFS}pwned|@x.org"
    breaks = "y$(touch${IFS}pwned2)@x.org"
    mbox = series_mbox(ids=(fits, "p1-fits@x.org", "p2-fits@x.org")) + series_mbox(
        ids=(breaks, "p1-breaks@x.org", "p2-breaks@x.org"), headers_from="O <o@example.org>")
    inbox = public_inbox_factory(mbox)
    bot = Bot(load_config(write_config(tmp_path, inbox, None)))
    assert bot.run_once()["reviewed"] == 2
    bot.close()
    emls = sorted((tmp_path / "outbox").glob("*.eml"))
    bodies = {}
    from support.mbox import parse
    for f in emls:
        m = parse(f.read_bytes())
        bodies.setdefault("breaks" if "breaks" in m["References"] or breaks in m["References"]
                          else "fits", m.get_content())
    assert set(bodies) == {"fits", "breaks"}

    # run what was mailed, with b4 and reviewbot replaced by programs that print their argv
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    for name in ("b4", "reviewbot"):
        (bin_dir / name).write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '{name} %s\\n' "
                                    f"\"$a\"; done >> '{tmp_path}/calls'\n")
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    p = subprocess.run(["bash", "-c", reproduce_commands(bodies["fits"])], cwd=work, env=env,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    assert not list(work.iterdir()), "the mailed command created files"
    calls = (tmp_path / "calls").read_text().splitlines()
    assert f"b4 {fits}" in calls and f"reviewbot {fits}" in calls
    assert f"reviewbot ./{fits}.mbx" in calls

    # a Message-ID outside the grammar gets no command at all
    text = " ".join(bodies["breaks"].split())
    assert "not a valid RFC 5322 msg-id" in text and "b4 mbox" not in text
    assert "touch" not in text


def recipients_headers(n_cc: int) -> str:
    people = ", ".join(f"P{i} <p{i}@example.com>" for i in range(n_cc))
    return (f"From: Matthew Wilcox <{AUTHOR}>\n"
            "To: linux-mm@kvack.org, Outsider <outsider@elsewhere.example>\n"
            f"Cc: {people},\n linux-fsdevel@vger.kernel.org, {BOT_ADDR}\n"
            "X-Unknown-Header: hidden@elsewhere.example\n"
            "Date: Thu, 25 Sep 2014 16:33:21 -0400\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: 8bit\n")


def test_recipients_are_author_lists_and_a_capped_allow_list(tmp_path, public_inbox_factory,
                                                              smtp_server):
    inbox = public_inbox_factory(series_mbox(headers=recipients_headers(1000),
                                             body_extra="Cc: body-only@elsewhere.example\n\n"))
    smtp_server.route(inbox)
    allow = tmp_path / "MAINTAINERS"
    allow.parent.mkdir(parents=True, exist_ok=True)
    allow.write_text("MEMORY MANAGEMENT\n" + "".join(f"R:\tP{i} <p{i}@example.com>\n"
                                                     for i in range(0, 40, 2))
                     + "L:\tlinux-mm@kvack.org\nF:\tmm/\n")
    cfg = write_config(tmp_path, inbox, smtp_server, cc_allow=[str(allow)], max_cc=5)
    bot = Bot(load_config(cfg))
    stats = bot.run_once()
    bot.close()
    assert stats["sent"] == len(smtp_server.messages) >= 1
    allowed_people = {f"p{i}@example.com" for i in range(0, 40, 2)}
    for r in smtp_server.messages:
        rcpts = [a.lower() for a in r.rcpt_tos]
        people = [a for a in rcpts if a.endswith("@example.com")]
        assert rcpts[:2] == [AUTHOR, "linux-mm@kvack.org"]
        assert len(people) == 5 and set(people) <= allowed_people
        assert len(rcpts) == 7, rcpts
        m = r.message()
        headers = " ".join(str(m.get(h, "")) for h in ("To", "Cc", "Bcc")).lower()
        for outsider in ("outsider@", "hidden@", "body-only@", "linux-fsdevel@", BOT_ADDR):
            assert outsider not in headers and not any(a.startswith(outsider) for a in rcpts)


def test_author_only_policy_mails_the_author_alone(tmp_path, public_inbox_factory, smtp_server):
    inbox = public_inbox_factory(series_mbox(headers=recipients_headers(3)))
    smtp_server.route(inbox)
    bot = Bot(load_config(write_config(tmp_path, inbox, smtp_server, recipients="author",
                                       cc_allow=["p0@example.com"])))
    assert bot.run_once()["sent"] >= 1
    bot.close()
    assert {tuple(r.rcpt_tos) for r in smtp_server.messages} == {(AUTHOR,)}
