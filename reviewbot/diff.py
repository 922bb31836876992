"""Each patch's diff parsed with unidiff, checked for what a review cannot take (binary, renames,
paths outside the tree), and every hunk mapped to the C function it touches."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable

import unidiff

from reviewbot import cparse
from reviewbot.errors import ReviewbotError
from reviewbot.series import Patch


@dataclass
class Hunk:
    path: str
    index: int                     # 1-based within its file
    source_start: int
    source_length: int
    target_start: int
    target_length: int
    section: str
    added: list[tuple[int, str]] = field(default_factory=list)     # (patched line, text)
    removed: list[tuple[int, str]] = field(default_factory=list)   # (base line, text)
    context: list[tuple[int, int, str]] = field(default_factory=list)  # (base, patched, text)
    lines: list[tuple[str, str]] = field(default_factory=list)     # (' '|'+'|'-', text) in order
    numbers: list[int | None] = field(default_factory=list)        # patched line of each; '-': None
    functions: list[str] = field(default_factory=list)
    in_tree: bool = True           # False: the tree did not take it; only the mail has its lines

    @property
    def header(self) -> str:
        return (f"@@ -{self.source_start},{self.source_length} "
                f"+{self.target_start},{self.target_length} @@ {self.section}").rstrip()

    @property
    def text(self) -> list[str]:
        """The hunk's lines as the mail has them: ' ', '+' or '-' then the line."""
        return [k + t for k, t in self.lines]

    def index_of_line(self, line: int) -> int | None:
        """Which of the hunk's lines is line `line` of the patched file (None: not shown)."""
        return next((i for i, n in enumerate(self.numbers) if n == line), None)

    def covers(self, line: int) -> bool:
        nums = [n for n in self.numbers if n is not None]
        return bool(nums) and nums[0] <= line <= nums[-1]


@dataclass
class FileDiff:
    path: str
    is_added: bool
    is_removed: bool
    hunks: list[Hunk]

    @property
    def header(self) -> list[str]:
        """The file's diff header as a reply quotes it."""
        src = "/dev/null" if self.is_added else f"a/{self.path}"
        dst = "/dev/null" if self.is_removed else f"b/{self.path}"
        return [f"diff --git a/{self.path} b/{self.path}", f"--- {src}", f"+++ {dst}"]


@dataclass
class PatchDiff:
    patch: Patch
    files: list[FileDiff]
    # the diff as the mail has it, for quoting: `files` is re-read from the tree when the
    # patch went on by 3-way, fuzz or in part
    mail_files: list[FileDiff] = field(default_factory=list)

    def __post_init__(self):
        self.mail_files = self.mail_files or list(self.files)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    def hunks(self):
        for f in self.files:
            yield from f.hunks


def _safe_path(path: str, where: str) -> str:
    if path.startswith("/") or "\\" in path or "\0" in path:
        raise ReviewbotError(where, f"path {path!r} is outside the tree")
    norm = posixpath.normpath(path)
    if norm.startswith("..") or "/../" in f"/{path}/" or norm in (".", ""):
        raise ReviewbotError(where, f"path {path!r} escapes the tree")
    return norm


def parse_patch(patch: Patch) -> PatchDiff:
    """Parse one patch mail's diff; any diff reviewbot cannot review is a ReviewbotError."""
    where = f"{patch.msgid} (patch {patch.index}/{patch.total})"
    return PatchDiff(patch=patch, files=parse_diff_text(patch.body, where))


def parse_diff_text(body: str, where: str) -> list[FileDiff]:
    """The file diffs in a mail body (changelog and signature around them are skipped)."""
    try:
        ps = unidiff.PatchSet(body)
    except unidiff.UnidiffParseError as exc:
        raise ReviewbotError(where, f"diff does not parse: {exc}") from None
    if len(ps) == 0:
        raise ReviewbotError(where, "no file diff found in the patch")
    _check_hunk_headers(body, where)
    files = []
    for pf in ps:
        src, tgt = _side_path(pf.source_file), _side_path(pf.target_file)
        quilt = "~" in src and src.split("~", 1)[0] == tgt
        if quilt:
            src = tgt          # quilt (akpm's `-fix` mails): `--- a/mm/memory.c~name-of-fix`
        if pf.is_binary_file:
            raise ReviewbotError(where, f"binary diff of {pf.path} cannot be reviewed")
        if (pf.is_rename and not quilt) or (src != tgt and src != "/dev/null"
                                            and tgt != "/dev/null"):
            raise ReviewbotError(where, f"rename {src} -> {tgt} is not supported")
        path = _safe_path(tgt if tgt != "/dev/null" else src, where)
        if src != "/dev/null":
            _safe_path(src, where)
        hunks = []
        for i, h in enumerate(pf, 1):
            hk = Hunk(path=path, index=i, source_start=h.source_start,
                      source_length=h.source_length, target_start=h.target_start,
                      target_length=h.target_length, section=h.section_header or "")
            for ln in h:
                body = ln.value.rstrip("\n")
                if ln.is_added:
                    hk.added.append((ln.target_line_no, body))
                    hk.lines.append(("+", body))
                elif ln.is_removed:
                    hk.removed.append((ln.source_line_no, body))
                    hk.lines.append(("-", body))
                elif ln.is_context:
                    hk.context.append((ln.source_line_no, ln.target_line_no, body))
                    hk.lines.append((" ", body))
                else:
                    continue
                hk.numbers.append(ln.target_line_no)
            hunks.append(hk)
        files.append(FileDiff(path=path, is_added=pf.is_added_file, is_removed=pf.is_removed_file,
                              hunks=hunks))
    return files


