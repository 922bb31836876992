"""Oversized and odd inputs for the bounds of issue 13 (deep MIME, deep C, huge diffs, many
members, long lines, big mail), shared by tests/test_bounds.py and bench/bounds.py."""
from __future__ import annotations

import difflib
from pathlib import Path

from reviewbot import corpus

HEAD = ("From reviewbot Mon Sep 17 00:00:00 2001\nFrom: Test Author <author@example.org>\n"
        "To: linux-mm@kvack.org\nDate: Mon, 01 Dec 2025 09:30:00 +0000\n")


def mail(subject: str, body: str, msgid: str = "bounds@example.org",
         extra: str = "") -> str:
    """One format-patch mail (mboxrd) with `body` after the headers."""
    return (HEAD + f"Subject: {subject}\nMessage-ID: <{msgid}>\n{extra}MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\n" + body)


def file_diff(path: str, old: str, new: str) -> str:
    body = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        f"a/{path}", f"b/{path}", n=3))
    return f"diff --git a/{path} b/{path}\n{body}"


def corpus_file(path: str) -> str:
    return (corpus.TREE / path).read_text()


def corpus_patch(path: str, old: str, new: str, subject: str = "[PATCH] mm: bounds") -> str:
    """A patch mail that replaces `old` by `new` once in a file of the bundled tree."""
    text = corpus_file(path)
    assert old in text, old
    diff = file_diff(path, text, text.replace(old, new, 1))
    return mail(subject, f"A change.\n\nSigned-off-by: Test Author <author@example.org>\n---\n"
                f"{diff}-- \n2.39.5\n")


def mime_nested(depth: int) -> bytes:
    """A patch mail whose body sits `depth` multipart levels down."""
    head = HEAD + "Subject: [PATCH] mm: nested\nMessage-ID: <nested@example.org>\n" \
        "MIME-Version: 1.0\n"
    parts = [head]
    for i in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n')
    patch = corpus_patch("mm/memory.c", FN_ANCHOR, "/* nested */\n" + FN_ANCHOR)
    parts.append("Content-Type: text/plain\n\n" + patch.split("\n\n", 1)[1])
    for i in reversed(range(depth)):
        parts.append(f"--b{i}--\n")
    return "".join(parts).encode()


FN_ANCHOR = "static int do_page_mkwrite("


def header_comments(depth: int, in_part: bool = False) -> bytes:
    """A patch mail whose Content-Type header (of the message, or of its one MIME part)
    carries a comment nested `depth` deep."""
    comment = "(" * depth + "x" + ")" * depth
    patch = corpus_patch("mm/memory.c", FN_ANCHOR, "/* commented */\n" + FN_ANCHOR)
    body = patch.split("\n\n", 1)[1]
    head = HEAD + "Subject: [PATCH] mm: comments\nMessage-ID: <comments@example.org>\n" \
        "MIME-Version: 1.0\n"
    if in_part:
        return (head + 'Content-Type: multipart/mixed; boundary="b0"\n\n--b0\n'
                f"Content-Type: text/plain; charset=utf-8 {comment}\n\n{body}--b0--\n").encode()
    return (head + f"Content-Type: text/plain; charset=utf-8 {comment}\n\n{body}").encode()


def nested_parens(n: int) -> str:
    """A patch adding a function to mm/memory.c whose one expression is `n` parentheses deep."""
    expr = "(" * n + "1" + ")" * n
    fn = f"static int deep_parens(void)\n{{\n\treturn {expr};\n}}\n\n"
    return corpus_patch("mm/memory.c", FN_ANCHOR, fn + FN_ANCHOR)


def nested_blocks(n: int) -> str:
    """A patch adding a function to mm/memory.c with `n` nested blocks."""
    fn = "static int deep_blocks(int x)\n{\n" + "{\n" * n + "\tx++;\n" + "}\n" * n + \
        "\treturn x;\n}\n\n"
    return corpus_patch("mm/memory.c", FN_ANCHOR, fn + FN_ANCHOR)


def many_functions(lines: int) -> str:
    """A patch adding a new C file of about `lines` lines: small functions, one after another."""
    out = []
    i = 0
    while len(out) < lines:
        out += [f"static int bounds_fn_{i}(int x)", "{", f"\tx += {i};", "\treturn x;", "}", ""]
        i += 1
    body = "\n".join(out) + "\n"
    diff = file_diff("mm/bounds.c", "", body).replace("--- a/mm/bounds.c", "--- /dev/null")
    diff = diff.replace("diff --git a/mm/bounds.c b/mm/bounds.c\n",
                        "diff --git a/mm/bounds.c b/mm/bounds.c\nnew file mode 100644\n")
    return mail("[PATCH] mm: a big file", "A big file.\n\nSigned-off-by: Test Author "
                f"<author@example.org>\n---\n{diff}-- \n2.39.5\n")


