"""Replies to the list, parsed back with Python's email package as a mail client would."""
from __future__ import annotations

import email
import email.policy
import email.utils
import re

import pytest

from reviewbot.findings import Finding, PatchInfo, Report, Site
from reviewbot.render.reply import ReplyPolicy, render_replies

from support.env import shared_thread
from support.mbox import read_mboxrd

COW_2014 = "C01-v11-04-21-mm-allow-page-fault-handlers-to-perform-the-cow.mbox"
# Where patch 1/2's body comes from: the real 2014 mail (needs ../shared, skips on a fresh
# clone) or the bundled corpus patch of the same change (always there).
SOURCES = ("lore-2014", "corpus")
BOT = ("reviewbot", "reviewbot@bots.example.net")
LIST = "linux-mm@kvack.org"
COVER = "20141001.1-0-willy@example.org"
P1 = "20141001.1-1-willy@example.org"
P2 = "20141001.1-2-willy@example.org"

HEADERS = """From: Matthew Wilcox <matthew.r.wilcox@intel.com>
To: linux-mm@kvack.org
Cc: linux-fsdevel@vger.kernel.org, Ross Zwisler <ross.zwisler@linux.intel.com>,
 MATTHEW.R.WILCOX@intel.com, reviewbot@bots.example.net
Date: Thu, 25 Sep 2014 16:33:21 -0400
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit
"""

P2_BODY = """The shared fault path still assumes a locked page; say so.

Signed-off-by: Matthew Wilcox <matthew.r.wilcox@intel.com>
---
 mm/memory.c | 1 +
 1 file changed, 1 insertion(+)

diff --git a/mm/memory.c b/mm/memory.c
index 3368785..4468795 100644
--- a/mm/memory.c
+++ b/mm/memory.c
@@ -2990,6 +2990,7 @@ static int do_shared_fault(struct mm_struct *mm, struct vm_area_struct *vma,
 	int dirtied = 0;
 	int ret, tmp;
 
+	/* ->fault returns with the page locked here */
 	ret = __do_fault(vma, address, pgoff, flags, NULL, &fault_page);
 	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
 		return ret;
-- 
2.1.0
"""


def cow_body(source: str = "corpus") -> str:
    if source == "lore-2014":
        return shared_thread(COW_2014).read_text().split("\n\n", 1)[1]
    from reviewbot import corpus
    mails = read_mboxrd(corpus.thread_path("cow"))
    return next(m.get_payload() for m in mails
                if str(m["Subject"]).startswith("[PATCH v2 1/2]"))


def new_line(body: str, path: str, prefix: str) -> int:
    """The post-image line number of the first line of `path`'s diff starting with `prefix`."""
    cur, ln = None, 0
    for line in body.split("\n"):
        if line.startswith("+++ "):
            cur = line[6:] if line.startswith("+++ b/") else None
            continue
        m = re.match(r"@@ -\d+(?:,\d+)? \+(\d+)", line)
        if m:
            ln = int(m.group(1))
            continue
        if cur == path and ln and line[:1] in "+ ":
            if line.startswith(prefix):
                return ln
            ln += 1
    raise LookupError(f"{path}: no line starting {prefix!r}")


def make_mail(msgid: str, subject: str, body: str, parent: str | None = None,
              headers: str = HEADERS) -> email.message.Message:
    h = headers + f"Subject: {subject}\nMessage-ID: <{msgid}>\n"
    if parent:
        h += f"In-Reply-To: <{parent}>\nReferences: <{parent}>\n"
    return email.message_from_string(h + "\n" + body)


