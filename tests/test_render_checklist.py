"""The reviewer checklist: items come from the diff and the findings, Markdown and HTML."""
import sys
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import pytest  # noqa: E402
from test_render_reply import P1, P2, SOURCES, sample_series  # noqa: E402

from reviewbot.render.checklist import render_checklist


def section(md: str, title_part: str) -> str:
    parts = md.split("\n## ")
    return next(p for p in parts if title_part in p.split("\n")[0])


# the lock each source's patch drops on new lines: the 2014 mutex, the corpus rwsem
LOCK = {"lore-2014": "i_mmap_mutex", "corpus": "i_mmap_rwsem"}


@pytest.mark.parametrize("source", SOURCES)
def test_markdown_per_patch_changes_findings_and_generated_items(source):
    report, mails = sample_series(source=source)
    lock = LOCK[source]
    md = render_checklist(report, mails)
    assert md.startswith("# Review checklist: [PATCH v11 0/2]")
    p1 = section(md, "1/2")
    assert "- struct vm_fault: adds cow_page" in p1
    assert "__do_fault()" in p1 and "do_cow_fault()" in p1
    assert "- [ ] **field-init** (warning, introduced by this patch" in p1
    assert "do_fault_around() mm/memory.c:2851 — not set before escape" in p1
    assert "CPU1: truncate: unmap_mapping_range" in p1
    # generated from this diff: the new member, its placement, the new lock, the contract
    assert "New member `cow_page` of `struct vm_fault`" in p1
    assert "cache line" in p1
    assert f"{lock} is released on new lines but never taken in this patch" in p1
    assert "`VM_FAULT_LOCKED` is changed" in p1
    assert "Documentation/filesystems/locking.rst" in p1
    assert "`fault_page` is newly tested for NULL" in p1
    p2 = section(md, "2/2")
    assert "pre-existing" in p2 and "cow_page" not in p2 and lock not in p2


def test_items_follow_the_diff_not_a_fixed_list():
    report, mails = sample_series()
    report.findings = []
    md = render_checklist(report, mails)
    p2 = section(md, "2/2")
    assert "New member" not in p2 and "Locking rule" not in p2
    assert p2.count("- [ ]") == 0
    assert "- [ ] **" not in md


def test_html_is_well_formed_and_escaped():
    report, mails = sample_series()
    report.findings[0].message = "a <b>bold</b> & claim"
    html = render_checklist(report, mails, html=True)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; claim" in html and "<b>bold</b>" not in html

    class Check(HTMLParser):
        stack, boxes = [], 0
        def handle_starttag(self, tag, attrs):
            if tag == "input":
                self.boxes += 1
            elif tag not in ("meta",):
                self.stack.append(tag)
        def handle_endtag(self, tag):
            assert self.stack.pop() == tag
    c = Check()
    c.feed(html)
    assert c.stack == [] and c.boxes == render_checklist(report, mails).count("- [ ]")
