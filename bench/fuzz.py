"""Mutation fuzzing of `review` (issue 13): each input is one message of the bundled threads or
../shared/threads, mutated (bytes, lines, hunk headers, MIME, CRLF, sizes), reviewed in
process with the bundled tree or in diff-only mode. Prints the counts: inputs, reviews by
exit status, refusals (status 2, one error line), crashes (any other exception), hangs.

    python bench/fuzz.py [--count N] [--seed S] [--timeout SECONDS] [--simulate-every K]

Exit status 0 only with 0 crashes, 0 hangs and every status one of review's 0, 1, 2, 3."""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "threads"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/threads")
sys.path.insert(0, str(ROOT / "tests"))


class Hang(Exception):
    pass


def seeds() -> list[bytes]:
    from support.mbox import split_mboxrd
    from reviewbot import corpus
    files = [corpus.thread_path(n) for n in corpus.list_threads()]
    if SHARED.is_dir():
        files += sorted(SHARED.glob("*.mbox"))
    out = []
    for f in files:
        out += [m for m in split_mboxrd(f.read_bytes()) if b"\ndiff --git " in m]
    return out     # the patch mails: talk is refused whole and tests little


def mutate(raw: bytes, rng: random.Random) -> bytes:
    """One to three mutations a reviewer's mail client, an archive or an attacker could make."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        lines = raw.split(b"\n")
        op = rng.randrange(14)
        i = rng.randrange(len(lines)) if lines else 0
        if op == 0 and raw:                       # flip bytes
            b = bytearray(raw)
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            raw = bytes(b)
        elif op == 1:                             # delete lines
            del lines[i:i + rng.randint(1, 5)]
            raw = b"\n".join(lines)
        elif op == 2:                             # duplicate lines
            lines[i:i] = lines[i:i + rng.randint(1, 5)]
            raw = b"\n".join(lines)
        elif op == 3:                             # cut the mail anywhere
            raw = raw[:rng.randrange(len(raw) + 1)]
        elif op == 4:                             # hunk headers that lie
            raw = re.sub(rb"@@ -(\d+),(\d+) \+(\d+),(\d+) @@",
                         lambda m: b"@@ -%d,%d +%d,%d @@" % tuple(
                             max(0, int(x) + rng.randint(-3, 3)) for x in m.groups()), raw)
        elif op == 5:                             # CRLF
            raw = raw.replace(b"\n", b"\r\n")
        elif op == 6:                             # a long line
            lines.insert(i, b"+" + bytes([rng.choice(b" (a{;")]) * rng.randint(100, 30000))
            raw = b"\n".join(lines)
        elif op == 7:                             # nest the body in MIME
            head, sep, body = raw.partition(b"\n\n")
            d = rng.choice([1, 2, 5, 40])
            for k in reversed(range(d)):
                body = (b'Content-Type: multipart/mixed; boundary="z%d"\n\n--z%d\n' % (k, k)
                        + body + b"\n--z%d--\n" % k)
            raw = head + b"\nMIME-Version: 1.0\n" + body if sep else raw
        elif op == 8:                             # subject numbering
            raw = re.sub(rb"\[PATCH([^\]]*?)(\d+)/(\d+)\]", lambda m: b"[PATCH%s%d/%d]" % (
                m.group(1), rng.choice([0, 1, 3, 99999]), rng.choice([0, 1, 2, 100000])), raw)
        elif op == 9:                             # paths: quoted, quilt suffix, escaping
            raw = re.sub(rb"([ab])/(mm|fs|include)/", lambda m: rng.choice(
                [b'"' + m.group(1) + b"/" + m.group(2) + b'/\\303\\251', m.group(0) + b"../",
                 m.group(0)]), raw, count=2)
            raw = re.sub(rb"(\+\+\+ b/\S+)", lambda m: m.group(1) + b"~fix", raw, count=1)
        elif op == 10:                            # a header line dropped or mangled
            lines[i] = rng.choice([b"Message-ID: <" + lines[i][:40] + b">", b"Subject: ",
                                   b"Content-Transfer-Encoding: base64", b"\x1b]0;x\x07"])
            raw = b"\n".join(lines)
        elif op == 11:                            # swap two lines
            j = rng.randrange(len(lines)) if lines else 0
            if lines:
                lines[i], lines[j] = lines[j], lines[i]
            raw = b"\n".join(lines)
        elif op == 12:                            # deep C
            lines.insert(i, b"+\treturn " + b"(" * 500 + b"1" + b")" * 500 + b";")
            raw = b"\n".join(lines)
        else:                                     # another seed's tail spliced in
            raw = raw[:rng.randrange(len(raw) + 1)] + raw[rng.randrange(len(raw) + 1):]
    return raw


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=100_000, help="inputs (default 100,000)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--timeout", type=float, default=30.0, help="a hang, in seconds")
    ap.add_argument("--simulate-every", type=int, default=0, metavar="K",
                    help="also run the simulator on every K-th input with a tree (0: never)")
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="fuzz-cache-")
    os.environ["REVIEWBOT_CACHE"] = cache         # fuzzed files never enter the user's memo
    from reviewbot import corpus
    from reviewbot.errors import ReviewbotError
    from reviewbot.review import ReviewRequest, review
    pool = seeds()
    counts: Counter = Counter()
    crashes: list[str] = []

    def alarm(_sig, _frame):
        raise Hang()
    signal.signal(signal.SIGALRM, alarm)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as d:
        tree = Path(d) / "tree"
        corpus.build_tree_repo(tree)
        path = Path(d) / "in.mbox"
        for i in range(args.count):
            rng = random.Random(args.seed * 1_000_003 + i)
            raw = mutate(rng.choice(pool), rng)
            with_tree = i % 2 == 0
            path.write_bytes(raw)
            req = ReviewRequest(
                mbox=str(path), tree=str(tree) if with_tree else None, no_tree=not with_tree,
                simulate=bool(with_tree and args.simulate_every
                              and i % args.simulate_every == 0))
            signal.setitimer(signal.ITIMER_REAL, args.timeout)
            try:
                status = review(req).exit_status()
                counts[f"exit {status}"] += 1
                if status not in (0, 1, 3):
                    counts["undocumented exit"] += 1
            except ReviewbotError as e:
                counts["exit 2 (refused)"] += 1
                if "\n" in str(e):
                    counts["undocumented exit"] += 1
            except Hang:
                counts["hangs"] += 1
                crashes.append(f"input {i}: hang")
            except Exception as e:        # what the CLI calls an internal error
                counts["crashes"] += 1
                where = traceback.extract_tb(e.__traceback__)[-1]
                crashes.append(f"input {i}: {type(e).__name__}: {str(e)[:80]} "
                               f"({Path(where.filename).name}:{where.lineno})")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            counts["with tree" if with_tree else "diff-only"] += 1
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1} inputs, {(i + 1) / (time.perf_counter() - t0):.1f}/s",
                      file=sys.stderr, flush=True)
    dt = time.perf_counter() - t0
    print(f"seeds: {len(pool)} messages ({'with' if SHARED.is_dir() else 'without'} "
          f"../shared/threads)")
    print(f"inputs: {args.count} in {dt:.0f} s ({args.count / dt:.1f}/s)")
    for k in ("with tree", "diff-only", "exit 0", "exit 1", "exit 3", "exit 2 (refused)"):
        print(f"{k}: {counts[k]}")
    print(f"crashes: {counts['crashes']}\nhangs: {counts['hangs']}\n"
          f"undocumented exit: {counts['undocumented exit']}")
    for c in crashes[:20]:
        print("  " + c)
    bad = counts["crashes"] + counts["hangs"] + counts["undocumented exit"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
