"""The review pipeline for one series: fetch the thread, assemble the series, parse each diff,
apply it to a tree in a throw-away index, run the rules and the simulator, and return the
Report (with what it read). It renders nothing: the formats and commands do."""
from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from reviewbot import discussion, progress
from reviewbot.diff import PatchDiff, map_functions, parse_patch
from reviewbot.diff import _function_from_hunk_text as function_from_hunk_text
from reviewbot.engine import Context, load_rules, run_rules
from reviewbot.errors import ReviewbotError
from reviewbot.evidence import locate
from reviewbot.fetch import fetch_thread
from reviewbot.findings import PatchInfo, Report, Skipped
from reviewbot.series import Series, parse_series
from reviewbot.tree import Repo, TreeView, worst_step


@dataclass
class ReviewRequest:
    """One review, as the command line, the bot and the tests ask for it."""
    msgid: str | None = None            # message-id or lore URL of any message of the series
    mbox: str | None = None             # a local mbox or maildir; "-": one mail or mbox on stdin
    messages: list[EmailMessage] | None = None   # the thread already in hand (the bot)
    inbox: str | None = None            # public-inbox to fetch from (default: b4.midmask)
    bundled: str | None = None          # a corpus thread, against the bundled tree
    revision: int | None = None         # default: the newest in the thread
    tree: str | None = None             # default: the current checkout, if it is one
    base: str | None = None             # when the series has no base-commit the tree knows
    no_tree: bool = False               # diff-only mode
    rules: list[str] | None = None      # default: every installed rule
    simulate: bool = True
    allow_incomplete: bool = True       # review the patches present of an incomplete series
    where: str = ""                     # what errors call the input (default: from the above)


def review(req: ReviewRequest) -> Report:
    """The whole pipeline for one series: fetch, series, diff, tree, analysis. The Report
    carries the messages, the series and the diffs it read."""
    with tempfile.TemporaryDirectory(prefix="reviewbot-") as tmp:
        mbox, tree_dir = req.mbox, req.tree
        from_stdin = mbox == "-" and req.messages is None
        if from_stdin:     # b4's check commands pipe one patch mail at a time
            mbox = str(Path(tmp) / "stdin.mbox")
            data = sys.stdin.buffer.read()
            if not data.strip():
                raise ReviewbotError("stdin", "no message given (--mbox -)")
            Path(mbox).write_bytes(data)
        if req.bundled:
            from reviewbot import corpus
            names = corpus.list_threads()
            if req.bundled not in names:
                raise ReviewbotError(req.bundled, "no such bundled thread (have: "
                                     + ", ".join(names) + ")")
            mbox = str(corpus.thread_path(req.bundled))
            tree_dir = tree_dir or str(Path(tmp) / "tree")
            if not Path(tree_dir).exists():
                corpus.build_tree_repo(Path(tree_dir))
        if req.messages is not None:
            messages = list(req.messages)
        else:
            _msgid, messages = fetch_thread(req.msgid, mbox=mbox, inbox=req.inbox)
        where = req.where or req.msgid or ("stdin" if from_stdin else mbox) or "thread"
        series = parse_series(messages, revision=req.revision, where=where,
                              allow_incomplete=req.allow_incomplete)
        repo = None
        if not req.no_tree:
            repo = Repo(tree_dir) if tree_dir else _cwd_repo()
        rules = load_rules(req.rules)
        report = review_series(series, repo, base_rev=req.base, rules=rules,
                               simulate=req.simulate)
        discussion.annotate(report.findings, messages, _patch_ids(series))
        if repo is None and not req.no_tree:
            report.skipped.append(Skipped("tree", "no kernel tree: the current directory is not "
                                          "a git checkout and no --tree was given"))
            report.tree_given = True     # a tree was wanted and none was found: not a pass
        from reviewbot.mail import header_msgid
        for m in messages:
            mid = header_msgid(m)
            if mid:
                report.messages.setdefault(mid, m)
        return report.sorted()


def _cwd_repo() -> Repo | None:
    try:
        return Repo(".")
    except ReviewbotError:
        return None


def _patch_ids(series: Series) -> set[str]:
    return {p.msgid for p in series.patches + ([series.cover] if series.cover else [])}


