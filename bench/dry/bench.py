#!/usr/bin/env python3
"""Dry-run cost benchmark driver (run by bench/dry/run.sh; not a test).

1. Instructions per item: `valgrind --tool=callgrind` counts the instructions
   of a whole `lleval run --dry-run` (prepare, build, submit, poll, parse,
   score, report in one process) on N and N/2 synthetic NQ-open items.
   Instruction counts barely move with the machine's load, unlike times.
   Shown: total / N, and the marginal (I(N) - I(N/2)) / (N/2), which leaves
   out the fixed start-up and report costs.
   Then each step again as its own process under callgrind (the plan of
   part 2), so the per-item cost of every step is shown on its own (each
   process also pays lleval's start-up, a few hundred thousand instructions).
2. Peak RSS per step at each size: every step as its own process under
   /usr/bin/time (prepare, build, submit + poll as `lleval run --dry-run
   --skip-prepare --skip-build --to-step poll`, parse, score, report, doctor), so each
   row is that step's own peak, not the run's; then a whole `lleval run
   --dry-run` in one process, the peak of a user running the pipeline at once.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

CONFIG = """# written by bench/dry/bench.py
model_id: dry
engine: dry
temps: [0.0]
limit_items: 0
parts_per_dataset: 1
max_concurrent_jobs: 4
paths:
  prepared_dir: prepared
  runs_dir: runs
  batches_dir: batches
datasets:
  - name: nq
    format: nq_open
    path: items.jsonl
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_workdir(base, n):
    d = os.path.join(base, "items-%d" % n)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "items.jsonl"), "w") as f:
        for i in range(n):
            f.write(json.dumps({"question": "what is the capital of country number %d" % i,
                                "answer": ["Paris", "the city of Paris"]}) + "\n")
    with open(os.path.join(d, "dry.yaml"), "w") as f:
        f.write(CONFIG)
    return d


def check(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode:
        raise SystemExit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                                                  p.stderr.decode(errors="replace")[-2000:]))
    return p


def instructions(a, n):
    d = make_workdir(a.work, n)
    out = os.path.join(d, "callgrind.out")
    check([a.valgrind, "--tool=callgrind", "--callgrind-out-file=" + out, a.lleval, "run",
           "-c", "dry.yaml", "--dry-run", "--run-id", "cg", "-q"], d)
    total = callgrind_total(out)
    if a.annotate and shutil.which("callgrind_annotate"):
        p = subprocess.run(["callgrind_annotate", "--threshold=100", out],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        top = [l for l in p.stdout.decode(errors="replace").splitlines()
               if re.match(r"\s*[0-9,]+ \(", l)][:a.annotate + 1]
        if top:
            print("top functions by own instructions, %d items (callgrind_annotate)" % n)
            for l in top:
                print("  " + l.strip()[:110])
            print()
    shutil.rmtree(d, ignore_errors=True)
    return total


def timed(a, name, cmd, cwd):
    tf = os.path.join(cwd, ".time")
    t0 = time.monotonic()
    run_step(a, name, cmd, cwd, ["/usr/bin/time", "-f", "%M", "-o", tf])
    wall = time.monotonic() - t0
    with open(tf) as f:
        kib = int(f.read().split()[-1])
    return wall, kib


def plan():
    """Every step as its own command line, in pipeline order."""
    r = os.path.join("runs", "r")
    return [
        ("prepare", ["prepare", "-c", "dry.yaml"]),
        ("build", ["build", "-c", "dry.yaml"]),
        ("submit+poll", ["run", "-c", "dry.yaml", "--dry-run", "--skip-prepare", "--skip-build",
                         "--to-step", "poll", "--run-id", "r", "-q"]),
        # parse and score write where `lleval run` does, so that report and doctor see them
        ("parse", ["parse", "--results-jsonl", os.path.join(r, "results", "results_combined.jsonl"),
                   "--out-csv", os.path.join(r, "results", "predictions.csv"),
                   "--prepared-dir", "prepared"]),
        ("score", ["score", "--pred-csv", os.path.join(r, "results", "predictions.csv"),
                   "--prepared-dir", "prepared", "--out-dir", os.path.join(r, "results")]),
        ("report", ["report", "r", "--runs-dir", "runs"]),
        ("doctor", ["doctor", "r", "--runs-dir", "runs"]),
    ]


def run_step(a, name, cmd, cwd, wrap):
    # doctor exits 1 when it has findings (a dry run has some): only > 1 fails
    p = subprocess.run(wrap + [a.lleval, *cmd], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode > 1 or (p.returncode == 1 and name != "doctor"):
        raise SystemExit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                                                  p.stderr.decode(errors="replace")[-2000:]))


def callgrind_total(out):
    total = 0
    with open(out) as f:
        for line in f:
            m = re.match(r"(?:summary|totals): (\d+)", line)
            if m:
                total = max(total, int(m.group(1)))
    return total


