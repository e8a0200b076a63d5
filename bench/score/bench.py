#!/usr/bin/env python3
"""Scoring benchmark for lleval (driven by bench/score/run.sh; not a test).

1. Scoring speed against the Python reference. The gold set is XQuAD
   (xquad.en.json, 1,190 questions, read as is); the predictions are one
   predictions.csv in the form lleval's pipeline writes (custom_id
   xquad:<id>:direct:t0:s<k>, samples s0..s<S-1> of every question, S =
   ceil(--items / 1190), so 101,150 rows for the default 100,000). Both tools
   read the same two inputs:
     python3 bench/reference/squad_v1_eval.py xquad.en.json --pred-csv FILE
       (the official normalize / EM / F1 / max-over-golds applied to every row)
     lleval score --pred-csv FILE --prepared-dir prep
       (prep/ made once by `lleval prepare` before timing starts; not timed)
   EM and F1 must agree to the printed three decimals. Each command runs
   --repeat times; the table shows the fastest run (wall and CPU separately)
   and the largest peak RSS.
   A small SQuAD-JSON check (one prediction per XQuAD question, the official
   script's own input format) must agree exactly too.
2. parse + score of --rows generated result lines (results JSONL -> `lleval
   parse` -> predictions.csv -> `lleval score`), also at --rows / 10 to show
   that peak RSS does not grow with the number of lines. Beside them, the
   floor: the CPU of two process start-ups and of moving the two steps'
   input and artifact bytes through the kernel (no parsing, scoring or
   formatting), which bounds the ratio any implementation writing the same
   artifacts could reach against python; and, where --simdjson gives the
   built simdjson_fields.cpp, the CPU simdjson's on-demand parser takes just
   to pull parse's fields out of the same lines.

Wall time: monotonic clock around the child. CPU time: user + system from
os.wait4(). Peak RSS: /usr/bin/time -f %M (a child forked from this python
would report python's own RSS as its high-water mark).
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

KINDS = ["exact", "extra", "punct", "article", "case", "wrong", "empty", "unicode", "partial",
         "sentence"]


def mutate(gold, k, rnd):
    if k == "exact":
        return gold
    if k == "extra":
        return "I believe it is " + gold + ", of course"
    if k == "punct":
        return '"' + gold + '"!?'
    if k == "article":
        return "The " + gold
    if k == "case":
        return gold.upper()
    if k == "wrong":
        return rnd.choice(["Paris", "1066", "the Denver Broncos", "blue whale"])
    if k == "empty":
        return ""
    if k == "unicode":
        return "\u00ab" + gold + "\u00bb \u2013 caf\u00e9\u00a0na\u00efve"
    if k == "sentence":
        return "According to the passage, the answer is %s.\nIt is stated in the second paragraph." % gold
    return " ".join(gold.split()[: max(1, len(gold.split()) // 2)])


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run(cmd, stdout=None, wrap=False):
    """Runs cmd; returns (wall s, cpu s, peak RSS MiB, exit status).

    Wall and CPU time (user + system, os.wait4) are those of cmd itself. Peak
    RSS is right only with wrap: then cmd runs under /usr/bin/time -f %M (a
    child forked from this python reports python's own RSS as its
    high-water mark), whose own start adds about a millisecond to the times."""
    with tempfile.NamedTemporaryFile() as tf, tempfile.TemporaryFile() as errf:
        full = [TIME, "-q", "-f", "%M", "-o", tf.name] + cmd if wrap and TIME else cmd
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdout=stdout or subprocess.DEVNULL, stderr=errf)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        errf.seek(0)
        err = errf.read().decode("utf-8", "replace")
        rss = usage.ru_maxrss / 1024.0
        if wrap and TIME:
            try:
                rss = int(open(tf.name).read().split()[-1]) / 1024.0
            except (ValueError, IndexError):
                pass
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.stderr.write("command failed (%d): %s\n%s\n" % (rc, " ".join(cmd), err[-2000:]))
    return wall, usage.ru_utime + usage.ru_stime, rss, rc


def once(cmd, stdout_path=None):
    """One run under /usr/bin/time, for commands that take long enough that its
    start does not matter: (wall, cpu, peak RSS); exits when it fails."""
    out = open(stdout_path, "w") if stdout_path else None
    try:
        wall, cpu, rss, rc = run(cmd, stdout=out, wrap=True)
    finally:
        if out:
            out.close()
    if rc:
        sys.exit("benchmark command failed: %s" % " ".join(cmd))
    return wall, cpu, rss


def best_of_each(n, cmds):
    """Runs each (cmd, stdout path or None) once per round, interleaved so that
    a change in the machine's load touches all of them alike: one round under
    /usr/bin/time for the peak RSS, then n timed rounds. Returns (min wall, min
    cpu, peak RSS) per command; exits when a run fails."""
    res = [([], [], []) for _ in cmds]
    for rnd in range(n + 1):
        for (cmd, stdout_path), (walls, cpus, rsss) in zip(cmds, res):
            out = open(stdout_path, "w") if stdout_path else None
            try:
                wall, cpu, rss, rc = run(cmd, stdout=out, wrap=rnd == 0)
            finally:
                if out:
                    out.close()
            if rc:
                sys.exit("benchmark command failed: %s" % " ".join(cmd))
            if rnd == 0:
                rsss.append(rss)
            else:
                walls.append(wall)
                cpus.append(cpu)
    return [(min(w), min(c), max(r)) for w, c, r in res]


def xquad_questions(xquad):
    data = json.load(open(xquad, encoding="utf-8"))
    return [(qa["id"], [a["text"] for a in qa["answers"]])
            for art in data["data"] for para in art["paragraphs"] for qa in para["qas"]]


def csv_field(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


CSV_HEADER = ("custom_id,dataset,item_id,type,prompt_type,temperature,sample,status,finish_reason,"
              "prediction,latency_ms,prompt_tokens,completion_tokens,gen_tps,attempts,error\r\n")


def write_predictions_csv(questions, samples, path, seed=1):
    """predictions.csv as `lleval parse` writes it: every question, samples s0..s<samples-1>."""
    rnd = random.Random(seed)
    rows, n = [CSV_HEADER], 0
    for qid, golds in questions:
        for s in range(samples):
            k = KINDS[(n * 7 + s) % len(KINDS)]
            n += 1
            ok = n % 101 != 0
            pred = mutate(rnd.choice(golds), k, rnd) if ok else ""
            fin = ("length" if k == "sentence" and s % 5 == 0 else "stop") if ok else "error"
            rows.append(",".join([
                "xquad:%s:direct:t0:s%d" % (qid, s), "xquad", csv_field(qid), "open_book",
                "direct", "0", str(s), "ok" if ok else "error", fin, csv_field(pred),
                "%.1f" % (200.0 + rnd.random() * 3000.0), "344", str(1 + len(pred) // 4),
                "%.1f" % (12.0 + rnd.random() * 14.0), "1", "" if ok else "HTTP 500"]) + "\r\n")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(rows))
    return n


def write_squad_predictions(questions, path, seed=3):
    """One prediction per question (the official script's input), a few left out."""
    rnd = random.Random(seed)
    preds = {}
    for n, (qid, golds) in enumerate(questions):
        if n % 50 != 49:
            preds[qid] = mutate(rnd.choice(golds), KINDS[n % len(KINDS)], rnd)
    json.dump(preds, open(path, "w", encoding="utf-8"), ensure_ascii=False)


def write_results_jsonl(questions, rows, path, seed=2):
    """Result lines in the OpenAI batch output form lleval's scheduler writes."""
    rnd = random.Random(seed)
    prompts, temps = ["direct", "cot"], ["0", "0.3", "0.7", "1"]
    per_sample = len(questions) * len(prompts) * len(temps)
    with open(path, "w", encoding="utf-8") as f:
        buf = []
        for n in range(rows):
            s, rest = divmod(n, per_sample)
            t_i, rest = divmod(rest, len(questions) * len(prompts))
            p_i, q_i = divmod(rest, len(questions))
            qid, golds = questions[q_i]
            pred = mutate(rnd.choice(golds), KINDS[n % len(KINDS)], rnd)
            if p_i == 1:
                pred = "<think>Let me find it in the passage.</think>" + pred
            ok = n % 97 != 0
            fin = "length" if n % 13 == 0 else "stop"
            lat = 200.0 + rnd.random() * 3000.0
            tps = 12.0 + rnd.random() * 14.0
            cid = "xquad:%s:%s:t%s:s%d" % (qid, prompts[p_i], temps[t_i], s)
            rid = "batch_req_%016x" % n
            body = {"object": "chat.completion", "model": "bench",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": pred},
                                 "finish_reason": fin}],
                    "usage": {"prompt_tokens": 344, "completion_tokens": 9, "total_tokens": 353}}
            line = {"id": rid, "custom_id": cid,
                    "response": {"status_code": 200 if ok else 500, "request_id": rid,
                                 "body": body if ok else None},
                    "error": None if ok else {"code": "http", "message": "HTTP 500"},
                    "lleval": {"engine": "bench", "finish_reason": fin if ok else "error",
                               "latency_ms": lat, "prompt_tokens": 344, "completion_tokens": 9,
                               "prompt_tps": 500.0, "gen_tps": tps, "attempts": 1}}
            buf.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            if len(buf) >= 20000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


