"""Property test over mail, MIME and diff shapes (issue 13): whatever the bytes, a review in
diff-only mode either gives a report or refuses with one ReviewbotError line; it never
raises anything else, never hangs on nesting, and a refusal names its input."""
from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewbot.errors import ReviewbotError
from reviewbot.findings import Report
from reviewbot.review import ReviewRequest, review

PATHS = st.sampled_from(["mm/memory.c", "include/linux/mm.h", "fs/dax.c", "Documentation/x.txt",
                         '"mm/\\303\\251t\\303\\251.c"', "../etc/passwd", "mm/a b.c",
                         "mm/memory.c~fix-it", "/dev/null"])
CODE = st.sampled_from(["int x;", "\tvmf.cow_page = NULL;", "{", "}", "struct vm_fault {",
                        "\tstruct page *cow_page;", "return ((1));", "#define X(a) struct a {",
                        "/* c", "*/", "", "\tif (ret & VM_FAULT_LOCKED)", "\x1b[31m", "é"])


@st.composite
def hunks(draw) -> str:
    lines = draw(st.lists(st.tuples(st.sampled_from(" +-"), CODE), min_size=0, max_size=12))
    old = sum(k != "+" for k, _ in lines)
    new = sum(k != "-" for k, _ in lines)
    if draw(st.booleans()):                      # a header whose counts lie
        old, new = draw(st.integers(0, 30)), draw(st.integers(0, 30))
    start = draw(st.integers(0, 200))
    head = draw(st.sampled_from([f"@@ -{start},{old} +{start},{new} @@",
                                 f"@@ -{start},{old} +{start},{new} @@ struct vm_fault {{",
                                 f"@@ -{start} +{start},{new}", "@@ -x,y +z @@", "@@"]))
    return head + "\n" + "".join(f"{k}{t}\n" for k, t in lines)


@st.composite
def diffs(draw) -> str:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        a, b = draw(PATHS), draw(PATHS)
        if draw(st.booleans()):
            b = a
        out.append(f"diff --git a/{a} b/{b}\n--- a/{a}\n+++ b/{b}\n"
                   + "".join(draw(st.lists(hunks(), max_size=3))))
    text = "".join(out)
    if text and draw(st.booleans()):            # a mail cut off anywhere
        text = text[:draw(st.integers(0, len(text)))]
    return text


@st.composite
def mails(draw) -> bytes:
    n, m = draw(st.integers(0, 100001)), draw(st.integers(0, 5))
    subject = draw(st.sampled_from([f"[PATCH {n}/{m}] mm: x", "[PATCH] mm: x", "Re: [PATCH] x",
                                    "[RFC PATCH v2 1/1] mm: x", "no tag"]))
    msgid = draw(st.sampled_from(["a@b.c", "a(b)c@x.org", "x$(id)@x.org", "", "<>", "a b@c"]))
    body = "Changelog.\n\nSigned-off-by: A <a@b.c>\n---\n" + draw(diffs()) + "-- \n2.39\n"
    depth = draw(st.sampled_from([0, 0, 1, 2, 40]))
    encode = draw(st.booleans())
    part = ("Content-Type: text/plain; charset=utf-8\n"
            + ("Content-Transfer-Encoding: base64\n\n"
               + base64.encodebytes(body.encode()).decode() if encode else "\n" + body))
    for i in reversed(range(depth)):
        part = (f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n{part}\n--b{i}--\n')
    head = (f"From: A <a@b.c>\nTo: linux-mm@kvack.org\nSubject: {subject}\n"
            f"Date: Mon, 01 Dec 2025 09:30:00 +0000\nMessage-ID: <{msgid}>\nMIME-Version: 1.0\n")
    raw = (head + part).encode("utf-8", "surrogateescape")
    if draw(st.booleans()):
        raw = raw.replace(b"\n", b"\r\n")
    return raw


def args_for(path) -> ReviewRequest:
    return ReviewRequest(mbox=str(path), no_tree=True, simulate=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(raw=mails())
def test_any_mail_gives_a_report_or_one_error_line(tmp_path, raw):
    path = tmp_path / "in.mbox"
    path.write_bytes(raw)
    try:
        report = review(args_for(path))
    except ReviewbotError as e:
        line = str(e)
        assert "\n" not in line and line.split(": ", 1)[1]
        return
    assert isinstance(report, Report) and report.patches
    report.to_json()                     # every report renders


@pytest.mark.parametrize("depth", [33, 3000])
def test_deep_mime_is_refused_not_recursed(tmp_path, depth):
    part = "Content-Type: text/plain\n\nx\n"
    for i in reversed(range(depth)):
        part = f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n{part}\n--b{i}--\n'
    path = tmp_path / "in.mbox"
    path.write_bytes(("From: A <a@b.c>\nSubject: [PATCH] x\nMessage-ID: <a@b.c>\n" + part).encode())
    with pytest.raises(ReviewbotError, match=f"MIME parts nested {depth} deep"):
        review(args_for(path))


def test_a_second_empty_message_id_header_is_no_crash(tmp_path):
    """bench/fuzz.py found it: Python's header parser raises IndexError on `Message-ID: <>`."""
    from reviewbot import corpus
    from support.mbox import split_mboxrd
    patch = next(m for m in split_mboxrd(corpus.thread_path("cow").read_bytes())
                 if b"Subject: [PATCH v2 1/2]" in m)
    head, _, body = patch.partition(b"\n\n")
    path = tmp_path / "in.mbox"
    path.write_bytes(head + b"\nMessage-ID: <>\n\n" + body)
    report = review(args_for(path))
    assert report.patches and report.patches[0].index == 1