def step_instructions(a, n):
    """Instructions of each step as its own process on n items."""
    d = make_workdir(a.work, n)
    out = os.path.join(d, "callgrind.step")
    rows = []
    for name, cmd in plan():
        run_step(a, name, cmd, d, [a.valgrind, "--tool=callgrind", "--callgrind-out-file=" + out])
        rows.append((name, callgrind_total(out)))
        os.unlink(out)
    shutil.rmtree(d, ignore_errors=True)
    return rows


WHOLE = "whole run"


def steps(a, n):
    """Each step as its own process, then a whole `lleval run --dry-run` in one
    process (the row WHOLE: what a user running the pipeline at once peaks at)."""
    d = make_workdir(a.work, n)
    out = []
    for name, cmd in plan() + [(WHOLE, ["run", "-c", "dry.yaml", "--dry-run", "--run-id", "w",
                                        "-q"])]:
        wall, kib = timed(a, name, cmd, d)
        log("  %8d items  %-11s %8.2f s  %8.1f MiB" % (n, name, wall, kib / 1024.0))
        out.append((name, wall, kib))
    shutil.rmtree(d, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lleval", required=True)
    ap.add_argument("--valgrind", help="valgrind executable (none: the count is skipped)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--callgrind-items", type=int, default=2000)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--annotate", type=int, default=12, help="top functions shown (0: none)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",") if x]
    a.lleval = os.path.abspath(a.lleval)

    if a.valgrind:
        n = a.callgrind_items
        log("callgrind: lleval run --dry-run on %d and %d items" % (n, n // 2))
        full = instructions(a, n)
        annotate, a.annotate = a.annotate, 0
        half = instructions(a, n // 2)
        a.annotate = annotate
        print("instructions of a whole `lleval run --dry-run` (callgrind)")
        print("%8s  %15s  %15s" % ("items", "instructions", "per item"))
        print("%8d  %15d  %15.0f" % (n // 2, half, half / (n // 2)))
        print("%8d  %15d  %15.0f" % (n, full, full / n))
        marginal = (full - half) / (n - n // 2)
        print("marginal per item (I(%d) - I(%d)) / %d: %.0f" % (n, n // 2, n - n // 2, marginal))
        print("issue 13 target <= 150000 instructions per dry item: total / items %s, marginal %s"
              % ("met" if full / n <= 150000 else "NOT met",
                 "met" if marginal <= 150000 else "NOT met"))
        print()
        log("callgrind: each step on its own, %d items" % n)
        rows = step_instructions(a, n)
        print("instructions of each step as its own process, %d items (callgrind)" % n)
        print("%-12s  %15s  %10s" % ("step", "instructions", "per item"))
        for name, ins in rows:
            print("%-12s  %15d  %10.0f" % (name, ins, ins / n))
        print("%-12s  %15d  %10.0f" % ("sum", sum(r[1] for r in rows),
                                       sum(r[1] for r in rows) / n))
        print()
    else:
        print("callgrind: skipped (valgrind is missing: apt-get install valgrind)")
        print()

    rows = {}
    for n in sizes:
        log("peak RSS per step: %d items" % n)
        rows[n] = steps(a, n)
    names = [s[0] for s in rows[sizes[0]]]
    print("peak RSS per step, MiB (each step its own process, then a whole run in one; wall s "
          "in brackets)")
    print("%-11s" % "step" + "".join("  %20s" % ("%d items" % n) for n in sizes))
    worst = 0
    for i, name in enumerate(names):
        cells = []
        for n in sizes:
            _, wall, kib = rows[n][i]
            worst = max(worst, kib) if n == sizes[-1] and name != WHOLE else worst
            cells.append("  %20s" % ("%.1f (%.1f s)" % (kib / 1024.0, wall)))
        print("%-11s" % name + "".join(cells))
    if len(sizes) > 1:
        growth = ["%s %+.1f" % (name, (rows[sizes[-1]][i][2] - rows[sizes[0]][i][2]) / 1024.0)
                  for i, name in enumerate(names)]
        print("growth from %d to %d items, MiB: %s" % (sizes[0], sizes[-1], ", ".join(growth)))
    print("largest step at %d items: %.1f MiB (issue 13 target at 1,000,000: <= 128 MB%s)"
          % (sizes[-1], worst / 1024.0,
             "" if sizes[-1] != 1000000 else
             (": met" if worst * 1024 <= 128e6 else ": NOT met")))
    whole = rows[sizes[-1]][-1][2]
    print("whole run in one process at %d items: %.1f MiB (%s 128 MB)"
          % (sizes[-1], whole / 1024.0, "within" if whole * 1024 <= 128e6 else "above"))


if __name__ == "__main__":
    main()
