"""Reviewer checklist for a series (Markdown or HTML through Jinja2 templates): what each patch
changes, each finding with its evidence, and the checks its diff calls for."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

import jinja2
from markupsafe import Markup

from reviewbot import engine
from reviewbot.mail import PatchMail, report_mails
from reviewbot.findings import Finding, Report
from reviewbot.render.reply import sim_lines
from reviewbot.render.safe import escape

LOCK_CALLS = re.compile(
    r"\b(mutex_(?:lock|unlock|trylock)|spin_(?:lock|unlock)(?:_irq|_irqsave|_bh)?|"
    r"(?:down|up)_(?:read|write)|i_mmap_(?:lock|unlock)_(?:read|write)|lock_page|unlock_page|"
    r"rcu_read_(?:lock|unlock)|pte_offset_map_lock|pte_unmap_unlock)\s*\(([^;]{0,400})\)")   # bounded: linear per line
FLAG = re.compile(r"\b((?:VM_FAULT|FAULT_FLAG|VM|GFP|FOLL|PG|MAP|PROT)_[A-Z0-9_]+)\b")
FUNC_DEF = re.compile(r"^[+-](?!\s)(?:[\w\s\*]+?)\b(\w+)\s*\(")
_DECL_HEAD = re.compile(r"[\w\s*]*")      # one character class: linear on any line


def member_name(line: str) -> str:
    """The name a `+\ttype *name[N];` line declares ('' if it is not one), by a scan: the
    backtracking regex it replaces took minutes on a 20,000-character line (issue 13)."""
    if not line.startswith("+") or not line[1:2].isspace():
        return ""
    head, semi, _ = line[1:].partition(";")
    if not semi:
        return ""
    head = head.rstrip()
    if head.endswith("]"):
        head = head[:head.rfind("[")] if "[" in head and "]" not in head[head.rfind("["):-1] \
            else "?"
    j = len(head)
    while j > 0 and (head[j - 1].isalnum() or head[j - 1] == "_"):
        j -= 1
    name = head[j:]
    return name if name and _DECL_HEAD.fullmatch(head[:j]) else ""
NULL_TEST = re.compile(r"^\+\s*(?:if|while|else if)\s*\(\s*(!?)\s*([\w.>\-]+)\s*\)")
CALLBACK = re.compile(r"->(fault|page_mkwrite|pfn_mkwrite|map_pages|huge_fault|"
                      r"readpage|read_folio|writepage)\b")
LOCK_PAIRS = {"lock": "unlock", "down": "up", "spin_lock": "spin_unlock"}


@dataclass
class Item:
    text: str
    evidence: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    finding: Finding | None = None
    topic: tuple | None = None       # engine.ChecklistItem.topic


@dataclass
class PatchFacts:
    files: list[str]
    functions: list[str]
    structs: dict[str, list[str]]        # struct name -> members the patch adds
    flags: list[str]                     # flag macros on changed lines
    defined_flags: list[str]             # flag macros whose #define changed
    locks: dict[str, set[str]]           # lock object -> {'acquire', 'release'} on new lines
    moved_locks: set[str]                # also on removed lines: moved, not new
    signatures: list[str]                # functions whose definition line changed
    null_checks: list[str]               # expressions newly tested against NULL
    callbacks: list[str]                 # ops callbacks called or named on changed lines
    exports: list[str]


def _lock_object(call: str, args: str) -> tuple[str, str]:
    kind = "release" if re.search(r"unlock|^up_", call) else "acquire"
    if call in ("lock_page", "unlock_page"):
        return "the page lock", kind
    if call.startswith("rcu_read"):
        return "rcu_read_lock", kind
    if call.startswith(("pte_offset_map_lock", "pte_unmap_unlock")):
        return "the page table lock", kind
    arg = args.split(",")[0].strip().lstrip("&")
    name = re.split(r"->|\.", arg)[-1] if arg else call
    if call.startswith("i_mmap_"):
        name = "i_mmap_rwsem"
    return name or call, kind


def analyse(pm: PatchMail) -> PatchFacts:
    structs: dict[str, list[str]] = {}
    flags, sigs, nulls, cbs, exports, defined = set(), set(), set(), set(), set(), set()
    locks: dict[str, set[str]] = {}
    moved: set[str] = set()
    functions = []
    for h in pm.hunks:
        ctx = h.section.strip()
        if ctx and re.search(r"\w+\s*\(", ctx) and not ctx.rstrip().endswith(":"):
            name = re.findall(r"(\w+)\s*\(", ctx)[0]
            functions.append(name)
        struct_ctx = re.match(r"(?:struct|union)\s+(\w+)\s*\{", ctx)
        removed_defs = {m.group(1) for l in h.text if l.startswith("-")
                        for m in [FUNC_DEF.match(l)] if m}
        for line in h.text:
            if not line[:1] in "+-" or line.startswith(("+++", "---")):
                continue
            flags.update(FLAG.findall(line))
            d = re.match(r"^[+-]\s*#\s*define\s+(\w+)", line)
            if d and FLAG.match(d.group(1)):
                defined.add(d.group(1))
            for m in LOCK_CALLS.finditer(line):
                obj, kind = _lock_object(m.group(1), m.group(2))
                if line.startswith("+"):
                    locks.setdefault(obj, set()).add(kind)
                else:
                    moved.add(obj)
            m = FUNC_DEF.match(line)
            if m and line.startswith("+") and m.group(1) in removed_defs:
                sigs.add(m.group(1))
            if line.startswith("+"):
                if struct_ctx and not line.lstrip("+").lstrip().startswith(("/*", "*", "#")):
                    name = member_name(line)
                    if name and "(" not in line:
                        structs.setdefault(struct_ctx.group(1), []).append(name)
                nm = NULL_TEST.match(line)
                if nm and not FLAG.search(nm.group(2)) and not nm.group(2).isupper():
                    nulls.add(nm.group(2))
                cbs.update(CALLBACK.findall(line))
                ex = re.match(r"\+\s*(EXPORT_SYMBOL(?:_GPL)?)\((\w+)\)", line)
                if ex:
                    exports.add(f"{ex.group(2)} ({ex.group(1)})")
        # a callback called in a changed hunk is part of what the change relies on
        cbs.update(c for l in h.text + [ctx] for c in CALLBACK.findall(l))
    return PatchFacts(files=pm.files(), functions=list(dict.fromkeys(functions)),
                      structs=structs, flags=sorted(flags), defined_flags=sorted(defined), locks=locks, moved_locks=moved,
                      signatures=sorted(sigs), null_checks=sorted(nulls),
                      callbacks=sorted(cbs), exports=sorted(exports))


def finding_item(f: Finding) -> Item:
    origin = "introduced by this patch" if f.introduced else "pre-existing"
    where = (f"{f.file}:{f.line}" if f.line and f.line > 0 else f.file) if f.file else "series"
    where += f" in {f.function}()" if f.function else ""
    ev = []
    for s in f.sites:
        line = f":{s.line}" if s.line and s.line > 0 else ""
        ev.append(f"{s.function + '()' if s.function else '(file scope)'} {s.file}{line}"
                  f" — {s.status}{', changed by the series' if s.touched else ''}"
                  f"{' — ' + s.detail if s.detail else ''}")
    sim = sim_lines(f.simulation)
    trace = [l for l in sim[2:]] if len(sim) > 2 else []
    if sim:
        ev.append(sim[0])
    if f.fix:
        ev.append("a fix is proposed with the finding (see `reviewbot reply`)")
    return Item(text=f"**{f.rule}** ({f.severity}, {origin}, {where}): {f.message}",
                evidence=ev, trace=trace, finding=f)


def rule_items(findings: list[Finding]) -> list[Item]:
    """What the findings' rules add to the checklist (engine.Rule.checklist_items); of items
    on one topic, the one from the finding with the most sites."""
    out: list[Item] = []
    by_topic: dict[tuple, int] = {}
    for f in findings:
        for ci in engine.checklist_items(f):
            item = Item(ci.text, list(ci.evidence), finding=f, topic=ci.topic)
            if ci.topic is None:
                out.append(item)
            elif ci.topic not in by_topic:
                by_topic[ci.topic] = len(out)
                out.append(item)
            elif len(f.sites) > len(out[by_topic[ci.topic]].finding.sites):
                out[by_topic[ci.topic]] = item
    return out


def generated_items(pm: PatchMail, facts: PatchFacts, findings: list[Finding]) -> list[Item]:
    """Checks a careful mm reviewer adds for this diff, each tied to what the diff shows; where
    a rule has an item on the same topic (a new member, a fault bit), the rule's stands."""
    items = []
    log = pm.changelog.lower()
    doc_touched = [p for p in facts.files if p.startswith("Documentation/")]
    ruled = rule_items(findings)
    topics = {i.topic: i for i in ruled if i.topic is not None}
    for struct, members in sorted(facts.structs.items()):
        for m in members:
            items.append(topics.pop(("member", struct, m), None) or Item(
                f"New member `{m}` of `struct {struct}`: is it initialised at every site that "
                "builds the struct (on-stack, brace initialisers, kmalloc vs kzalloc, copies)?",
                ["no finding for it: check the sites reviewbot could not see"]))
            items.append(Item(f"`struct {struct}` placement of `{m}`: does it open a hole or "
                              "push a hot member onto another cache line (pahole before and "
                              "after)?"))
    # a flag whose definition changed, or that a rule says changes meaning; merely returning
    # an existing bit is not a contract change
    ruled_flags = {t[1] for t in topics if t[0] == "flag"}
    for flag in sorted(set(facts.defined_flags) | ruled_flags):
        if flag in ruled_flags:
            items.append(topics.pop(("flag", flag)))
        elif flag.startswith(("VM_FAULT_", "FAULT_FLAG_")):
            items.append(Item(f"`{flag}` is changed or newly relied on: is every producer and "
                              "consumer of it audited (core mm, arch/*/mm/fault.c, gup, "
                              "filesystems, the VM_FAULT_RESULT_TRACE names)?"))
    for obj, kinds in sorted(facts.locks.items()):
        if obj in facts.moved_locks:
            continue
        stated = obj.lower() in log or obj.replace("_", " ").lower() in log
        ev = ["the changelog names it" if stated else "the changelog does not name it"]
        items.append(Item(f"Locking rule for {obj} stated in the changelog (who takes it, "
                          "who drops it, what it protects)?", ev))
        if kinds == {"release"}:
            items.append(Item(f"{obj} is released on new lines but never taken in this patch: "
                              "where is it acquired, and is it held on every path that "
                              "reaches the release?"))
        elif kinds == {"acquire"}:
            items.append(Item(f"{obj} is taken on new lines but never released in this "
                              "patch: is it dropped on every path, error paths included?"))
    if facts.callbacks and (facts.flags or facts.null_checks):
        cb = ", ".join(f"->{c}" for c in facts.callbacks)
        ev = [f"the patch touches {', '.join(doc_touched)}"] if doc_touched else \
            ["no file under Documentation/ is changed by this patch"]
        items.append(Item(f"The {cb} contract changes: is its documentation updated "
                          "(Documentation/filesystems/locking.rst, or Locking in older "
                          "trees, and the comments on struct vm_fault)?", ev))
    for expr in facts.null_checks:
        items.append(Item(f"`{expr}` is newly tested for NULL: is every later use of it on "
                          "the same path guarded as well?"))
    for fn in facts.signatures:
        items.append(Item(f"`{fn}()` changes its signature: is every caller updated, including "
                          "ones under arch/ and in filesystems?"))
    for ex in facts.exports:
        items.append(Item(f"New export {ex}: is the GPL/non-GPL choice deliberate?"))
    items += [i for i in ruled if i.topic is None or i.topic in topics]
    if not ruled_flags and any(f.startswith("VM_FAULT_") for f in facts.flags):
        items.append(Item("No finding on a VM_FAULT_* bit: confirm the meaning of the "
                          "VM_FAULT_* bits above is unchanged."))
    return items