def review_series(series: Series, repo: Repo | None, base_rev: str | None, rules,
                  simulate: bool = True) -> Report:
    diffs = [parse_patch(p) for p in series.patches]
    skipped: list[Skipped] = [Skipped("series", note) for note in series.notes]
    if not series.complete:
        have = {p.index for p in series.patches}
        gone = ", ".join(f"{i}/{series.total}" for i in range(1, series.total + 1)
                         if i not in have)
        skipped.append(Skipped("series", f"series v{series.revision} is missing patch {gone}: "
                               "the patches present are applied and reviewed in order without "
                               "them; findings may change once they are there"))
    base_view = patched_view = None
    per_patch: list[tuple[TreeView | None, TreeView | None]] = [(None, None)] * len(diffs)
    base = ""
    applied = "none"
    already = False
    left_out: list = []     # hunks the tree did not take: their lines are not the tree's
    tree_given = repo is not None
    if repo is not None:
        base = _choose_base(repo, series, base_rev, skipped)
        existing = sorted({f.path for d in diffs for f in d.files if not f.is_added})
        if existing and not repo.has_any(base, existing):
            skipped.append(Skipped("tree", f"{repo.path} at {base[:12]} has none of the files "
                                   "the series changes (" + ", ".join(existing[:3])
                                   + (", ..." if len(existing) > 3 else "")
                                   + "): it is not a tree for this series; diff-only mode"))
            repo, base = None, ""
    if repo is not None:
        base_view = TreeView(repo, base, label="base")
        results = None
        if reverse_applies(repo, base, series.patches, diffs):
            # --3way would happily "apply" a change the tree already has: check first
            already = True
            commits = commits_of(repo, base, series.patches, diffs)
            parent = repo.resolve(commits[0] + "^") if commits else None
            if parent:
                # the tree has it as commits (a b4 prep branch, a merged series): review the
                # change against the tree just before it, and say so
                skipped.append(Skipped("apply", f"the tree at {base[:12]} already contains "
                                       "the series (every hunk reverse-applies), as "
                                       + ", ".join(c[:12] for c in commits)
                                       + f"; reviewed against {parent[:12]}, the tree before it"))
                base = parent
                base_view = TreeView(repo, base, label="base")
            else:
                skipped.append(Skipped("apply", f"the tree at {base[:12]} already contains "
                                       "the series: every hunk reverse-applies; it is not "
                                       "reviewed as new"))
                skipped.append(Skipped("whole-tree checks", f"the series is already in "
                                       f"{base[:12]}; only checks on the diff and the base ran"))
                results = []
        if results is None:
            with progress.step("applying the series"):
                results = repo.apply_series(base, [(p.msgid, p.index, p.body, d.files)
                                                   for p, d in zip(series.patches, diffs)])
            applied = worst_step(r.step for r in results)
            views = [base_view]
            for r in results:
                views.append(base_view.with_overlay(r.overlay, f"after {r.index}"))
            per_patch = [(views[i], views[i + 1]) for i in range(len(diffs))]
            patched_view = views[-1]
            for d, r, (before, after) in zip(diffs, results, per_patch):
                skipped.extend(_apply_notes(d, r, base))
                missed = r.failed if r.step != "none" else list(d.hunks())
                for h in missed:
                    h.in_tree = False
                left_out += missed
                if r.step != "exact" or not at_claimed_lines(d, after):
                    d.files = tree_coordinates(d, r.failed, before, after)
            if applied in ("partial", "none"):
                skipped.append(Skipped("whole-tree checks", "the series does not apply fully to "
                                       f"{base[:12]}: whole-tree checks ran on the base tree with "
                                       "the hunks that apply and what the diff says; findings on "
                                       "the hunks left out may be missing"))
    else:
        skipped.append(Skipped("whole-tree checks", "no tree: diff-only mode"))
    touched: set[tuple[str, str]] = set()
    for d, (before, after) in zip(diffs, per_patch):
        if after is not None:
            skipped.extend(unparsed_functions(d, after))
        else:
            skipped.extend(_hunk_depth_notes(d))
        map_functions(d, before.read if before else None, after.read if after else None)
        for h in d.hunks():
            if any(h is x for x in left_out):
                h.functions = [fn for fn in [function_from_hunk_text(h)] if fn]
        touched |= {(h.path, fn) for h in d.hunks() for fn in h.functions}
    shared: dict = {"simulate": simulate}
    contexts = [Context(series=series, patch=p, diff=d, diffs=diffs,
                        base=base_view, patched=patched_view,
                        before_patch=b, after_patch=a, touched=touched, shared=shared)
                for p, d, (b, a) in zip(series.patches, diffs, per_patch)]
    with progress.step("indexing the tree and running the rules"):
        findings, rule_skips = run_rules(rules, contexts)
    skipped.extend(rule_skips)
    if simulate:
        from reviewbot.simlink import attach_simulation
        with progress.step("simulating the fault path"):
            skipped.extend(attach_simulation(findings, patched_view,
                                             contexts[0] if contexts else None))
    else:
        skipped.append(Skipped("simulation", "--no-simulate given"))
    view = patched_view or base_view
    locate(findings, {p.msgid: p.body for p in series.patches}, view.read if view else None)
    cover = series.cover
    infos = [PatchInfo(msgid=p.msgid, subject=p.subject, index=p.index, total=p.total,
                       author=p.author, files=d.paths,
                       functions=sorted({f"{h.path}:{fn}" for h in d.hunks()
                                         for fn in h.functions}))
             for p, d in zip(series.patches, diffs)]
    if cover is not None:
        infos.insert(0, PatchInfo(msgid=cover.msgid, subject=cover.subject, index=0,
                                  total=cover.total, author=cover.author))
    return Report(series_subject=series.subject, series_msgid=series.msgid,
                  revision=series.revision, patches=infos, base=base,
                  mode="tree" if repo is not None else "diff-only", findings=findings,
                  skipped=skipped, applied=applied, already_applied=already,
                  tree_given=tree_given, series=series, diffs=diffs).sorted()