def _side_path(name: str) -> str:
    """A ---/+++ file name without git's quoting and its a/ or b/ (quilt writes a/ on both)."""
    name = unquote(name)
    return name[2:] if name.startswith(("a/", "b/")) else name


_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(name: str) -> str:
    """git's quoted path form (`"a/mm/\\303\\251t.c"`): C escapes, octal bytes, UTF-8."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    out, i, body = bytearray(), 0, name[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]):
                out.append(int(body[i + 1:i + 4], 8) & 0xFF)
                i += 4
                continue
            if nxt in _C_ESCAPES:
                out.append(_C_ESCAPES[nxt])
                i += 2
                continue
        out += c.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


_HUNK_HEAD = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


def _check_hunk_headers(body: str, where: str) -> None:
    """Every `@@` line of the diff is a whole hunk header: unidiff skips a broken one (or a
    mail cut inside it) and reviews a shorter diff without a word."""
    path, n = "", 0
    in_diff = False
    for line in body.split("\n"):
        if line.startswith(("diff --git ", "diff -")):
            in_diff = True
        elif line.startswith("+++ ") and in_diff:
            path, n = _side_path(line[4:].split("\t")[0].strip()), 0
        elif line.startswith("@@") and in_diff and path:
            n += 1
            if not _HUNK_HEAD.match(line):
                shown = line if len(line) <= 60 else line[:57] + "..."
                raise ReviewbotError(where, f"{path} hunk #{n}: invalid hunk header {shown!r}")


def is_c(path: str) -> bool:
    return path.endswith((".c", ".h"))


def map_functions(pd: PatchDiff, read_base: Callable[[str], bytes | None] | None,
                  read_patched: Callable[[str], bytes | None] | None) -> None:
    """Fill `Hunk.functions`: the functions holding each changed line, from the parsed trees
    when there are trees, else from the hunk header's section and the hunk text itself."""
    for f in pd.files:
        if not is_c(f.path):
            continue
        new = read_patched(f.path) if read_patched else None
        # the pre-image maps removed lines only: a patch that only adds needs no second parse
        removes = any(h.removed for h in f.hunks)
        old = read_base(f.path) if read_base and (removes or new is None) else None
        # one table a file side: a lookup per changed line must not rescan the functions
        new_fns = cparse.FunctionTable(cparse.function_spans(new) if new is not None else [])
        old_fns = cparse.FunctionTable(cparse.function_spans(old) if old is not None else [])
        for h in f.hunks:
            names: list[str] = []
            if new is not None or old is not None:
                if new is not None:
                    names += [new_fns.at(ln) for ln, _t in h.added]
                if old is not None:
                    names += [old_fns.at(ln) for ln, _t in h.removed]
            else:
                names.append(_function_from_hunk_text(h))
            h.functions = list(dict.fromkeys(n for n in names if n))


def _function_from_hunk_text(h: Hunk) -> str:
    """Diff-only mode: a function defined inside the hunk, else the one the header names."""
    post = "\n".join(t for kind, t in h.lines if kind != "-").encode()
    changed_at = [i for i, (kind, _t) in enumerate(x for x in h.lines if x[0] != "-")
                  if kind == "+"]
    for fn in cparse.functions(post):
        if any(fn.start - 1 <= i <= fn.end - 1 for i in changed_at):
            return fn.name
    return cparse.name_from_section(h.section)


# --- each side of a change as C to parse ----------------------------------------------------

@dataclass
class Image:
    """One side (pre or post) of a file's change as C source to parse: the whole file from a
    tree, or with no tree one hunk's lines of that side (context included), its unclosed blocks
    closed and, when it starts inside a block, the block the hunk header names opened."""
    path: str
    src: bytes
    real: list[int | None]          # per src line (0-based): the line in the file, None if made up
    changed: set[int]               # src lines (1-based) this side changes
    whole: bool
    opener: str = ""                # no tree: "function", "struct" or "unknown" block opened

    def file_line(self, src_line: int) -> int:
        """The file's line for a 1-based src line (0 for a line made up to close a block)."""
        if 1 <= src_line <= len(self.real):
            return self.real[src_line - 1] or 0
        return 0


_LABEL = re.compile(r"^\w+:\s*(?:/[/*].*)?$")


