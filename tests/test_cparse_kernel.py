"""cparse on real 6.1 files tree-sitter stumbled on: syscall definitions, file-scope DEFINE_*
declarations, iterator macros; masks keep every byte offset, and unparsable C in a touched file
is listed under `skipped` with file:line instead of sinking the review."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kpatch import file_diff, patch_mail, replace_once, show
from reviewbot import cparse


def src(kernel_tree, path: str) -> bytes:
    return (kernel_tree / path).read_bytes()


def line_of(data: bytes, text: bytes) -> int:
    return data[:data.index(text)].count(b"\n") + 1


@pytest.mark.parametrize("path", ["fs/aio.c", "fs/buffer.c", "mm/page_alloc.c", "mm/memory.c",
                                  "include/linux/list.h", "arch/s390/mm/fault.c"])
def test_masks_keep_every_byte_offset(kernel_tree, path):
    data = src(kernel_tree, path)
    masked = cparse.mask(data)
    assert len(masked) == len(data)
    newlines = [i for i, c in enumerate(data) if c == 10]
    assert [i for i, c in enumerate(masked) if c == 10] == newlines


def test_syscall_definitions_are_indexed_under_their_name(kernel_tree):
    data = src(kernel_tree, "fs/aio.c")
    fns = {(f.name, f.start) for f in cparse.functions(data)}
    for name, arity in (("io_setup", 2), ("io_destroy", 1), ("io_submit", 3),
                        ("io_getevents", 5), ("io_pgetevents", 6)):
        start = line_of(data, b"\nSYSCALL_DEFINE%d(%s," % (arity, name.encode())) + 1
        assert (name, start) in fns, name
    # the compat entry points too, under the same name
    assert ("io_setup", line_of(data, b"\nCOMPAT_SYSCALL_DEFINE2(io_setup,") + 1) in fns
    # a line inside io_destroy's body maps to it
    body = line_of(data, b"SYSCALL_DEFINE1(io_destroy,") + 3
    assert cparse.function_at(data, body) == "io_destroy"


def test_file_scope_declaration_macros_do_not_swallow_the_next_function(kernel_tree):
    data = src(kernel_tree, "fs/buffer.c")
    assert not cparse.error_spans(data)
    fns = {f.name: f for f in cparse.functions(data)}
    want = line_of(data, b"struct buffer_head *alloc_buffer_head(")
    assert fns["alloc_buffer_head"].start == want
    # recalc_bh_state() loops with for_each_online_cpu(): no ERROR inside it any more
    assert not fns["recalc_bh_state"].node.has_error


def test_iterator_loops_parse_as_loops():
    code = (b"static int count(struct list_head *head)\n{\n\tstruct item *it;\n\tint n = 0;\n\n"
            b"\tlist_for_each_entry(it, head, node)\n\t\tn++;\n\tfor_each_possible_cpu(n)\n"
            b"\t\tn--;\n\treturn n;\n}\n")
    (fn,) = cparse.functions(code)
    assert fn.name == "count" and not fn.node.has_error and (fn.start, fn.end) == (1, 11)


def test_asm_goto_spellings_parse():
    code = (b"static inline int probe(void)\n{\n\tasm_volatile_goto(\"1: nop\" : : : : out);\n"
            b"\treturn 0;\nout:\n\treturn 1;\n}\n")
    (fn,) = cparse.functions(code)
    assert fn.name == "probe" and not fn.node.has_error


def test_real_file_with_unparsable_initializer_is_reviewed_and_listed(kernel_tree, tmp_path):
    """mm/memory.c's randomize_va_space initializer has an #ifdef inside: listed under skipped
    with its line, and the functions of the patch are still found and checked."""
    old = show(kernel_tree, "HEAD", "mm/memory.c")
    anchor = "vm_fault_t do_swap_page(struct vm_fault *vmf)\n{\n"
    new = replace_once(old, anchor, anchor + "\t/* the swap entry is read below */\n")
    s390 = show(kernel_tree, "HEAD", "arch/s390/mm/fault.c")
    s390_anchor = "static inline vm_fault_t do_exception(struct pt_regs *regs, int access)\n{\n"
    new_s390 = replace_once(s390, s390_anchor, s390_anchor + "\t/* see the fault type below */\n")
    mail = patch_mail("mm: comment the fault paths", "comment@example.org",
                      [file_diff(kernel_tree, "arch/s390/mm/fault.c", s390, new_s390),
                       file_diff(kernel_tree, "mm/memory.c", old, new)])
    (tmp_path / "s.mbox").write_text(mail)
    r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox",
                        str(tmp_path / "s.mbox"), "--tree", str(kernel_tree), "--format", "json",
                        "--no-simulate"], capture_output=True, text=True, cwd="/", timeout=600)
    assert r.returncode in (0, 1), r.stderr
    rep = json.loads(r.stdout)
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "exact"
    assert set(rep["series"]["patches"][0]["functions"]) == {
        "mm/memory.c:do_swap_page", "arch/s390/mm/fault.c:do_exception"}
    parse = [s["reason"] for s in rep["skipped"] if s["check"] == "parse"]
    want = line_of(new.encode(), b"int randomize_va_space __read_mostly =")
    assert [p.split(":")[0] + ":" + p.split(":")[1] for p in parse] == [f"mm/memory.c:{want}"]


@pytest.mark.parametrize("path", ["mm/memory.c", "mm/filemap.c", "fs/dax.c", "mm/shmem.c",
                                  "fs/ext4/inode.c", "mm/mmap.c", "kernel/bpf/syscall.c"])
def test_a_definition_parsed_alone_is_the_whole_files_parse_of_it(kernel_tree, path):
    """lock-contract parses only the functions it follows: each one alone gives the same
    tree, lines and columns as the whole file's parse, for every name the file calls or
    defines (an #endif above a head, a head over two lines, an attribute with arguments)."""
    data = src(kernel_tree, path)
    whole = {f.name: f.node for f in cparse.functions(data)}
    names = sorted({n.decode() for n in __import__("re").findall(rb"(\w+)\s*\(", data)})
    assert len([n for n in names if n in whole]) > 20
    for name in names:
        alone, full = cparse.definition(data, name), whole.get(name)
        if full is None or full.type != "function_definition" or name == "if":
            continue        # "if": a block the whole parse's error recovery took for one
        assert alone is not None, name
        assert (alone.start_point, alone.end_point, str(alone)) == \
            (full.start_point, full.end_point, str(full)), name
    assert cparse.definition(data, "no_such_function_here") is None