def commits_of(repo: Repo, base: str, patches, diffs, depth: int = 200) -> list[str]:
    """The commits of `base`'s recent history (the newest `depth` touching the series' files)
    whose patch-ids are those of the patches, in series order; [] unless every one is found."""
    paths = sorted({p for d in diffs for p in d.paths})
    log = repo._git("log", f"-n{depth}", "--format=%H", "-p", "--no-color", base, "--", *paths)
    if log.returncode != 0:
        return []
    ids = repo._git("patch-id", "--stable", stdin=log.stdout)
    by_pid = {}
    for line in ids.stdout.decode().splitlines():
        pid, commit = line.split()[:2]
        by_pid.setdefault(pid, commit)       # the newest commit with that change
    found = []
    for p in patches:
        r = repo._git("patch-id", "--stable", stdin=p.body.encode("utf-8", "surrogateescape"))
        pid = r.stdout.decode().split()[:1]
        if not pid or pid[0] not in by_pid:
            return []
        found.append(by_pid[pid[0]])
    return found


def reverse_applies(repo: Repo, base: str, patches, diffs) -> bool:
    """True when the base already holds the whole series: undoing the patches from the last
    one back, in a throw-away index of the files they touch, succeeds hunk for hunk."""
    paths = sorted({p for d in diffs for p in d.paths})
    if not patches or not paths:
        return False
    with tempfile.TemporaryDirectory(prefix="reviewbot-reverse-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        listing = repo._git("ls-tree", "-r", "--full-tree", base, "--", *paths).stdout
        if repo._git("update-index", "--add", "--index-info", env=env,
                     stdin=listing).returncode != 0:
            return False
        for p in reversed(patches):
            r = repo._git("apply", "--cached", "-R", "--whitespace=nowarn", "-", env=env,
                          stdin=p.body.encode("utf-8", "surrogateescape"))
            if r.returncode != 0:
                return False
    return bool(patches)


def at_claimed_lines(d: PatchDiff, after: TreeView) -> bool:
    """Whether every hunk sits where its header says (git apply also takes moved hunks)."""
    for f in d.files:
        if f.is_removed:
            continue
        lines = (after.read(f.path) or b"").decode("utf-8", "surrogateescape").split("\n")
        for h in f.hunks:
            for kind, text, ln in zip((k for k, _t in h.lines), (t for _k, t in h.lines),
                                      h.numbers):
                if kind != "-" and (ln is None or ln > len(lines) or lines[ln - 1] != text):
                    return False
    return True


def tree_coordinates(d: PatchDiff, failed: list, before: TreeView, after: TreeView) -> list:
    """A patch applied with 3-way, fuzz or in part, as the tree sees it: its hunks re-read
    from the base and patched files, so line numbers are the tree's; the hunks left out are
    kept as the mail has them, for the checks that need only what the diff says."""
    from reviewbot.diff import parse_diff_text
    where = f"{d.patch.msgid} (patch {d.patch.index}/{d.patch.total})"
    out = []
    for f in d.files:
        old, new = before.blob_spec(f.path), after.blob_spec(f.path)
        if f.is_added or f.is_removed or old is None or new is None:
            out.append(f)
            continue
        text = before.repo.file_diff(f.path, old, new)
        redone = parse_diff_text(text, where)[0] if text else None
        left_out = [h for h in f.hunks if any(h is x for x in failed)]
        if redone is None:
            out.append(type(f)(f.path, f.is_added, f.is_removed, left_out))
            continue
        redone.hunks += left_out
        out.append(redone)
    return out


def _apply_notes(d: PatchDiff, r, base: str) -> list[Skipped]:
    """What `skipped` says about how one patch went onto the base: check `apply` only when
    some of it did not (the bot's footer relies on that)."""
    p = d.patch
    where = f"patch {p.index}/{p.total}"
    if r.step == "3way":
        return [Skipped("apply (3way)", f"{where} applies to {base[:12]} only by a 3-way "
                        "merge with the blobs its index lines name", p.msgid)]
    if r.step == "fuzz":
        return [Skipped("apply (fuzz)", f"{where} applies to {base[:12]} only with reduced "
                        "context (fuzz) or moved lines; check the placement of its hunks",
                        p.msgid)]
    if r.step == "none":
        return [Skipped("apply", describe_apply_failure(d, r.error) + "; none of its hunks "
                        "apply", p.msgid)]
    return [Skipped("apply", f"{where} does not apply: {h.path} hunk #{h.index} ({h.header})",
                    p.msgid) for h in r.failed]


def unparsed_functions(d: PatchDiff, after: TreeView) -> list[Skipped]:
    """C that tree-sitter cannot read, in the files a patch touches, as `skipped` entries with
    file:line: every function around it that parses is still indexed and checked."""
    from reviewbot import cparse
    from reviewbot.diff import is_c
    out = []
    for f in d.files:
        if not is_c(f.path) or f.is_removed:
            continue
        src = after.read(f.path) or b""
        for start, end in cparse.error_spans(src):
            span = f"{f.path}:{start}" + (f"-{end}" if end > start else "")
            out.append(Skipped("parse", f"{span}: C that tree-sitter cannot parse is not "
                               "indexed; the functions around it are", d.patch.msgid))
        out += too_deep_notes(f.path, src, d.patch.msgid)
    return out


def too_deep_notes(path: str, src: bytes, msgid: str, where=None) -> list[Skipped]:
    """`skipped` entries for code left unparsed for nesting past the budget (file:line)."""
    from reviewbot import cparse
    out = []
    for start, end in cparse.too_deep(src):
        a, b = (where(start), where(end)) if where else (start, end)
        span = f"{path}:{a}" + (f"-{b}" if b > a else "")
        out.append(Skipped("parse", f"{span}: brackets nested deeper than "
                           f"{cparse.MAX_NESTING} (the nesting budget): this code is not "
                           "parsed or checked; the rest of its function is", msgid))
    return out


def _hunk_depth_notes(d: PatchDiff) -> list[Skipped]:
    """Diff-only mode: the nesting budget applied to each hunk's added lines."""
    from reviewbot.diff import is_c
    out = []
    for f in d.files:
        if is_c(f.path):
            for h in f.hunks:
                src = "\n".join(t for _ln, t in h.added).encode("utf-8", "replace")
                nums = [ln for ln, _t in h.added]
                out += too_deep_notes(f.path, src, d.patch.msgid, lambda i: nums[i - 1])
    return out


def _choose_base(repo: Repo, series: Series, base_rev: str | None,
                 skipped: list[Skipped]) -> str:
    if series.base_commit:
        found = repo.resolve(series.base_commit)
        if found:
            return found
        skipped.append(Skipped("base-commit", f"base-commit {series.base_commit} is not in the "
                               "tree; using " + (base_rev or "HEAD")))
    rev = base_rev or "HEAD"
    found = repo.resolve(rev)
    if not found:
        raise ReviewbotError(rev, f"no such commit in {repo.path}")
    return found


def describe_apply_failure(d: PatchDiff, error: str) -> str:
    """Name the patch, file and hunk `git apply` stopped at, in one line."""
    p = d.patch
    m = re.search(r"patch failed: (.+?):(\d+)", error)
    if m:
        path, start = m.group(1), int(m.group(2))
        for f in d.files:
            if f.path == path:
                for h in f.hunks:
                    if h.source_start == start:
                        return (f"patch {p.index}/{p.total} does not apply: {path} hunk "
                                f"#{h.index} ({h.header})")
        return f"patch {p.index}/{p.total} does not apply: {path} at line {start}"
    first = next((ln for ln in error.splitlines() if ln.startswith("error:")), error.strip())
    return f"patch {p.index}/{p.total} does not apply: {' '.join(first.split())}"
