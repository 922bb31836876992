#!/usr/bin/env python3
"""Regenerate corpus/threads/*.mbox and the tables in corpus/README.md.

Run by hand after changing corpus/tree or corpus/series:

    .venv/bin/python corpus/make_threads.py          # write
    .venv/bin/python corpus/make_threads.py --check  # fail if anything would change

Sources
-------
corpus/series/edits/NAME.edit
    Exact-text edits.  Blocks of the form

        @@@ file PATH
        @@@ old
        <text that must occur exactly once in PATH>
        @@@ new
        <replacement text>
        @@@ end

    Lines before the first block starting with '#' are comments.

corpus/series/THREAD/NN-*.msg
    One mail each, in file-name order.  RFC 822-style pseudo headers, a
    blank line, then the body.  Pseudo headers (not copied to the mail):
      Kind:   cover | patch | reply | mail
      Series: the revision the message belongs to (e.g. v1, v2)
      Edits:  for patches, the edit files (without .edit) that make it
    Real headers: From, To, Cc, Date, Subject, Message-ID, In-Reply-To,
    References.  For patches the body is the commit message; the diffstat
    and diff are made by ``git format-patch`` against the repository
    that reviewbot.corpus.build_tree_repo() builds, so the index lines
    carry real blob ids.  A cover letter gets the shortlog, diffstat and
    base-commit of its series appended.  In a reply, every quoted diff
    line must occur in the message it replies to (checked here).

Everything is deterministic: fixed identities, dates from the Date
headers, fixed message-ids, a fixed signature, no user git config.
"""
from __future__ import annotations

import argparse
import email.utils
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reviewbot.corpus import TREE, build_tree_repo  # noqa: E402

SERIES = HERE / "series"
EDITS = SERIES / "edits"
THREADS = HERE / "threads"
README = HERE / "README.md"
SIGNATURE = "2.1.0"
COMMITTER = ("reviewbot corpus", "corpus@reviewbot.invalid")
MAIL_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID",
                "In-Reply-To", "References")
PSEUDO_HEADERS = ("Kind", "Series", "Edits")
THREAD_ORDER = ("cow", "cow-missing-init", "cow-missing-unlock", "clean",
                "no-patch")


# ---------------------------------------------------------------- sources

class Msg:
    def __init__(self, path: Path):
        self.path = path
        text = path.read_text(encoding="utf-8")
        head, _, body = text.partition("\n\n")
        self.headers: dict[str, str] = {}
        for line in head.splitlines():
            key, _, value = line.partition(":")
            if key not in MAIL_HEADERS + PSEUDO_HEADERS:
                raise SystemExit(f"{path}: unknown header {key!r}")
            self.headers[key] = value.strip()
        self.body = body.rstrip("\n") + "\n"
        self.kind = self.headers["Kind"]
        self.series = self.headers.get("Series", "")
        self.edits = self.headers.get("Edits", "").split()

    def __getitem__(self, key: str) -> str:
        return self.headers[key]


def parse_edits(name: str) -> list[tuple[str, str, str]]:
    path = EDITS / f"{name}.edit"
    out = []
    state, fname, old, new = None, None, [], []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("@@@ "):
            word = line[4:].strip()
            if word.startswith("file "):
                fname, old, new, state = word[5:].strip(), [], [], "file"
            elif word == "old":
                state = "old"
            elif word == "new":
                state = "new"
            elif word == "end":
                out.append((fname, "".join(old), "".join(new)))
                state = None
            else:
                raise SystemExit(f"{path}: bad marker {line!r}")
        elif state == "old":
            old.append(line)
        elif state == "new":
            new.append(line)
        elif state is None and (line.startswith("#") or not line.strip()):
            continue
        else:
            raise SystemExit(f"{path}: text outside a block: {line!r}")
    return out


def apply_edits(repo: Path, names: list[str]) -> None:
    for name in names:
        for fname, old, new in parse_edits(name):
            path = repo / fname
            text = path.read_text(encoding="utf-8")
            count = text.count(old)
            if count != 1:
                raise SystemExit(f"{name}.edit: old text occurs {count} times in {fname}")
            path.write_text(text.replace(old, new), encoding="utf-8")


# ---------------------------------------------------------------- git