def build_context(report: Report, mails: dict[str, Message | PatchMail] | None = None) -> dict:
    pms = report_mails(report, mails)
    patches = []
    report.sorted()
    for p in sorted(report.patches, key=lambda p: p.index):
        pm = pms.get(p.msgid)
        fs = [f for f in report.findings if f.patch == p.msgid]
        facts = analyse(pm) if pm else None
        changes = []
        if facts:
            changes += [f"files: {', '.join(facts.files)}"] if facts.files else []
            # the pipeline maps hunks to functions with a C parser; hunk headers are a fallback
            fns = [x.split(':')[-1] for x in p.functions] or facts.functions
            changes += [f"functions: {', '.join(f + '()' for f in fns)}"] if fns else []
            changes += [f"struct {s}: adds {', '.join(m)}" for s, m in facts.structs.items()]
            changes += [f"flags on changed lines: {', '.join(facts.flags)}"] if facts.flags else []
            changes += [f"locks on new lines: " + ", ".join(
                f"{o} ({'/'.join(sorted(k))})" for o, k in sorted(facts.locks.items()))] \
                if facts.locks else []
            changes += [f"callbacks: {', '.join('->' + c for c in facts.callbacks)}"] \
                if facts.callbacks else []
        items = [finding_item(f) for f in fs]
        if pm and facts:
            items += generated_items(pm, facts, fs)
        skipped = [s for s in report.skipped if s.patch == p.msgid]
        items += [Item(f"Not checked by reviewbot: {s.check} ({s.reason}); check it by hand.")
                  for s in skipped]
        if p.index == 0 and not items and not changes:
            continue
        patches.append({"index": p.index, "total": p.total, "msgid": p.msgid,
                        "subject": pm.subject if pm else p.subject, "changes": changes,
                        "items": items})
    known = {p["msgid"] for p in patches}
    orphans = [f for f in report.findings if f.patch not in known]
    series_items = [finding_item(f) for f in orphans]
    series_items += [Item(f"Not checked by reviewbot: {s.check} ({s.reason}); check it by hand.")
                     for s in report.skipped if not s.patch]
    return {"report": report, "patches": patches, "series_items": series_items,
            "total_items": sum(len(p["items"]) for p in patches) + len(series_items)}