def sample_series(headers: str = HEADERS, cover_subject: str | None = None,
                  source: str = "corpus"):
    """A two-patch series around a COW patch (the real 2014 one or the corpus one), and the
    report a review gives (its verdict and invariant named as the simulator names them);
    finding lines are where the patch puts them. Tests through the pipeline: test_user_checks."""
    cover_subject = cover_subject or "[PATCH v11 0/2] mm: let ->fault handlers do the COW"
    body = cow_body(source)
    test_line = new_line(body, "mm/memory.c", "+\tif (!vmf.page)")
    member_line = new_line(body, "include/linux/mm.h", "+\tstruct page *cow_page;")
    mkwrite_line = new_line(body, "mm/memory.c", "+\tvmf.cow_page = ")
    do_fault_line = new_line(body, "mm/memory.c", "+\tvmf.cow_page = cow_page;")
    mails = {
        COVER: make_mail(COVER, cover_subject,
                         "Two patches from the DAX series.\n\nMatthew Wilcox (2):\n", None, headers),
        P1: make_mail(P1, "[PATCH v11 1/2] mm: Allow page fault handlers to perform the COW",
                      body, COVER, headers),
        P2: make_mail(P2, "[PATCH v11 2/2] mm: document the locked page in do_shared_fault",
                      P2_BODY, COVER, headers),
    }
    findings = [
        Finding(rule="field-init", severity="warning", patch=P1, file="mm/memory.c",
                line=2851, function="do_fault_around", introduced=True,
                message="struct vm_fault gains 'cow_page', but do_fault_around() builds a "
                        "struct vm_fault (vmf) that escapes before .cow_page is set",
                details={"member": "cow_page", "struct": "vm_fault",
                         "member_file": "include/linux/mm.h", "member_line": member_line},
                sites=[Site("mm/memory.c", mkwrite_line, "do_page_mkwrite", "set", True),
                       Site("mm/memory.c", do_fault_line, "__do_fault", "set", True),
                       Site("mm/memory.c", 2851, "do_fault_around", "not set before escape")]),
        Finding(rule="fault-contract", severity="warning", patch=P1, file="mm/memory.c",
                line=test_line, function="__do_fault", introduced=True,
                message="VM_FAULT_LOCKED with a NULL page now means i_mmap_mutex is held",
                details={"flag": "VM_FAULT_LOCKED"},
                sites=[Site("mm/memory.c", 2946, "do_cow_fault", "consumer", True),
                       Site("mm/memory.c", 2906, "do_read_fault", "consumer"),
                       Site("Documentation/filesystems/Locking", 530, "", "documentation")],
                simulation={"verdict": "violated", "states": 4211,
                            "invariant": "I4b nothing mapped past EOF after truncate",
                            "trace": [{"thread": "CPU0", "action": "do_read_fault: ->fault "
                                       "returns VM_FAULT_LOCKED with page NULL"},
                                      {"thread": "CPU1", "action": "truncate: unmap_mapping_range"},
                                      {"thread": "CPU0", "action": "do_set_pte maps the page"}]},
                fix="--- a/mm/memory.c\n+++ b/mm/memory.c\n@@ -2906 +2906 @@\n-\tret = x;\n+\tret = y;\n"),
        Finding(rule="field-init", severity="info", patch=P2, file="mm/memory.c", line=2993,
                function="do_shared_fault", introduced=False,
                message="struct vm_fault built in do_shared_fault leaves max_pgoff unset",
                details={"field": "max_pgoff"}),
        Finding(rule="fault-contract", severity="info", patch=COVER, file="", line=0,
                function="", introduced=True,
                message="No patch of the series updates Documentation/filesystems/Locking"),
    ]
    report = Report(series_subject=cover_subject, series_msgid=COVER, revision=11,
                    patches=[PatchInfo(COVER, cover_subject, 0, 2),
                             PatchInfo(P1, "mm: Allow page fault handlers to perform the COW", 1, 2),
                             PatchInfo(P2, "mm: document the locked page", 2, 2)],
                    base="adeac30" + "0" * 33, mode="tree", findings=findings, applied=True)
    return report, mails


def policy(**kw) -> ReplyPolicy:
    return ReplyPolicy(**{"sender": BOT, "lists": [LIST], **kw})