def git(repo: Path, *args: str, env_extra: dict | None = None,
        input: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") and k not in ("HOME", "XDG_CONFIG_HOME")}
    env.update({"HOME": str(repo.parent), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_COMMITTER_NAME": COMMITTER[0],
                "GIT_COMMITTER_EMAIL": COMMITTER[1], "LC_ALL": "C", "TZ": "UTC"})
    env.update(env_extra or {})
    cmd = ["git", "-c", "core.autocrlf=false", "-c", "core.abbrev=12",
           "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
           "-c", "diff.renames=false", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(cmd, cwd=repo, env=env, check=True, text=True,
                          input=input, capture_output=True).stdout


def subject_of(msg: Msg) -> str:
    return re.sub(r"^\[[^\]]*\]\s*", "", msg["Subject"])


def commit_patch(repo: Path, msg: Msg) -> str:
    name, addr = email.utils.parseaddr(msg["From"])
    date = email.utils.parsedate_to_datetime(msg["Date"]).isoformat()
    apply_edits(repo, msg.edits)
    git(repo, "add", "-A", ".")
    message = subject_of(msg) + "\n\n" + msg.body
    git(repo, "commit", "-q", "--no-verify", "--cleanup=verbatim", "-F", "-",
        input=message,
        env_extra={"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": addr,
                   "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    return git(repo, "rev-parse", "HEAD").strip()


def format_patch_body(repo: Path, commit: str) -> str:
    """The part of ``git format-patch`` output after the mail headers."""
    out = git(repo, "format-patch", "-1", commit, "--stdout",
              f"--signature={SIGNATURE}", "--no-numbered", "--stat=72")
    _, _, body = out.partition("\n\n")
    return body.rstrip("\n") + "\n\n"


# ---------------------------------------------------------------- mail

def fold_refs(value: str) -> str:
    return "\n ".join(value.split())


def render_mail(msg: Msg, body: str) -> str:
    lines = ["From mboxrd@z Thu Jan  1 00:00:00 1970"]
    for key in MAIL_HEADERS:
        if key in msg.headers:
            value = msg[key]
            if key == "References":
                value = fold_refs(value)
            lines.append(f"{key}: {value}")
    lines += ["MIME-Version: 1.0",
              'Content-Type: text/plain; charset="utf-8"',
              "Content-Transfer-Encoding: 8bit", ""]
    for line in body.rstrip("\n").split("\n"):
        if re.match(r">*From ", line):
            line = ">" + line
        lines.append(line)
    return "\n".join(lines) + "\n\n"


def cover_tail(repo: Path, base: str, head: str, patches: list[Msg]) -> str:
    authors: dict[str, list[str]] = {}
    for p in patches:
        authors.setdefault(email.utils.parseaddr(p["From"])[0], []).append(subject_of(p))
    parts = []
    for author, subjects in authors.items():
        parts.append(f"{author} ({len(subjects)}):\n" +
                     "".join(f"  {s}\n" for s in subjects))
    stat = git(repo, "diff", "--stat=72", "--summary", base, head)
    return "\n" + "\n".join(parts) + "\n" + stat + "\nbase-commit: " + base + "\n"


def check_quotes(reply: Msg, target_text: str) -> None:
    for line in reply.body.splitlines():
        if not line.startswith("> "):
            continue
        quoted = line[2:]
        if quoted.startswith(("+", "-", " ", "@@")) and \
                quoted not in target_text.split("\n"):
            raise SystemExit(f"{reply.path}: quoted line not in target: {quoted!r}")


def build_thread(name: str, workdir: Path) -> tuple[str, dict]:
    msgs = [Msg(p) for p in sorted((SERIES / name).glob("*.msg"))]
    repo = workdir / name / "repo"
    repo.parent.mkdir(parents=True)
    base = build_tree_repo(repo)
    info = {"base": base, "messages": [], "heads": {}}

    # commits, one branch per revision
    commits: dict[str, str] = {}
    by_series: dict[str, list[Msg]] = {}
    for m in msgs:
        if m.kind != "patch":
            continue
        if m.series not in by_series:
            git(repo, "checkout", "-q", "-B", f"series-{m.series}", base)
        else:
            git(repo, "checkout", "-q", f"series-{m.series}")
        commits[m["Message-ID"]] = commit_patch(repo, m)
        by_series.setdefault(m.series, []).append(m)
        info["heads"][m.series] = commits[m["Message-ID"]]

    texts: dict[str, str] = {}
    out = []
    for m in msgs:
        if m.kind == "patch":
            body = format_patch_body(repo, commits[m["Message-ID"]])
        elif m.kind == "cover":
            patches = by_series[m.series]
            body = m.body + cover_tail(repo, base, info["heads"][m.series], patches)
        elif m.kind == "reply":
            target = texts.get(m["In-Reply-To"])
            if target is None:
                raise SystemExit(f"{m.path}: In-Reply-To not earlier in thread")
            check_quotes(m, target)
            body = m.body
        elif m.kind == "mail":
            body = m.body
        else:
            raise SystemExit(f"{m.path}: bad Kind {m.kind!r}")
        texts[m["Message-ID"]] = body
        out.append(render_mail(m, body))
        info["messages"].append(m)
    return "".join(out), info


# ---------------------------------------------------------------- tables

def _parser():
    import tree_sitter_c
    from tree_sitter import Language, Parser
    return Parser(Language(tree_sitter_c.language()))


def _func_name(node) -> str:
    while node is not None and node.type != "function_definition":
        node = node.parent
    if node is None:
        return "-"
    decl = node.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    ident = decl.child_by_field_name("declarator")
    return ident.text.decode()


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def analyze(root: Path) -> tuple[list, list]:
    """(construction sites, VM_FAULT_LOCKED uses) of the C tree at *root*."""
    parser = _parser()
    sites, locked = [], []
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".c", ".h")):
        rel = path.relative_to(root).as_posix()
        tree = parser.parse(path.read_bytes())
        for n in _walk(tree.root_node):
            if n.type == "declaration":
                t = n.child_by_field_name("type")
                if not (t is not None and t.type == "struct_specifier"
                        and t.child_by_field_name("name") is not None
                        and t.child_by_field_name("name").text == b"vm_fault"
                        and t.child_by_field_name("body") is None):
                    continue
                for d in n.children_by_field_name("declarator"):
                    if d.type == "identifier":
                        kind = "no initializer"
                    elif d.type == "init_declarator" and \
                            d.child_by_field_name("declarator").type == "identifier":
                        value = d.child_by_field_name("value")
                        kind = ("designated initializer"
                                if value.type == "initializer_list" else "initializer")
                    else:
                        continue
                    sites.append((rel, n.start_point[0] + 1, _func_name(n), kind))
            elif n.type == "call_expression":
                fn = n.child_by_field_name("function")
                args = n.child_by_field_name("arguments")
                if fn.type == "identifier" and fn.text in (b"kzalloc", b"kmalloc") \
                        and re.search(rb"sizeof\s*\(\s*struct\s+vm_fault\s*\)", args.text):
                    sites.append((rel, n.start_point[0] + 1, _func_name(n),
                                  fn.text.decode()))
            elif n.type == "identifier" and n.text == b"VM_FAULT_LOCKED":
                if _func_name(n) == "-":
                    continue        # #define, name table: see other_locked_mentions()
                p = n.parent
                while p.type in ("parenthesized_expression",) or (
                        p.type == "binary_expression"
                        and p.child_by_field_name("operator").type == "|"):
                    p = p.parent
                role = ("consumer" if p.type == "binary_expression"
                        and p.child_by_field_name("operator").type == "&"
                        else "producer")
                locked.append((rel, n.start_point[0] + 1, _func_name(n), role))
    sites.sort()
    locked.sort()
    return sites, locked


I_MMAP_CALLS = (b"i_mmap_lock_read", b"i_mmap_unlock_read",
                b"i_mmap_lock_write", b"i_mmap_unlock_write")


def i_mmap_calls(root: Path) -> list[tuple[str, int, str, str]]:
    """Calls of the four i_mmap_rwsem helpers inside function bodies."""
    parser = _parser()
    out = []
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".c", ".h")):
        rel = path.relative_to(root).as_posix()
        for n in _walk(parser.parse(path.read_bytes()).root_node):
            if n.type == "call_expression":
                fn = n.child_by_field_name("function")
                if fn.type == "identifier" and fn.text in I_MMAP_CALLS:
                    out.append((rel, n.start_point[0] + 1, _func_name(n),
                                fn.text.decode()))
    return sorted(out)


