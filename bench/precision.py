"""Precision on corpus/precision (patches written here, see its cases.py): findings per unrelated
patch (target 0), and on the related ones the findings matching expected.json (target 100%
recall, 0 extra warnings). Diff-only, in one process; prints the time per patch too.

    .venv/bin/python bench/precision.py [-v]
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewbot.cli import build_parser  # noqa: E402
from reviewbot.engine import exit_status  # noqa: E402
from reviewbot.review import build_report  # noqa: E402

CORPUS = ROOT / "corpus" / "precision"


def review(patch: Path):
    args = build_parser().parse_args(["review", "--mbox", str(patch), "--no-tree",
                                      "--no-simulate"])
    t0 = time.perf_counter()
    report = build_report(args)
    return report, time.perf_counter() - t0


def matches(want: dict, f) -> bool:
    return (f.rule == want["rule"] and f.key == want["key"] and f.severity == want["severity"]
            and want.get("message_has", "") in f.message
            and not (want.get("message_lacks") and want["message_lacks"] in f.message))


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    expected = json.loads((CORPUS / "expected.json").read_text())
    times, unrelated, related = [], [], []
    for case in expected:
        report, dt = review(CORPUS / case["patch"])
        times.append(dt)
        found = report.findings
        skipped = {s.check for s in report.skipped}
        missing_skips = [s for s in case["skipped"] if s not in skipped]
        name = Path(case["patch"]).stem
        if case["kind"] == "unrelated":
            unrelated.append(len(found))
            print(f"unrelated {name:40s} findings {len(found)}  exit {exit_status(found)}"
                  + (f"  missing skipped: {missing_skips}" if missing_skips else ""))
        else:
            hit = [w for w in case["findings"] if any(matches(w, f) for f in found)]
            extra = [f for f in found if not any(matches(w, f) for w in case["findings"])]
            extra_w = [f for f in extra if f.severity in ("warning", "error")]
            related.append((len(case["findings"]), len(hit), len(extra_w), len(extra) - len(extra_w)))
            print(f"related   {name:40s} recall {len(hit)}/{len(case['findings'])}  "
                  f"extra warnings {len(extra_w)}  extra info {len(extra) - len(extra_w)}  "
                  f"exit {exit_status(found)}"
                  + (f"  missing skipped: {missing_skips}" if missing_skips else ""))
            if verbose:
                for w in case["findings"]:
                    if w not in hit:
                        print(f"    missed: {w}")
                for f in extra:
                    print(f"    extra: {f.severity} {f.key}: {f.message}")
        if verbose and case["kind"] == "unrelated":
            for f in found:
                print(f"    {f.severity} {f.key}: {f.message}")
    want = sum(r[0] for r in related)
    got = sum(r[1] for r in related)
    print()
    print(f"unrelated patches: {len(unrelated)}; findings per patch: "
          f"{sum(unrelated) / max(len(unrelated), 1):.2f} (total {sum(unrelated)}; target 0)")
    print(f"related patches: {len(related)}; recall {got}/{want} "
          f"({100.0 * got / max(want, 1):.0f}%; target 100%); extra warnings "
          f"{sum(r[2] for r in related)} (target 0); extra info {sum(r[3] for r in related)}")
    print(f"diff-only time per patch: median {statistics.median(times):.3f} s, max "
          f"{max(times):.3f} s over {len(times)} patches (target < 0.5 s; the machine is shared "
          f"with other jobs)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
