"""The fixtures in conftest.py drive REAL components: these tests prove it."""
from __future__ import annotations

import smtplib
import subprocess
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone

import pytest

from support import env as _env
from support import kernel as _kernel
from support.b4 import run_b4
from support.mbox import mboxrd_bytes, msgid, read_mboxrd, split_mboxrd, threads, write_mboxrd

REVIEW = "C01-v11-04-21-review-thread.mbox"
PATCH = "C01-v11-04-21-mm-allow-page-fault-handlers-to-perform-the-cow.mbox"
PATCH_MID = "1411677218-29146-5-git-send-email-matthew.r.wilcox@intel.com"


def reply_to(parent: EmailMessage, body: str, sender="Review Bot <bot@reviewbot.invalid>",
             list_addr="linux-mm@kvack.org") -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = str(parent["From"])
    m["Cc"] = list_addr
    subj = str(parent.get("Subject", "(no subject)"))
    m["Subject"] = subj if subj.lower().startswith("re:") else f"Re: {subj}"
    m["Date"] = format_datetime(datetime(2025, 11, 21, 12, 0, tzinfo=timezone.utc))
    m["Message-ID"] = make_msgid(domain="reviewbot.invalid")
    m["In-Reply-To"] = f"<{msgid(parent)}>"
    m["References"] = f"<{msgid(parent)}>"
    m.set_content(body)
    return m


def b4_mbox_ids(inbox, mid, tmp_path, home=None, nocache=False) -> set[str]:
    """Message-ids of the thread the real `b4 mbox` fetches from `inbox`."""
    outdir = tmp_path / "b4-out"
    outdir.mkdir(exist_ok=True)
    name = f"{len(list(outdir.iterdir()))}.mbx"
    run_b4(["mbox", *(["-C"] if nocache else []), "-o", str(outdir), "-n", name, mid], inbox, cwd=tmp_path,
           home=home or tmp_path / "b4-home")
    return {msgid(m) for m in read_mboxrd(outdir / name)}


# ---- public-inbox + b4 ---------------------------------------------------------------
def test_b4_fetches_seeded_thread(public_inbox_factory, shared_threads, tmp_path):
    mbox = shared_threads / REVIEW
    ibx = public_inbox_factory(mbox)
    assert ibx.url.startswith("http://127.0.0.1:") and ibx.url.endswith("/linux-mm/")
    msgs = read_mboxrd(mbox)
    assert len(msgs) == 4
    # public-inbox threads by In-Reply-To/References; one message of this file has
    # neither (nor a Subject), so it is a thread of its own.  b4 must get every
    # message of each thread, by any of its message-ids.
    groups = threads(msgs)
    assert sorted(map(len, groups)) == [1, 3]
    for group in groups:
        for mid in sorted(group):
            assert ibx.thread_msgids(mid) == group
            assert b4_mbox_ids(ibx, mid, tmp_path) == group
    assert set().union(*groups) == {msgid(m) for m in msgs}
    assert ibx.emergency_is_empty()


def test_threads_inbox_has_every_shared_message(threads_inbox, shared_threads):
    want = set()
    for f in shared_threads.glob("*.mbox"):
        want |= {msgid(m) for m in read_mboxrd(f)}
    assert want and all(threads_inbox.raw(mid) for mid in want)
    # the patch and its three linked reviews form one thread on the server
    got = threads_inbox.thread_msgids(PATCH_MID)
    assert PATCH_MID in got and "20141016091136.GC19075@thinkos.etherlink" in got