def calls_table(calls) -> str:
    rows = ["| file:line | function | call |", "|---|---|---|"]
    rows += [f"| `{f}:{l}` | `{fn}` | `{c}()` |" for f, l, fn, c in calls]
    return "\n".join(rows)


def other_locked_mentions(root: Path) -> list[tuple[str, int, str]]:
    out = []
    for rel, what in (("include/linux/mm.h", None),
                      ("Documentation/filesystems/Locking", "documentation")):
        for i, line in enumerate((root / rel).read_text().splitlines(), 1):
            if "VM_FAULT_LOCKED" not in line:
                continue
            if what:
                kind = what
            elif line.startswith("#define VM_FAULT_LOCKED"):
                kind = "definition"
            elif '"LOCKED"' in line:
                kind = "name table (VM_FAULT_RESULT_TRACE)"
            else:
                kind = "comment"
            out.append((rel, i, kind))
    return out


def site_table(sites) -> str:
    rows = ["| file:line | function | kind |", "|---|---|---|"]
    rows += [f"| `{f}:{l}` | `{fn}` | {k} |" for f, l, fn, k in sites]
    return "\n".join(rows)


def locked_table(locked) -> str:
    rows = ["| file:line | function | role |", "|---|---|---|"]
    rows += [f"| `{f}:{l}` | `{fn}` | {r} |" for f, l, fn, r in locked]
    return "\n".join(rows)