def io_cpu(reads, writes):
    """CPU seconds this process spends reading the files in reads whole and
    writing len(writes) fresh files of the given sizes, 1 MiB per system call:
    what the kernel charges for moving the artifacts' bytes, with no parsing,
    scoring or formatting at all (and no fsync or replacing of an old file,
    which lleval also pays)."""
    chunk = b"x" * (1 << 20)
    t0 = time.process_time()
    for path in reads:
        fd = os.open(path, os.O_RDONLY)
        while os.read(fd, 1 << 20):
            pass
        os.close(fd)
    for k, size in enumerate(writes):
        name = "floor_%d.tmp" % k
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        while size > 0:
            size -= os.write(fd, chunk if size >= len(chunk) else chunk[:size])
        os.close(fd)
    spent = time.process_time() - t0
    for k in range(len(writes)):
        os.remove("floor_%d.tmp" % k)
    return spent


def artifact_floor(lleval, reads, writes, repeat=5):
    """The least CPU any parse + score could take that reads and writes what
    lleval's two steps do: two process start-ups (`lleval --version`, the
    lowest of 7) and the artifacts' bytes moved through the kernel (the lowest
    of `repeat`). Returns (floor s, start-up s, I/O s)."""
    start = min(run([lleval, "--version"])[1] for _ in range(7))
    io = min(io_cpu(reads, writes) for _ in range(repeat))
    return 2 * start + io, start, io