def _brace_depths(lines: list[str]) -> tuple[int, int, bool, int]:
    """(blocks closed that the text did not open, blocks left open, starts inside a comment,
    how many blocks deep it starts), ignoring braces in comments, strings, character literals
    and preprocessor lines. The start depth comes from kernel indentation: a line of code
    indented n tabs at depth d relative to the start says the start is n - d deep (bodies of
    unbraced ifs and continuation lines say more, so the least is taken)."""
    depth = low = 0
    in_comment = starts_in_comment = False
    guesses = []
    for line in lines:
        code = line.strip()
        if not in_comment and code.startswith("#"):
            continue
        line_start_depth, line_in_comment = depth, in_comment
        i, n = 0, len(line)
        while i < n:
            two = line[i:i + 2]
            if in_comment:
                if two == "*/":
                    in_comment, i = False, i + 2
                    continue
                i += 1
                continue
            if two == "*/":                 # a comment that began before the hunk
                starts_in_comment, depth, low, guesses, i = True, 0, 0, [], i + 2
                continue
            if two == "/*":
                in_comment, i = True, i + 2
                continue
            if two == "//":
                break
            c = line[i]
            if c in "\"'":
                j = i + 1
                while j < n and line[j] != c:
                    j += 2 if line[j] == "\\" else 1
                i = j + 1
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                low = min(low, depth)
            i += 1
        if code and not line_in_comment and not code.startswith(("/*", "*", "//")) \
                and not _LABEL.match(code):
            ind = len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())
            at = line_start_depth - 1 if code.startswith("}") else line_start_depth
            guesses.append(ind // 8 - at)
    start = max(-low, min(guesses) if guesses else 0)
    return -low, depth - low, starts_in_comment, start


# no tree, and the hunk header names no function or struct: the block it starts in is unknown
UNKNOWN_BLOCK = "__reviewbot_unknown_block"


def _side_lines(h: Hunk, side: str) -> list[str]:
    return [t for kind, t in h.lines if kind in (" ", "-" if side == "pre" else "+")]


def _hunk_image(h: Hunk, side: str) -> Image:
    keep = "-" if side == "pre" else "+"
    lines: list[str] = []
    real: list[int | None] = []
    changed: set[int] = set()
    base_no = iter([ln for ln, _t in h.removed])
    new_no = iter([ln for ln, _t in h.added])
    ctx_no = iter([(b, p) for b, p, _t in h.context])
    for kind, t in h.lines:
        if kind == " ":
            b, p = next(ctx_no)
            lines.append(t)
            real.append(b if side == "pre" else p)
        elif kind == keep:
            lines.append(t)
            real.append(next(base_no) if side == "pre" else next(new_no))
            changed.add(len(lines))
        else:
            next(base_no if kind == "-" else new_no)
    unopened, unclosed, in_comment, depth = _brace_depths(lines)
    # both sides start at the same place: take the deeper estimate for both
    depth = max(depth, _brace_depths(_side_lines(h, "post" if side == "pre" else "pre"))[3])
    head: list[str] = []
    opener = ""
    if in_comment:
        head.append("/*")
    if depth:
        fn = cparse.name_from_section(h.section)
        st = "" if fn else cparse.struct_from_section(h.section)
        if fn:
            opener, first = "function", f"void {fn}(void) {{"
        elif st:
            opener, first = "struct", f"struct {st} {{"
        else:
            opener, first = "unknown", f"void {UNKNOWN_BLOCK}(void) {{"
        # blocks inside a struct are member structs or unions: their members are the struct's
        head += [first] + ["struct {" if opener == "struct" else "{"] * (depth - 1)
    unclosed += depth - unopened
    tail = ["};"] * unclosed
    src = "\n".join(head + lines + tail) + "\n"
    return Image(h.path, src.encode("utf-8", "replace"),
                 [None] * len(head) + real + [None] * len(tail),
                 {c + len(head) for c in changed}, False, opener)


def images(f: FileDiff, read_base: Callable[[str], bytes | None] | None,
           read_patched: Callable[[str], bytes | None] | None) -> list[tuple[Image, Image]]:
    """(pre, post) images of one C file's change: the whole file before and after the patch when
    there are trees, else one pair per hunk built from the hunk and its context."""
    if read_base is None and read_patched is None:
        return [(_hunk_image(h, "pre"), _hunk_image(h, "post")) for h in f.hunks]
    taken = [h for h in f.hunks if h.in_tree]
    pairs = []
    if taken or not f.hunks:
        old = (read_base(f.path) if read_base and not f.is_added else None) or b""
        new = (read_patched(f.path) if read_patched and not f.is_removed else None) or b""
        rem = {ln for h in taken for ln, _t in h.removed}
        add = {ln for h in taken for ln, _t in h.added}
        pairs.append((Image(f.path, old, list(range(1, old.count(b"\n") + 2)), rem, True),
                      Image(f.path, new, list(range(1, new.count(b"\n") + 2)), add, True)))
    # a hunk the tree did not take is read as C from the mail, as with no tree at all
    return pairs + [(_hunk_image(h, "pre"), _hunk_image(h, "post"))
                    for h in f.hunks if not h.in_tree]