def tables(infos: dict, workdir: Path) -> dict[str, str]:
    sites, locked = analyze(TREE)
    out = {}
    out["base-sites"] = site_table(sites)
    out["base-locked"] = locked_table(locked)
    out["base-immap"] = calls_table(i_mmap_calls(TREE))
    out["base-other"] = "\n".join(
        ["| file:line | kind |", "|---|---|"] +
        [f"| `{f}:{l}` | {k} |" for f, l, k in other_locked_mentions(TREE)])
    ids = ["| thread | rev | # | Message-ID | In-Reply-To | Subject |",
           "|---|---|---|---|---|---|"]
    for name in THREAD_ORDER:
        for m in infos[name]["messages"]:
            num = re.search(r"(\d+)/(\d+)\]", m["Subject"]) \
                if m.kind in ("cover", "patch") else None
            ids.append(f"| {name} | {m.series or '-'} | "
                       f"{num.group(1) if num else m.kind} | `{m['Message-ID']}` | "
                       f"`{m.headers.get('In-Reply-To', '-')}` | {m['Subject']} |")
    out["message-ids"] = "\n".join(ids)
    base = ["| thread | base-commit |", "|---|---|"]
    base += [f"| {n} | `{infos[n]['base']}` |" for n in THREAD_ORDER]
    out["base-commit"] = "\n".join(base)
    after = []
    for name in THREAD_ORDER:
        for series, head in sorted(infos[name]["heads"].items()):
            repo = workdir / name / "repo"
            git(repo, "checkout", "-q", head)
            s, l = analyze(repo)
            after.append(f"#### {name} {series} (head of the series applied)\n\n"
                         f"Construction sites:\n\n{site_table(s)}\n\n"
                         f"`VM_FAULT_LOCKED` in function bodies:\n\n{locked_table(l)}\n\n"
                         f"i_mmap_rwsem helper calls:\n\n{calls_table(i_mmap_calls(repo))}\n")
    out["after"] = "\n".join(after).rstrip("\n")
    return out


def fill_readme(text: str, tabs: dict[str, str]) -> str:
    for key, value in tabs.items():
        pat = re.compile(rf"(<!-- BEGIN {re.escape(key)} -->\n).*?(<!-- END {re.escape(key)} -->)",
                         re.S)
        if not pat.search(text):
            raise SystemExit(f"README.md lacks the {key} markers")
        text = pat.sub(lambda m: m.group(1) + value + "\n" + m.group(2), text)
    return text


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if any output would change")
    args = ap.parse_args(argv)
    outputs: dict[Path, str] = {}
    infos = {}
    with tempfile.TemporaryDirectory(prefix="corpus-threads-") as tmp:
        work = Path(tmp)
        for name in THREAD_ORDER:
            text, info = build_thread(name, work)
            outputs[THREADS / f"{name}.mbox"] = text
            infos[name] = info
        outputs[README] = fill_readme(README.read_text(encoding="utf-8"),
                                      tables(infos, work))
    changed = [p for p, t in outputs.items()
               if not p.exists() or p.read_text(encoding="utf-8") != t]
    if args.check:
        for p in changed:
            print(f"would change: {p.relative_to(HERE.parent)}")
        return 1 if changed else 0
    THREADS.mkdir(exist_ok=True)
    for p in changed:
        p.write_text(outputs[p], encoding="utf-8")
        print(f"wrote {p.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