def test_mda_delivery_appears_in_thread_and_b4(public_inbox, shared_threads, tmp_path):
    ibx = public_inbox
    assert ibx.import_mbox(shared_threads / PATCH, shared_threads / REVIEW) == 5
    assert ibx.import_mbox(shared_threads / PATCH) == 0          # dedup on re-import
    before = ibx.thread_msgids(PATCH_MID)
    assert len(before) == 4
    home = tmp_path / "home"
    assert b4_mbox_ids(ibx, PATCH_MID, tmp_path, home=home) == before

    epoch_head = subprocess.run(["git", "--git-dir", str(ibx.epoch_git), "rev-parse", "HEAD"],
                                capture_output=True, text=True, check=True).stdout
    patch = ibx.thread(PATCH_MID)[0]
    reply = reply_to(patch, "Reviewed-by: Review Bot <bot@reviewbot.invalid>\n")
    p = ibx.deliver(reply)
    assert p.returncode == 0, p.stdout
    assert ibx.emergency_is_empty(), ibx.emergency_messages()
    after = ibx.thread_msgids(PATCH_MID)
    assert after == before | {msgid(reply)}
    # Same b4 HOME.  b4.cache-expire=0 alone is not enough right after a fetch:
    # liblore 0.10.1 serves a cache entry while int(age) > ttl is false, i.e.
    # within the same second.  -C (--no-cache) always refetches.
    assert b4_mbox_ids(ibx, PATCH_MID, tmp_path, home=home, nocache=True) == after
    # a follower bot sees a new commit in the epoch repo
    assert subprocess.run(["git", "--git-dir", str(ibx.epoch_git), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout != epoch_head


def test_mda_duplicate_lands_in_emergency(public_inbox, shared_threads):
    ibx = public_inbox
    ibx.import_mbox(shared_threads / PATCH)
    reply = reply_to(ibx.thread(PATCH_MID)[0], "first\n")
    ibx.deliver(reply)
    assert ibx.emergency_is_empty()
    ibx.deliver(reply)                     # same Message-ID: exits 0 but is refused
    assert not ibx.emergency_is_empty()


# ---- SMTP -----------------------------------------------------------------------------
def test_smtp_records_and_delivers_into_inbox(smtp_server, public_inbox, shared_threads):
    ibx = public_inbox
    ibx.import_mbox(shared_threads / PATCH)
    smtp_server.route(ibx)
    assert smtp_server.host == "127.0.0.1" and smtp_server.port
    reply = reply_to(ibx.thread(PATCH_MID)[0], "Looks fine to the bot.\n")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=30) as s:
        refused = s.send_message(reply)
    assert refused == {}
    (rec,) = smtp_server.messages
    assert rec.mail_from == "bot@reviewbot.invalid"
    assert sorted(rec.rcpt_tos) == ["linux-mm@kvack.org", "matthew.r.wilcox@intel.com"]
    assert rec.delivered_to == ["linux-mm@kvack.org"]
    assert rec.message()["Message-ID"] == reply["Message-ID"]
    assert msgid(reply) in ibx.thread_msgids(PATCH_MID)
    assert ibx.emergency_is_empty()


def test_smtp_fail_next_gives_451_then_accepts(smtp_server):
    smtp_server.fail_next(1)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@example.org", "b@example.org", "retry"
    m["Message-ID"] = make_msgid(domain="example.org")
    m.set_content("hello\n")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=30) as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.send_message(m)
        assert e.value.smtp_code == 451
        s.rset()
        s.send_message(m)
    assert len(smtp_server.rejected) == 1 and len(smtp_server.messages) == 1
    assert smtp_server.messages[0].message()["Subject"] == "retry"


# ---- mbox helper --------------------------------------------------------------------
def test_mboxrd_round_trip(tmp_path):
    raws = [b"From: a@b\nSubject: x\nMessage-ID: <1@b>\n\nFrom here\n>From there\nend\n",
            b"From: c@d\nSubject: y\nMessage-ID: <2@d>\n\nbody\n"]
    path = write_mboxrd(tmp_path / "t.mbox", raws)
    assert split_mboxrd(path.read_bytes()) == raws
    assert split_mboxrd(mboxrd_bytes(raws)) == raws
    assert b"\n>From here\n>>From there\n" in path.read_bytes()


# ---- kernel tree, Coccinelle ---------------------------------------------------------
def test_kernel_tree_is_the_pinned_debian_tree(kernel_tree):
    assert (kernel_tree / "mm" / "memory.c").is_file()
    assert (kernel_tree / "include" / "linux" / "mm.h").is_file()
    assert (kernel_tree / "arch" / "x86" / "Kconfig").is_file()     # a full tree, not a subset
    assert _kernel.head(kernel_tree) == _kernel.KERNEL_COMMIT
    out = subprocess.run(["git", "grep", "-n", "struct vm_fault"], cwd=kernel_tree,
                         capture_output=True, text=True, check=True).stdout
    memory = [line for line in out.splitlines() if line.startswith("mm/memory.c:")]
    assert len(memory) > 20
    assert "mm/memory.c:106:static vm_fault_t do_fault(struct vm_fault *vmf);" in memory
    assert any(line.startswith("include/linux/mm.h:") and "struct vm_fault {" in line
               for line in out.splitlines())


def test_spatch_and_spin_run():
    spatch = _env.require_command("spatch", "coccinelle")
    p = subprocess.run([spatch, "--version"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "spatch version" in p.stdout
    spin = _env.require_command("spin", "spin")
    p = subprocess.run([spin, "-V"], capture_output=True, text=True, timeout=60)
    assert "Spin Version" in p.stdout + p.stderr
