"""The questions field-init's findings ask: in a reply to the author, and on a reviewer's
checklist. Built from the finding's details and sites; they ask, never rule."""
from __future__ import annotations

from reviewbot.findings import Finding


def _one(s) -> str:
    return " ".join(str(s).split())


def _path(f: Finding) -> str:
    return " -> ".join(f"{_one(n)}()" for n in f.details.get("call_path", []))


def finding_questions(f: Finding) -> list[str]:
    d = f.details
    m, struct = _one(d.get("member", "the new field")), _one(d.get("struct", ""))
    check = d.get("check", "")
    if check == "changed-site":
        if d.get("callee"):
            return [f"Should {f.function}() set {d.get('var')}.{m} before passing it to "
                    f"{d['callee']}() at line {d.get('escape_line')}?  {d.get('reader')}() "
                    f"reads it ({_path(f)})."]
        return [f"Should {f.function}() set {d.get('var')}.{m} before it reads it at line "
                f"{d.get('escape_line')}?"]
    if check == "new-read":
        site, reader = d.get("site_function"), d.get("reader")
        if d.get("site_status") == "not set before escape":
            return [f"Is {m} set where {site}() builds its struct {struct}, before it reaches "
                    f"{reader}() ({_path(f)})?"]
        if not d.get("zero_valid", True):
            return [f"Is a zero {m} valid for the struct {struct} that {site}() builds?  "
                    f"{reader}() now reads it ({_path(f)}), and every other site sets it "
                    f"from a value."]
        return [f"Does {reader}() cope with the zero {m} of the struct {struct} that "
                f"{site}() builds ({_path(f)})?"]
    qs = [f"Is {m} set in {s.function}() before the structure is passed on?"
          for s in f.sites if s.status == "not set before escape"
          and (s.file, s.function) == (f.file, f.function) and s.function]
    if not qs and struct:
        qs.append(f"Is {m} set, or known to be zero, at every other site that builds a "
                  f"struct {struct}?")
    return qs


def finding_checklist(f: Finding) -> list[str]:
    d = f.details
    m, struct = _one(d.get("member", "")), _one(d.get("struct", ""))
    check = d.get("check", "")
    if check == "changed-site":
        return [f"`{f.function}()` now builds `struct {struct} {d.get('var')}` differently: "
                f"is `.{m}` set before the object escapes (read by `{d.get('reader')}()`"
                + (f" via {_path(f)}" if d.get("callee") else "") + ")?"]
    if check == "new-read":
        return [f"`{d.get('reader')}()` newly reads `{m}`: is it set, or is zero valid, in "
                f"the `struct {struct}` that `{d.get('site_function')}()` builds "
                f"({_path(f)})?"]
    return []     # a new member's item is the rule's own (FieldInit.checklist_items)