def parse(msg) -> email.message.EmailMessage:
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def addrs(m, *names) -> list[str]:
    return [a.lower() for _, a in email.utils.getaddresses([str(m.get(n, "")) for n in names
                                                           if m.get(n)])]


def own_lines(body: str) -> list[str]:
    """The reply's own prose: not quoted, not '|' tags, not the proposed fix diff."""
    out, in_fix = [], False
    for line in body.split("\n"):
        if line.startswith(("--- a/", "+++ b/")):
            in_fix = True
        if in_fix and (line[:1] in "+-@ " and line.strip()):
            continue
        in_fix = in_fix and bool(line.strip())
        if not line.startswith((">", "|")):
            out.append(line)
    return out


@pytest.fixture(params=SOURCES)
def replies(request):
    report, mails = sample_series(source=request.param)
    return [parse(m) for m in render_replies(report, mails, policy())], mails


def test_one_reply_per_patch_with_findings_and_cover_only_for_series_wide(replies):
    msgs, _ = replies
    assert [m["In-Reply-To"] for m in msgs] == [f"<{COVER}>", f"<{P1}>", f"<{P2}>"]
    assert msgs[0]["Subject"] == "Re: [PATCH v11 0/2] mm: let ->fault handlers do the COW"
    assert msgs[1]["Subject"] == "Re: [PATCH v11 1/2] mm: Allow page fault handlers to perform the COW"
    assert msgs[1]["References"].split() == [f"<{COVER}>", f"<{P1}>"]
    assert "No patch of the series updates" in msgs[0].get_content()
    assert "cow_page" not in msgs[0].get_content()


def test_recipients_author_to_list_and_original_cc_never_the_bot(replies):
    msgs, _ = replies
    assert all(addrs(m, "Cc") == ["linux-mm@kvack.org"] for m in msgs), \
        "the patch's Cc is copied only where the allow-list names it"
    report, mails = sample_series()
    allow = ["linux-fsdevel@vger.kernel.org", "Ross.Zwisler@linux.intel.com"]
    msgs = [parse(m) for m in render_replies(report, mails, policy(cc_allow=allow))]
    for m in msgs:
        assert addrs(m, "To") == ["matthew.r.wilcox@intel.com"]
        cc = addrs(m, "Cc")
        assert cc == ["linux-mm@kvack.org", "linux-fsdevel@vger.kernel.org",
                      "ross.zwisler@linux.intel.com"]
        assert "reviewbot@bots.example.net" not in cc
        assert m["From"] == "reviewbot <reviewbot@bots.example.net>"
        assert m.get_content_type() == "text/plain" and not m.is_multipart()
        assert m["Auto-Submitted"] == "auto-generated"


def test_author_only_policy_and_no_foreign_addresses():
    report, mails = sample_series()
    msgs = [parse(m) for m in render_replies(report, mails, policy(recipients="author"))]
    assert all(addrs(m, "To", "Cc") == ["matthew.r.wilcox@intel.com"] for m in msgs)
    msgs = [parse(m) for m in render_replies(report, mails, policy(recipients="author+lists"))]
    assert addrs(msgs[1], "To", "Cc") == ["matthew.r.wilcox@intel.com", "linux-mm@kvack.org"]


def test_trimmed_interleaved_quoting_of_only_commented_hunks(replies):
    msgs, mails = replies
    body = msgs[1].get_content()
    patch_lines = set(mails[P1].get_payload().split("\n"))
    quoted = [l[2:] if l.startswith("> ") else "" for l in body.split("\n") if l.startswith(">")]
    assert quoted and all(q in patch_lines for q in quoted)
    member = next(l for l in mails[P1].get_payload().split("\n")
                  if l.startswith("+\tstruct page *cow_page;"))
    assert "> " + member in body
    assert "> +\tif (!vmf.page)" in body
    assert "do_read_fault(mm, vma" not in body and "do_shared_fault(struct" not in body
    assert "Signed-off-by:" not in body and "Acked-by:" not in body
    assert "[ ... ]" in body
    lines = body.split("\n")
    i = lines.index("> +\tif (!vmf.page)")
    above = 0
    while lines[i - above - 1].startswith("> ") and not lines[i - above - 1].startswith("> @@"):
        above += 1
    assert above <= 4, "at most 5 quoted lines up to the commented one"
    assert lines[i + 1] == "" and lines[i + 2].startswith("fault-contract:")