def parse_and_score(args, lleval, questions, table):
    """--rows result lines (and a tenth of them): `lleval parse`, then `lleval score`."""
    small = max(1, args.rows // 10)
    t0 = time.monotonic()
    write_results_jsonl(questions, args.rows, "results_big.jsonl")
    with open("results_big.jsonl", "rb") as src, open("results_small.jsonl", "wb") as dst:
        for _ in range(small):
            dst.write(src.readline())
    print("generated %d result lines in %.1f s" % (args.rows, time.monotonic() - t0),
          file=sys.stderr)
    py = os.path.join(os.path.dirname(os.path.abspath(__file__)), "py_results.py")
    for rows, name in ((small, "small"), (args.rows, "big")):
        pwall, pcpu, prss = once([sys.executable, py, args.xquad, "results_%s.jsonl" % name])
        table.append(("python official functions on the result lines", "result lines", rows,
                      pwall, pcpu, prss, None, None))
        wall, cpu, rss = once([lleval, "parse", "--results-jsonl", "results_%s.jsonl" % name,
                                     "--out-csv", "parsed_%s.csv" % name, "--no-reconcile"])
        table.append(("lleval parse (results JSONL -> CSV)", "result lines", rows, wall, cpu, rss,
                      None, None))
        for boot in ("0", "1000"):
            swall, scpu, srss = once([lleval, "score", "--pred-csv", "parsed_%s.csv" % name,
                                      "--prepared-dir", "prep", "--out-dir", "out_" + name,
                                      "--bootstrap", boot])
            table.append(("lleval score --pred-csv (bootstrap %s)" % boot, "parsed rows", rows,
                          swall, scpu, srss, None, None))
            table.append(("lleval parse + score (bootstrap %s)" % boot, "result lines", rows,
                          wall + swall, cpu + scpu, max(rss, srss), pwall / (wall + swall),
                          pcpu / (cpu + scpu)))
        print("parse + score vs python, %d lines: CPU %.1fx (bootstrap 1000, the default); "
              "issue 13 target >= 50x: %s" % (rows, pcpu / (cpu + scpu),
                                              "met" if pcpu / (cpu + scpu) >= 50 else "NOT met"),
              file=sys.stderr)
        out = "out_" + name
        reads = ["results_%s.jsonl" % name, "parsed_%s.csv" % name, "prep/xquad.jsonl"]
        writes = [os.path.getsize(p) for p in ("parsed_%s.csv" % name, out + "/items.jsonl",
                                               out + "/items.csv", out + "/scores.json")]
        floor, start, io = artifact_floor(lleval, reads, writes)
        table.append(("floor: 2 start-ups + artifact bytes", "result lines", rows, None, floor,
                      None, None, pcpu / floor))
        budget = pcpu / 50
        print("floor, %d lines: start-up %.1f ms x 2, reading %.1f MB and writing %.1f MB %.1f ms: "
              "%.1f ms, so no parse + score that writes these artifacts can pass %.0fx python; "
              "50x is %.1f ms, which leaves %s per line for everything but the I/O"
              % (rows, start * 1e3, sum(os.path.getsize(p) for p in reads) / 1e6,
                 sum(writes) / 1e6, io * 1e3, floor * 1e3, pcpu / floor, budget * 1e3,
                 "%.0f ns" % ((budget - floor) / rows * 1e9) if budget > floor else "nothing"),
              file=sys.stderr)
        if args.simdjson:
            got = json.loads(subprocess.run([args.simdjson, "results_%s.jsonl" % name],
                                            check=True, capture_output=True, text=True).stdout)
            sj = got["cpu_s"]
            table.append(("simdjson on-demand: the fields alone", "result lines", rows, None, sj,
                          None, None, pcpu / sj))
            table.append(("floor + simdjson's fields", "result lines", rows, None,
                          floor + sj, None, None, pcpu / (floor + sj)))
            print("simdjson's on-demand parser takes %.1f ms of CPU only to pull parse's fields out "
                  "of %d lines (no scoring, no output): with the floor, %.1f ms, at most %.0fx "
                  "python (simdjson's %s kernel)" % (sj * 1e3, rows, (floor + sj) * 1e3, pcpu / (floor + sj),
                                    got["kernel"]),
                  file=sys.stderr)
        os.remove("results_%s.jsonl" % name)
        os.remove("parsed_%s.csv" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lleval", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--xquad", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--items", type=int, default=100000, help="predictions scored against XQuAD")
    ap.add_argument("--rows", type=int, default=1000000, help="result lines parsed and scored")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (the best is shown)")
    ap.add_argument("--simdjson", help="bench/score/simdjson_fields built (optional row)")
    args = ap.parse_args()
    xquad = os.path.abspath(args.xquad)
    args.reference = os.path.abspath(args.reference)
    lleval = os.path.abspath(args.lleval)
    os.makedirs(args.work, exist_ok=True)
    os.chdir(args.work)
    table = []
    agree = True

    # ---- setup, not timed: the prepared gold set and the predictions ----
    with open("bench.yaml", "w") as f:
        f.write("datasets:\n  - {name: xquad, format: squad, path: %s}\n"
                "paths:\n  prepared_dir: prep\n" % xquad)
    if run([lleval, "prepare", "--config", "bench.yaml"], stdout=subprocess.DEVNULL)[3]:
        sys.exit("lleval prepare failed")
    questions = xquad_questions(xquad)
    samples = max(1, math.ceil(args.items / len(questions)))
    n_pred = write_predictions_csv(questions, samples, "predictions.csv")
    print("predictions.csv: %d rows (%d questions x samples s0..s%d), %.1f MB"
          % (n_pred, len(questions), samples - 1, os.path.getsize("predictions.csv") / 1e6),
          file=sys.stderr)

    # ---- 1. many predictions: lleval vs the reference on the same files ----
    ref_cmd = [sys.executable, args.reference, xquad, "--pred-csv", "predictions.csv"]
    boots = ("0", "1000")
    cmds = [(ref_cmd, "ref_csv.json")] + [
        ([lleval, "score", "--pred-csv", "predictions.csv", "--prepared-dir", "prep", "--out-dir",
          "out_csv_b" + boot, "--bootstrap", boot], None) for boot in boots]
    results = best_of_each(args.repeat, cmds)
    ref_wall, ref_cpu, ref_rss = results[0]
    ref = json.load(open("ref_csv.json"))
    table.append(("python reference --pred-csv", "CSV rows", n_pred, ref_wall, ref_cpu, ref_rss,
                  None, None))
    for boot, (wall, cpu, rss) in zip(boots, results[1:]):
        got = json.load(open("out_csv_b%s/scores.json" % boot))["groups"][0]
        for key in ("exact_match", "f1"):
            if got["n"] != ref["total"] or "%.3f" % ref[key] != "%.3f" % got[key]["value"]:
                agree = False
                print("MISMATCH %s: reference %.3f (n %d), lleval %.3f (n %d)"
                      % (key, ref[key], ref["total"], got[key]["value"], got["n"]))
        table.append(("lleval score --pred-csv (bootstrap %s)" % boot, "CSV rows", n_pred, wall,
                      cpu, rss, ref_wall / wall, ref_cpu / cpu))

    # ---- the official input format: one prediction per question, exact agreement ----
    write_squad_predictions(questions, "squad_preds.json")
    (wall, cpu, rss), (wall2, cpu2, rss2) = best_of_each(args.repeat, [
        ([sys.executable, args.reference, xquad, "squad_preds.json"], "ref_json.json"),
        ([lleval, "score", "--pred-json", "squad_preds.json", "--dataset", "xquad",
          "--prepared-dir", "prep", "--out-dir", "out_json"], None)])
    ref_json = json.load(open("ref_json.json"))
    table.append(("python reference (official format)", "SQuAD JSON", len(questions), wall, cpu,
                  rss, None, None))
    got = json.load(open("out_json/scores.json"))
    for key in ("exact_match", "f1"):
        if "%.3f" % ref_json[key] != "%.3f" % got[key]:
            agree = False
            print("MISMATCH squad-json %s: reference %.3f lleval %.3f"
                  % (key, ref_json[key], got[key]))
    table.append(("lleval score --pred-json", "SQuAD JSON", len(questions), wall2, cpu2, rss2,
                  wall / wall2, cpu / cpu2))

    # ---- 2. parse + score of generated result lines ----
    if args.rows > 0:
        parse_and_score(args, lleval, questions, table)

    widths = [40, 12, 9, 8, 8, 13, 13, 12]
    head = ("tool", "input", "items", "wall s", "cpu s", "peak RSS MiB", "speedup wall",
            "speedup cpu")
    print("  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for name, what, n, wall, cpu, rss, sw, sc in table:
        cells = (name, what, str(n), "-" if wall is None else "%.3f" % wall, "%.3f" % cpu,
                 "-" if rss is None else "%.1f" % rss,
                 "-" if sw is None else "%.1fx" % sw, "-" if sc is None else "%.1fx" % sc)
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
    print("EM %.3f F1 %.3f over %d rows; lleval and the reference agree to 3 decimals: %s"
          % (ref["exact_match"], ref["f1"], ref["total"], "yes" if agree else "NO"))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
