"""What reviewers already said: a finding a human reply raised is referred to that reply, in the
JSON, the text and the bot's reply, instead of being asked again."""
from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

from reviewbot import corpus

PATCH1 = "20150112101500.4107-1-willa@example.org"
TOBIAS = "20150113154210.GA2718@tobias.example.com"


def reviewbot(*args):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd="/", env=dict(os.environ), timeout=300)


def reply_mail(msgid: str, body: str, frm: str = "Hollis Marr <hollis.marr@example.com>",
               extra: str = "") -> str:
    return (f"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: {frm}\n"
            f"To: Willa Fairweather <willa@example.org>\nCc: linux-mm@kvack.org\n"
            f"Date: Wed, 14 Jan 2015 09:00:00 +0000\n"
            f"Subject: Re: [PATCH v2 1/2] mm: allow page fault handlers to perform the COW\n"
            f"Message-ID: <{msgid}>\nIn-Reply-To: <{PATCH1}>\nReferences: <{PATCH1}>\n{extra}"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=\"utf-8\"\n\n{body}\n")


AROUND = """On Mon, Jan 12, 2015 at 10:15:01AM +0000, Willa Fairweather wrote:
> +	struct page *cow_page;		/* Handler may choose to COW */

Nothing sets it in do_fault_around(): that vmf goes to ->map_pages with
whatever was on the stack.  Please clear it there as well.

Hollis
"""


def review(tmp_path: Path, *mails: str, fmt: str = "json"):
    mbox = tmp_path / "thread.mbox"
    mbox.write_text(corpus.thread_path("cow").read_text() + "".join(mails))
    tree = tmp_path / "tree"
    r = reviewbot("review", "--mbox", str(mbox), "--tree", str(_tree(tree)), "--no-simulate",
                  "--format", fmt)
    assert r.returncode == 1, r.stderr
    return json.loads(r.stdout) if fmt == "json" else r.stdout


def _tree(path: Path) -> Path:
    if not path.exists():
        corpus.build_tree_repo(path)
    return path


def by_function(rep) -> dict[str, dict]:
    return {f["function"]: f for f in rep["findings"] if f["patch"] == PATCH1}


def test_a_reply_that_raised_the_contract_is_named_and_the_unraised_site_is_not(tmp_path):
    rep = review(tmp_path)
    found = by_function(rep)
    # Tobias asks why __do_fault() tests the page rather than VM_FAULT_LOCKED
    contract = found["__do_fault"]
    assert [r["msgid"] for r in contract["raised_in"]] == [TOBIAS]
    assert contract["raised_in"][0]["author"] == "Tobias Lindqvist"
    assert "__do_fault()" in contract["raised_in"][0]["excerpt"]
    # nobody mentioned do_fault_around(): the bot's own finding stands alone
    assert "raised_in" not in found["do_fault_around"]


def test_a_new_reply_about_the_site_marks_that_finding_and_the_bot_reply_refers_to_it(tmp_path):
    rep = review(tmp_path, reply_mail("hollis-1@example.com", AROUND))
    around = by_function(rep)["do_fault_around"]
    assert [r["msgid"] for r in around["raised_in"]] == ["hollis-1@example.com"]
    assert "do_fault_around()" in around["raised_in"][0]["excerpt"]

    mbox = tmp_path / "thread.mbox"
    out = tmp_path / "out"
    r = reviewbot("reply", "--mbox", str(mbox), "--tree", str(tmp_path / "tree"),
                  "--no-simulate", "--outdir", str(out))
    assert r.returncode in (0, 1), r.stderr
    texts = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             .get_body(("plain",)).get_content() for p in sorted(out.glob("*.eml"))]
    text = next(t for t in texts if "do_fault_around" in t)
    flat = " ".join(text.split())
    assert "Hollis Marr already raised this in <hollis-1@example.com>" in flat
    assert "Is cow_page set in do_fault_around()" not in flat


def test_mail_from_a_bot_or_quoting_only_is_not_a_remark(tmp_path):
    bot = reply_mail("bot-1@example.net", AROUND, frm="reviewbot <bot@example.net>",
                     extra="Auto-Submitted: auto-generated\n")
    quoted_only = reply_mail("quote-1@example.com", "> Nothing sets it in do_fault_around()\n"
                             "> cow_page\n")
    rep = review(tmp_path, bot, quoted_only)
    assert "raised_in" not in by_function(rep)["do_fault_around"]


def test_the_text_report_says_who_raised_it(tmp_path):
    out = review(tmp_path, reply_mail("hollis-1@example.com", AROUND), fmt="text")
    block = out[out.index("do_fault_around() builds"):]
    assert "already raised by Hollis Marr in <hollis-1@example.com>" in block.split("\n\n")[0]
