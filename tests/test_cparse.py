"""cparse's cheap reads of C without a parse: which edits change no code, and how deep brackets
nest; each against what a reader of the C would say."""
from __future__ import annotations

import pytest

from reviewbot import cparse

BASE = b"""int f(struct vm_fault *vmf)
{
\t/* the page is locked */
\tif (ret & (VM_FAULT_ERROR | VM_FAULT_LOCKED))
\t\treturn ret;
\treturn 0;
}
"""


@pytest.mark.parametrize("new", [
    BASE.replace(b"/* the page is locked */", b"/* the page is still locked */"),
    BASE.replace(b"\treturn 0;\n", b"\t// nothing to do\n\treturn 0;\n"),
    BASE.replace(b"(VM_FAULT_ERROR | VM_FAULT_LOCKED)", b"(VM_FAULT_ERROR |\n\t\t   VM_FAULT_LOCKED)"),
    BASE.replace(b"\n{\n", b"\n{\n\n\n"),
])
def test_comments_blank_lines_and_reflowed_lines_are_the_same_code(new):
    assert cparse.same_code(BASE, new)


@pytest.mark.parametrize("new", [
    BASE.replace(b"\t\treturn ret;\n\treturn 0;\n", b"\treturn 0;\n\t\treturn ret;\n"),  # moved
    BASE.replace(b"\treturn 0;\n", b"#if 0\n\treturn 0;\n#endif\n"),
    BASE.replace(b"/* the page is locked */", b"/* the page is locked"
                 ).replace(b"\treturn 0;\n", b"\treturn 0; */\n"),     # a comment swallows code
    BASE.replace(b"ret & (", b"ret&&("),                                 # & ( is not &&(
    BASE.replace(b"return 0;", b'return "/* x */";'),                   # a literal is code
])
def test_an_edit_of_the_code_is_not_the_same_code(new):
    assert not cparse.same_code(BASE, new)


def test_the_bracket_depth_leaves_out_comments_and_literals():
    assert cparse._max_depth(b"int a = (((1)));\n") == 3
    assert cparse._max_depth(b"/* ((((( */ int a = (1); char *s = \"(((((\";\n") == 1
    deep = b"int a = " + b"(" * 120 + b"1" + b")" * 120 + b";\n"
    assert cparse._max_depth(deep) == 120
    assert cparse.too_deep(b"void f(void)\n{\n\tx = " + deep + b"}\n")
    assert not cparse.too_deep(b"void f(void)\n{\n\t/* " + b"(" * 120 + b" */\n}\n")


TRICKY = b"""#include <x.h>
int proto(int a);
#ifdef CONFIG_X
static int helper(int a) { return a; }
#endif
static struct page *
two_line_head(struct vm_fault *vmf) /* a comment before the brace */
{
\tint r = helper(proto(1));
\tif (r) {
\t\treturn NULL;
\t}
\treturn vmf->page;
}

int __attribute((weak)) weak_one(void)
{
\treturn helper(2);
}
"""


@pytest.mark.parametrize("name", ["helper", "two_line_head", "weak_one", "proto", "missing"])
def test_a_definition_alone_is_the_whole_parse_of_it(name):
    whole = {f.name: f.node for f in cparse.functions(TRICKY)}.get(name)
    alone = cparse.definition(TRICKY, name)
    if whole is None:
        assert alone is None
    else:
        assert (alone.start_point, alone.end_point, str(alone)) == \
            (whole.start_point, whole.end_point, str(whole))


SITES = b"""struct vm_fault global_vmf;
#ifdef CONFIG_A
static int unrelated(int a)
{
\treturn a;
}
#endif
static int fill(struct vm_fault *p, struct page *page)
{
\tif (page) {
#ifdef CONFIG_B
\t\tp = kmalloc(sizeof(*p), GFP_KERNEL);
#endif
\t\t*p = *p;
\t}
\treturn 0;
}
static int make(void)
{
\tstruct vm_fault vmf;
\tstruct vm_fault other = { .pgoff = 0 };
\tvmf = other;
\treturn fill(&vmf, NULL);
}
"""


def test_construction_sites_outside_functions_naming_the_struct_are_none_and_inside_all():
    """Only a function (or file-scope block) that names the struct can build one, but inside
    it a block that does not name it may (an allocation through the function's pointer)."""
    from reviewbot import cindex
    got = [(s.line, s.function, s.kind, s.var)
           for s in cindex.construction_sites(SITES, "mm/x.c", "vm_fault")]
    assert got == [(1, "", "static", "global_vmf"), (12, "fill", "allocation", "p"),
                   (14, "fill", "copy", "*p"), (20, "make", "declaration", "vmf"),
                   (21, "make", "initializer", "other"), (22, "make", "copy", "vmf")]
