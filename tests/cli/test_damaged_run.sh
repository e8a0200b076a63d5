#!/usr/bin/env bash
# A damaged run never crashes lleval (issue 9, point 1): a finished dry run is
# copied, one artifact of it damaged in one way (missing, empty, truncated,
# garbage, a duplicated or damaged middle line, fields of the wrong type, not
# an object, a directory in its place; lock and stop files that should not be
# there), and `runs resume`, `runs list`, `doctor` and `report` run on it.
# Each must end without a crash or a sanitizer report. A command that fails
# exits 4 (doctor may exit 1: a finding) with "<file>:<line>: <what>; <what to
# do>" (the line where the file has lines and the damage is in one), and leaves
# the file as it was. A command that succeeds may only have rewritten a file
# lleval documents rewriting (docs/formats.md, "Damaged files": the derived
# results, a torn last journal line, lock and stop): a damaged manifest or
# state is never silently replaced. Under the sanitizer build (make
# check-sanitize) this is the ASan walk of every artifact.
source "$(dirname "$0")/lib.sh"
cat >eval.yaml <<'YAML'
engine: dry
model_id: dry-model
temps: [0.0]
parts_per_dataset: 2
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
YAML
expect_exit 0 "a finished run to damage" -- "$LLEVAL" run --config eval.yaml --run-id done -q
mkdir pristine && mv runs/done pristine/done

python3 - "$LLEVAL" <<'PY' >walk.txt || true
import glob, json, os, random, re, shutil, subprocess, sys
lleval = sys.argv[1]
rng = random.Random(20261207)

def retype(o):
    if isinstance(o, dict):
        return {k: retype(v) if isinstance(v, (dict, list)) else (7 if isinstance(v, str) else "x")
                for k, v in o.items()}
    if isinstance(o, list):
        return [retype(v) for v in o]
    return o

def damages(path):
    if not os.path.exists(path):  # lock and stop: present when they should not be
        return {"garbage": bytes(rng.randrange(256) for _ in range(64)), "empty": b"", "directory": "dir"}
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    out = {"missing": None, "empty": b"", "truncated": data[: len(data) // 2],
           "garbage": bytes(rng.randrange(256) for _ in range(200)), "directory": "dir"}
    if len(lines) > 3:
        mid = len(lines) // 2
        out["duplicated_line"] = b"\n".join(lines[:mid] + [lines[mid]] + lines[mid:])
        out["damaged_line"] = b"\n".join(lines[:mid] + [b'{"custom_id": 5, "x"'] + lines[mid + 1:])
    if path.endswith(".json"):
        try:
            out["wrong_types"] = json.dumps(retype(json.loads(data))).encode()
            out["not_object"] = b"[1, 2, 3]"
        except ValueError:
            pass
    return out

def apply(path, d):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)
    if d == "dir":
        os.makedirs(path)
    elif d is not None:
        open(path, "wb").write(d)

def state(path):
    if os.path.isdir(path):
        return "dir"
    return open(path, "rb").read() if os.path.exists(path) else None

LINE_DAMAGES = ("truncated", "garbage", "duplicated_line", "damaged_line")
TODO = r"; [^\n]*(restore|remove|delete|move|replace|rebuild|start a new run)"

def rewritten(rel, name):
    """The files a successful command may rewrite (documented repairs)."""
    if name == "missing" or rel in ("lock", "stop"):
        return True
    if rel in ("results/results_combined.jsonl", "results/predictions.csv", "results/scores.json",
               "results/items.csv", "results/items.jsonl"):
        return True  # derived from the journals: written again by each resume
    # a journal's torn last line (a damaged last line, no newline after it) is
    # cut, and a part with an empty journal is asked again
    return rel.startswith("results/parts/") and name in ("truncated", "garbage", "empty")

files = sorted(p for p in glob.glob("pristine/done/**", recursive=True)
               if os.path.isfile(p) and not p.endswith((".html", ".md")))
files += ["pristine/done/lock", "pristine/done/stop"]
cmds = [["runs", "resume", "x", "-q"], ["runs", "list"], ["doctor", "x"], ["report", "x"]]
n = bad = 0
for f in files:
    rel = os.path.relpath(f, "pristine/done")
    for name, d in damages(f).items():
        shutil.rmtree("runs", ignore_errors=True)
        os.makedirs("runs")
        shutil.copytree("pristine/done", "runs/x")
        target = os.path.join("runs/x", rel)
        apply(target, d)
        for c in cmds:
            before = state(target)
            p = subprocess.run([lleval] + c, capture_output=True, timeout=300)
            n += 1
            err = p.stderr.decode("utf-8", "replace")
            why = None
            after = state(target)
            failed = p.returncode != 0 and not (c[0] == "doctor" and p.returncode == 1)
            in_line = rel.endswith((".jsonl", ".yaml")) and name in LINE_DAMAGES
            if p.returncode < 0 or p.returncode >= 128:
                why = "crashed"
            elif "Sanitizer" in err or "runtime error" in err:
                why = "sanitizer report"
            elif failed and p.returncode != 4:
                why = "a damaged run directory is exit 4"
            elif failed and rel not in err:
                why = "error does not name the file"
            elif failed and in_line and not re.search(re.escape(rel) + r":[0-9]+", err):
                why = "error does not name the line"
            elif failed and not re.search(TODO, err):
                why = "error does not say what to do"
            elif after != before and (failed or not rewritten(rel, name)):
                why = "damaged file replaced" + (" although the command failed" if failed else
                                                 " silently")
            if why:
                bad += 1
                print(f"BAD {rel} ({name}) lleval {' '.join(c)}: {why}: exit {p.returncode}: {err.strip()[:400]}")
print(f"{n} commands on damaged runs, {bad} bad")
PY
cat walk.txt
if grep -q ' 0 bad$' walk.txt; then
	ok "every damaged artifact: no crash; exit 4 naming the file, the line and what to do"
else
	not_ok "damaged runs"
fi
finish