def test_prose_wrapped_questions_origin_and_footer(replies):
    msgs, _ = replies
    for m in msgs:
        body = m.get_content()
        assert all(len(l) <= 72 for l in own_lines(body)), [l for l in own_lines(body) if len(l) > 72]
        assert "?" in body
        assert "\n-- \n" in body and "automated" in body.split("\n-- \n")[1]
        assert "reviewbot review --mbox" in body
        assert not re.search(r"^(Reviewed|Acked|Tested|Signed-off)-by:", body, re.M)
        assert "\r" not in body
    p1, p2 = msgs[1].get_content(), msgs[2].get_content()
    assert "introduced by this patch" in p1 and "pre-existing" not in p1
    assert "pre-existing" in p2
    assert "Is cow_page set in do_fault_around() before the structure is passed on?" in \
        " ".join(p1.split())
    assert "Does do_read_fault() in mm/memory.c still handle VM_FAULT_LOCKED" in " ".join(p1.split())
    assert "verdict: violated" in " ".join(p1.split()) and "CPU1: truncate" in p1
    # a patch under review is not merged: its fix goes into the next revision, with no tags
    assert "A possible fix, to fold into the next revision:" in p1
    assert not re.search(r"^\| (Reported-by|Closes):", p1 + p2, re.M)


def test_message_id_is_deterministic_and_depends_on_findings():
    report, mails = sample_series()
    a = [m["Message-ID"] for m in render_replies(report, mails, policy())]
    b = [m["Message-ID"] for m in render_replies(report, mails, policy())]
    assert a == b and len(set(a)) == 3 and all(x.endswith("@bots.example.net>") for x in a)
    report.findings = [f for f in report.findings if f.rule != "fault-contract" or f.patch != P1]
    c = [m["Message-ID"] for m in render_replies(report, mails, policy())]
    assert c[0] == a[0] and c[2] == a[2] and c[1] != a[1]


def test_crlf_in_subject_or_display_name_cannot_inject_headers():
    evil = HEADERS.replace("Ross Zwisler <", '"Ross\\r\\nBcc: victim@evil.example" <')
    report, mails = sample_series(evil, cover_subject="[PATCH 0/2] x")
    mails[COVER].replace_header("Subject", "[PATCH 0/2] x\r\nBcc: victim@evil.example")
    msgs = [parse(m) for m in render_replies(report, mails, policy())]
    for m in msgs:
        assert m["Bcc"] is None
        assert "evil.example" not in " ".join(addrs(m, "To", "Cc", "Bcc"))
        raw = m.as_bytes()
        assert not re.search(rb"^Bcc:", raw, re.M)
    assert msgs[0]["Subject"].startswith("Re: [PATCH 0/2] x")


def test_tags_are_offered_only_for_a_change_the_tree_already_has():
    """Reported-by/Closes belong on a fix of merged code; a patch under review is fixed in its
    next revision. The tree holds the series as commits: a separate fix with tags."""
    report, mails = sample_series()
    assert not any("| Reported-by:" in m.get_content()
                   for m in map(parse, render_replies(report, mails, policy())))
    report.already_applied, report.applied = True, "exact"
    bodies = [parse(m).get_content() for m in render_replies(report, mails, policy())]
    fixed = [b for b in bodies if "A possible fix, as a separate patch:" in b]
    assert fixed and all("| Reported-by: reviewbot <reviewbot@bots.example.net>" in b
                         for b in fixed)