def many_members(n: int, struct_anchor: str = "\tpte_t *pte;\t\t\t/* pte slot that belongs "
                 "to ->pgoff */\n") -> str:
    """A patch adding `n` members to struct vm_fault of the bundled tree."""
    members = "".join(f"\tunsigned long bounds_member_{i};\n" for i in range(n))
    return corpus_patch("include/linux/mm.h", struct_anchor, struct_anchor + members)


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    p = tmp / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


MKWRITE_ANCHOR = "\tvmf.page = page;\n"


def deep_in_fault_path(parens: int = 0, blocks: int = 0, member: bool = True) -> str:
    """A patch that adds a member to struct vm_fault and, in do_page_mkwrite() (which builds
    one, on the simulated fault path), a statement `parens` parentheses / `blocks` blocks deep."""
    stmt = "\tret = " + "(" * parens + "1" + ")" * parens + ";\n" if parens else ""
    if blocks:
        stmt += "\t" + "{ " * blocks + "ret = 1;" + " }" * blocks + "\n"
    text = corpus_file("mm/memory.c")
    diffs = file_diff("mm/memory.c", text, text.replace(MKWRITE_ANCHOR, MKWRITE_ANCHOR + stmt, 1))
    if member:
        h = corpus_file("include/linux/mm.h")
        anchor = "\tpte_t *pte;\t\t\t/* pte slot that belongs to ->pgoff */\n"
        diffs = file_diff("include/linux/mm.h", h,
                          h.replace(anchor, anchor + "\tint bounds_member;\n", 1)) + diffs
    return mail("[PATCH] mm: deep", "Deep C.\n\nSigned-off-by: Test Author "
                f"<author@example.org>\n---\n{diffs}-- \n2.39.5\n")


def kernel_patch(repo: Path, path: str, old: str, new: str, subject: str) -> str:
    """A patch mail replacing `old` by `new` once in `path` of the kernel tree at HEAD."""
    import subprocess
    text = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout
    assert old in text, old
    diff = file_diff(path, text, text.replace(old, new, 1))
    return mail(subject, f"A change.\n\nSigned-off-by: Test Author <author@example.org>\n---\n"
                f"{diff}-- \n2.39.5\n")


VM_FAULT_61 = "\tstruct page *cow_page;\t\t/* Page handler may use for COW fault */\n"


def kernel_members(repo: Path, n: int) -> str:
    """`n` new members of struct vm_fault in the 6.1 tree."""
    members = "".join(f"\tunsigned long bounds_member_{i};\n" for i in range(n))
    return kernel_patch(repo, "include/linux/mm.h", VM_FAULT_61, VM_FAULT_61 + members,
                        "[PATCH] mm: many members")


LIST_HEAD_61 = "struct list_head {\n\tstruct list_head *next, *prev;\n"


def list_head_member(repo: Path) -> str:
    """A member added to struct list_head, which the whole tree builds."""
    return kernel_patch(repo, "include/linux/types.h", LIST_HEAD_61,
                        LIST_HEAD_61 + "\tunsigned long bounds_gen;\n", "[PATCH] list: a member")


KFIFO_61 = "\t\tptrtype const\t*ptr_const; \\\n"


def macro_member(repo: Path) -> str:
    """A member added inside a #define whose body builds a union (kfifo's common part)."""
    return kernel_patch(repo, "include/linux/kfifo.h", KFIFO_61,
                        KFIFO_61 + "\t\tunsigned long\tbounds_gen; \\\n",
                        "[PATCH] kfifo: a member")


def big_mail(megabytes: float) -> str:
    """A patch mail of about `megabytes` MB: one text file of many added lines."""
    n = int(megabytes * 1024 * 1024 / 40)
    added = "".join(f"+line {i:08d} of a very large text file\n" for i in range(n))
    diff = (f"diff --git a/Documentation/big.txt b/Documentation/big.txt\nnew file mode 100644\n"
            f"--- /dev/null\n+++ b/Documentation/big.txt\n@@ -0,0 +1,{n} @@\n{added}")
    return mail("[PATCH] docs: a big file", "A big file.\n\nSigned-off-by: Test Author "
                f"<author@example.org>\n---\n{diff}-- \n2.39.5\n")


def long_line(chars: int = 20000) -> str:
    """A patch adding, inside struct vm_fault, a line of `chars` blanks and one word (no `;`)."""
    import re
    anchor = "\tpte_t *pte;\t\t\t/* pte slot that belongs to ->pgoff */\n"
    mail = corpus_patch("include/linux/mm.h", anchor,
                        anchor + "\tint bounds_member;\n\t" + " " * chars + "x\n")
    # the section git writes after @@: the checklist reads members in a struct's hunks
    return re.sub(r"(?m)^(@@ [^@]* @@)$", r"\1 struct vm_fault {", mail)
