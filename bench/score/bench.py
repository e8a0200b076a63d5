#!/usr/bin/env python3
"""Scoring benchmark for lleval (driven by bench/score/run.sh; not a test).

1. SQuAD-JSON scoring of >= --items generated predictions against XQuAD golds
   (XQuAD's 1,190 questions repeated under new ids), side by side with the
   reference SQuAD v1.1 script (bench/reference/squad_v1_eval.py); the numbers
   must agree to every printed decimal.
2. parse + score of --rows generated result lines: results JSONL ->
   `lleval parse` -> predictions.csv -> `lleval score`, and `lleval score` on
   CSVs of several sizes to show that peak RSS does not grow with the rows.

Wall time and peak RSS are measured per child process with os.wait4().
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

KINDS = ["exact", "extra", "punct", "article", "case", "wrong", "empty", "unicode", "partial",
         "missing"]


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
    return " ".join(gold.split()[: max(1, len(gold.split()) // 2)])


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run(cmd, stdout=None):
    """Runs cmd; returns (wall s, cpu s, peak RSS MiB, exit status).

    Peak RSS comes from /usr/bin/time -f %M when present (its child starts
    small; a child forked from this python would report python's own RSS as
    its high-water mark), else from os.wait4()."""
    with tempfile.NamedTemporaryFile() as tf, tempfile.TemporaryFile() as errf:
        full = [TIME, "-q", "-f", "%M", "-o", tf.name] + cmd if TIME else cmd
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdout=stdout or subprocess.DEVNULL, stderr=errf)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        errf.seek(0)
        err = errf.read().decode("utf-8", "replace")
        rss = usage.ru_maxrss / 1024.0
        if TIME:
            try:
                rss = int(open(tf.name).read().split()[-1]) / 1024.0
            except (ValueError, IndexError):
                pass
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.stderr.write("command failed (%d): %s\n%s\n" % (rc, " ".join(cmd), err[-2000:]))
    return wall, usage.ru_utime + usage.ru_stime, rss, rc


def build_synthetic_squad(xquad, items, path):
    data = json.load(open(xquad, encoding="utf-8"))
    questions = sum(len(p["qas"]) for a in data["data"] for p in a["paragraphs"])
    copies = -(-items // questions)
    out = {"version": "synthetic", "data": []}
    for c in range(copies):
        for art in data["data"]:
            paras = []
            for para in art["paragraphs"]:
                qas = [dict(qa, id="%s_%d" % (qa["id"], c)) for qa in para["qas"]]
                paras.append({"context": para["context"], "qas": qas})
            out["data"].append({"title": "%s_%d" % (art.get("title", ""), c), "paragraphs": paras})
    json.dump(out, open(path, "w", encoding="utf-8"), ensure_ascii=False)
    return copies * questions


def squad_predictions(path_dataset, path_out, seed=1):
    rnd = random.Random(seed)
    data = json.load(open(path_dataset, encoding="utf-8"))
    preds, n = {}, 0
    for art in data["data"]:
        for para in art["paragraphs"]:
            for qa in para["qas"]:
                k = KINDS[n % len(KINDS)]
                n += 1
                if k != "missing":
                    preds[qa["id"]] = mutate(rnd.choice(qa["answers"])["text"], k, rnd)
    json.dump(preds, open(path_out, "w", encoding="utf-8"), ensure_ascii=False)


def csv_field(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def generate_rows(prep_jsonl, rows, csv_path, jsonl_path=None, seed=2):
    """predictions.csv rows (and the matching result JSONL lines) over the prepared items."""
    rnd = random.Random(seed)
    items = [json.loads(l) for l in open(prep_jsonl, encoding="utf-8")]
    prompts, temps = ["direct", "cot"], ["0", "0.3", "0.7", "1"]
    per_sample = len(items) * len(prompts) * len(temps)
    header = ("custom_id,dataset,item_id,type,prompt_type,temperature,sample,status,finish_reason,"
              "prediction,latency_ms,prompt_tokens,completion_tokens,gen_tps,attempts,error\r\n")
    fc = open(csv_path, "w", encoding="utf-8", newline="")
    fj = open(jsonl_path, "w", encoding="utf-8") if jsonl_path else None
    fc.write(header)
    buf_c, buf_j = [], []
    for n in range(rows):
        s, rest = divmod(n, per_sample)
        t_i, rest = divmod(rest, len(items) * len(prompts))
        p_i, i_i = divmod(rest, len(items))
        it = items[i_i]
        k = KINDS[n % (len(KINDS) - 1)]
        pred = mutate(rnd.choice(it["answers"]), k, rnd)
        if p_i == 1:
            pred = "<think>Let me find it in the passage.</think>" + pred
        ok = n % 97 != 0
        fin = "length" if n % 13 == 0 else "stop"
        lat = 200.0 + rnd.random() * 3000.0
        tps = 12.0 + rnd.random() * 14.0
        cid = "bench:%s:%s:t%s:s%d" % (it["id"], prompts[p_i], temps[t_i], s)
        buf_c.append(",".join([
            cid, "bench", csv_field(it["id"]), "open_book", prompts[p_i], temps[t_i], str(s),
            "ok" if ok else "error", fin if ok else "error", csv_field(pred) if ok else "",
            "%.1f" % lat, "412", "9", "%.2f" % tps, "1", "" if ok else "HTTP 500"]) + "\r\n")
        if fj is not None:
            body = {"object": "chat.completion", "model": "bench",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": pred},
                                 "finish_reason": fin}],
                    "usage": {"prompt_tokens": 412, "completion_tokens": 9, "total_tokens": 421}}
            line = {"id": "batch_req_%d" % n, "custom_id": cid,
                    "response": {"status_code": 200 if ok else 500, "body": body if ok else None},
                    "error": None if ok else {"code": "http", "message": "HTTP 500"},
                    "lleval": {"engine": "bench", "latency_ms": round(lat, 1), "prompt_tokens": 412,
                               "completion_tokens": 9, "gen_tps": round(tps, 2), "attempts": 1,
                               "finish_reason": fin if ok else "error"}}
            buf_j.append(json.dumps(line, ensure_ascii=False) + "\n")
        if len(buf_c) >= 20000:
            fc.write("".join(buf_c))
            buf_c.clear()
            if fj is not None:
                fj.write("".join(buf_j))
                buf_j.clear()
    fc.write("".join(buf_c))
    fc.close()
    if fj is not None:
        fj.write("".join(buf_j))
        fj.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lleval", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--xquad", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--items", type=int, default=100000)
    ap.add_argument("--rows", type=int, default=1000000)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    os.chdir(args.work)
    lleval = os.path.abspath(args.lleval)
    table = []

    # ---- SQuAD-JSON mode against the reference script ----
    total = build_synthetic_squad(args.xquad, args.items, "synthetic.json")
    with open("bench.yaml", "w") as f:
        f.write("datasets:\n  - {name: synth, format: squad, path: synthetic.json}\n"
                "  - {name: bench, format: squad, path: %s}\n"
                "paths:\n  prepared_dir: prep\n" % args.xquad)
    if run([lleval, "prepare", "--config", "bench.yaml"])[3]:
        sys.exit("lleval prepare failed")
    squad_predictions("synthetic.json", "synthetic_preds.json")
    with open("ref.json", "w") as out:
        ref_wall, ref_cpu, ref_rss, rc = run([sys.executable, args.reference, "synthetic.json",
                                              "synthetic_preds.json"], stdout=out)
    if rc:
        sys.exit("the reference script failed")
    ref = json.load(open("ref.json"))
    table.append(("python reference (squad_v1_eval.py)", "SQuAD JSON", total, ref_wall, ref_cpu,
                  ref_rss, None, None))
    agree = True
    for boot in ("0", "1000"):
        wall, cpu, rss, rc = run([lleval, "score", "--pred-json", "synthetic_preds.json", "--dataset",
                             "synth", "--prepared-dir", "prep", "--out-dir", "out_json",
                             "--bootstrap", boot])
        if rc:
            sys.exit("lleval score --pred-json failed")
        got = json.load(open("out_json/scores.json"))
        for key in ("exact_match", "f1"):
            if "%.3f" % ref[key] != "%.3f" % got[key]:
                agree = False
                print("MISMATCH %s: reference %.3f lleval %.3f" % (key, ref[key], got[key]))
        table.append(("lleval score --pred-json (bootstrap %s)" % boot, "SQuAD JSON", total, wall,
                      cpu, rss, ref_wall / wall, ref_cpu / cpu))

    # ---- parse + score of generated result lines ----
    sizes = sorted({max(1, args.rows // 10), args.rows})
    for rows in sizes:
        csv_path, jsonl_path = "pred_%d.csv" % rows, "results_%d.jsonl" % rows
        t0 = time.monotonic()
        generate_rows("prep/bench.jsonl", rows, csv_path, jsonl_path if rows == args.rows else None)
        print("generated %d rows in %.1f s" % (rows, time.monotonic() - t0), file=sys.stderr)
        if rows == args.rows:
            wall, cpu, rss, rc = run([lleval, "parse", "--results-jsonl", jsonl_path, "--out-csv",
                                      "parsed.csv", "--no-reconcile"])
            name = "lleval parse (results JSONL -> CSV)"
            table.append((name if rc == 0 else name + ": FAILED", "result lines", rows, wall, cpu,
                          rss, None, None))
            os.remove(jsonl_path)
        for boot in ("0", "1000"):
            wall, cpu, rss, rc = run([lleval, "score", "--pred-csv", csv_path, "--prepared-dir",
                                      "prep", "--out-dir", "out_csv", "--bootstrap", boot])
            name = "lleval score --pred-csv (bootstrap %s)" % boot
            table.append((name if rc == 0 else name + ": FAILED", "CSV rows", rows, wall, cpu, rss,
                          None, None))
        os.remove(csv_path)

    widths = [42, 12, 8, 8, 8, 13, 14, 13]
    head = ("tool", "input", "items", "wall s", "cpu s", "peak RSS MiB", "speedup wall",
            "speedup cpu")
    print("  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for name, what, n, wall, cpu, rss, sw, sc in table:
        cells = (name, what, str(n), "%.3f" % wall, "%.3f" % cpu, "%.1f" % rss,
                 "-" if sw is None else "%.1fx" % sw, "-" if sc is None else "%.1fx" % sc)
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
    print("reference and lleval agree on EM/F1 to 3 decimals: %s" % ("yes" if agree else "NO"))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