_env = jinja2.Environment(loader=jinja2.PackageLoader("reviewbot", "templates"),
                          autoescape=jinja2.select_autoescape(["html.j2"]),
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

CODE_SPAN = re.compile(r"(`[^`\n]*`)")
STRONG = re.compile(r"\*\*([^*\n]+)\*\*")
HTML_CHARS = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def md_text(text: object) -> str:
    """Markdown with raw HTML from the mail made inert: `&`, `<`, `>` become entities outside
    code spans (inside them Markdown already shows them as they are); controls escaped."""
    parts = CODE_SPAN.split(escape(text))
    return "".join(p if i % 2 else re.sub(r"[&<>]", lambda m: HTML_CHARS[m.group()], p)
                   for i, p in enumerate(parts))


def md_inline_html(text: object) -> Markup:
    """The little Markdown the checklist writes (`code`, **strong**) as HTML, the rest
    escaped."""
    out = []
    for i, part in enumerate(CODE_SPAN.split(escape(text))):
        if i % 2:
            out.append(Markup("<code>{}</code>").format(part[1:-1]))
        else:
            esc = str(Markup.escape(part))
            out.append(Markup(STRONG.sub(r"<strong>\1</strong>", esc)))
    return Markup("").join(out)


_env.filters["md"] = md_text
_env.filters["md_inline"] = md_inline_html


def render_checklist(report: Report, mails: dict[str, Message | PatchMail] | None = None,
                     html: bool = False) -> str:
    """The checklist, from the mails the review read (report.messages) unless given."""
    tpl = _env.get_template("checklist.html.j2" if html else "checklist.md.j2")
    return tpl.render(**build_context(report, mails))


def format_md(report: Report, _options) -> str:
    return render_checklist(report)


def format_html(report: Report, _options) -> str:
    return render_checklist(report, html=True)
