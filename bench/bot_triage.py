"""Bot triage speed: generate N messages (mostly discussion, some patch series) into a local
public-inbox v2 inbox with one bulk import, then time the bot following it; prints messages/s
and peak RSS after the first 1,000 and after all messages.

usage: .venv/bin/python bench/bot_triage.py [N]      (default 5000; needs public-inbox)
"""
from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reviewbot.deliver.bot import Bot  # noqa: E402
from reviewbot.deliver.botconfig import BotConfig, ListPolicy  # noqa: E402

IMPORT = r"""
use strict; use PublicInbox::Config; use PublicInbox::V2Writable; use PublicInbox::MboxReader;
my $ibx = PublicInbox::Config->new->lookup_name($ARGV[0]) or die "no inbox\n";
my $w = PublicInbox::V2Writable->new($ibx); $w->{parallel} = 0; my $n = 0;
PublicInbox::MboxReader->mboxrd(\*STDIN, sub { $n++ if defined $w->add($_[0]) });
$w->done; print "imported $n\n";
"""
WORDS = ("folio page fault vma mapping lock truncate rmap anon shmem hugetlb writeback "
         "reclaim lru memcg swap pte pmd cow dax xip mkwrite").split()


def para(rnd, n=40) -> str:
    words = [rnd.choice(WORDS) for _ in range(n)]
    lines, cur = [], ""
    for w in words:
        if len(cur) + len(w) > 70:
            lines.append(cur)
            cur = ""
        cur += (" " if cur else "") + w
    return "\n".join(lines + [cur])


def generate(n: int, seed: int = 1) -> tuple[bytes, int]:
    """mboxrd bytes of n messages: about 1 in 12 is part of a patch series."""
    rnd = random.Random(seed)
    out, patches, threads, i = [], 0, [], 0
    while i < n:
        date = f"Mon, {1 + i % 28:02d} Jun 2026 {i % 24:02d}:{i % 60:02d}:00 +0000"
        who = f"dev{rnd.randrange(300)}@example.org"
        if rnd.random() < 0.02 and n - i > 9:
            total, cover = rnd.randint(2, 8), f"series{i}-0@example.org"
            for k in range(total + 1):
                mid = f"series{i}-{k}@example.org"
                hdr = f"In-Reply-To: <{cover}>\nReferences: <{cover}>\n" if k else ""
                body = para(rnd) + ("\n---\ndiff --git a/mm/x.c b/mm/x.c\n--- a/mm/x.c\n"
                                    f"+++ b/mm/x.c\n@@ -1,3 +1,4 @@\n a\n+b{k}\n c\n d\n"
                                    if k else "")
                out.append(f"From: Dev <{who}>\nTo: linux-mm@kvack.org\nDate: {date}\n"
                           f"Subject: [PATCH {k}/{total}] mm: change {i}\nMessage-ID: <{mid}>\n"
                           f"{hdr}\n{body}\n")
                threads.append((mid, f"[PATCH {k}/{total}] mm: change {i}"))
                patches += 1
            i += total + 1
            continue
        mid = f"talk{i}@example.org"
        if threads and rnd.random() < 0.9:
            parent, subj = rnd.choice(threads[-200:])
            hdr = f"In-Reply-To: <{parent}>\nReferences: <{parent}>\n"
            subj = "Re: " + subj.removeprefix("Re: ")
            body = "\n".join("> " + l for l in para(rnd, 30).split("\n")) + "\n\n" + para(rnd)
        else:
            hdr, subj, body = "", f"question about {rnd.choice(WORDS)} {i}", para(rnd, 120)
        out.append(f"From: Dev <{who}>\nTo: linux-mm@kvack.org\nDate: {date}\n"
                   f"Subject: {subj}\nMessage-ID: <{mid}>\n{hdr}\n{body}\n")
        threads.append((mid, subj))
        i += 1
    mbox = "".join("From mboxrd@z Thu Jan  1 00:00:00 1970\n" + m.replace("\nFrom ", "\n>From ")
                   + "\n" for m in out[:n])
    return mbox.encode(), patches


def rss_kb() -> tuple[int, int]:
    cur = next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
               if l.startswith("VmRSS:"))
    return cur, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory(prefix="reviewbot-bench-") as tmp:
        t = Path(tmp)
        env = dict(os.environ, PI_DIR=str(t / "pi"), PI_CONFIG=str(t / "pi/config"),
                   PI_EMERGENCY=str(t / "em"))
        (t / "pi").mkdir()
        subprocess.run(["public-inbox-init", "-V2", "-L", "basic", "linux-mm",
                        str(t / "pi/linux-mm"), "http://127.0.0.1/linux-mm/",
                        "linux-mm@kvack.org"], env=env, check=True, capture_output=True)
        mbox, patches = generate(n)
        t0 = time.perf_counter()
        p = subprocess.run(["perl", "-e", IMPORT, "linux-mm"], input=mbox, env=env,
                           capture_output=True, check=True)
        print(f"generated {n} messages ({patches} in patch series, {len(mbox) / 1e6:.1f} MB); "
              f"bulk import: {p.stdout.decode().strip()} in {time.perf_counter() - t0:.1f} s")
        cfg = BotConfig(lists=[ListPolicy("linux-mm@kvack.org", t / "pi/linux-mm")],
                        state=t / "state.sqlite", sender=("reviewbot", "bot@example.net"),
                        outdir=t / "out", hold=1e9, settle=1e9)
        bot = Bot(cfg)
        stats = {"messages": 0, "patches": 0, "skipped": 0}
        t0 = time.perf_counter()
        bot.follow("linux-mm@kvack.org", stats, limit=1000)
        t1 = time.perf_counter()
        cur1, peak1 = rss_kb()
        bot.follow("linux-mm@kvack.org", stats)
        t2 = time.perf_counter()
        cur2, peak2 = rss_kb()
        bot.close()
        total = stats["messages"]
        talk = total - stats["patches"] - stats["skipped"]
        print(f"triage: {total} messages in {t2 - t0:.2f} s = {total / (t2 - t0):.0f} messages/s "
              f"({talk} discussion, {stats['patches']} patches/covers, {stats['skipped']} skipped)")
        print(f"  first 1000: {1000 / (t1 - t0):.0f} messages/s; "
              f"remaining {total - 1000}: {(total - 1000) / (t2 - t1):.0f} messages/s")
        print(f"  RSS after 1000: {cur1 / 1024:.1f} MiB (peak {peak1 / 1024:.1f} MiB); "
              f"after {total}: {cur2 / 1024:.1f} MiB (peak {peak2 / 1024:.1f} MiB)")
        return 0 if total / (t2 - t0) >= 500 else 1


if __name__ == "__main__":
    sys.exit(main())
