#!/usr/bin/env python3
"""Accuracy of `lleval plan` against what llama.cpp itself allocates.

For models llama-server loads here (synthesized by `lleval synth-model` in
several shapes and quantizations, plus ../shared/models/llama-2-tiny-random.gguf
when present), at several contexts and slot counts, this starts llama-server on
a free loopback port, reads the buffer sizes it logs while loading
("CPU_Mapped model buffer size", "llama_kv_cache: size", "CPU output buffer
size", "CPU compute buffer size"), kills it as soon as the model is loaded, and
compares them with `lleval plan --device cpu --json` for the same settings.
On the CPU these buffers are the ones that would be VRAM on a GPU.

Bounds: weights and KV cache within 1 %, the total within 5 %. Prints a table
(docs/planner.md quotes it) and exits 1 when a bound is missed, 0 otherwise;
77 with a message when llama-server is absent (the caller skips).

Usage: plan_accuracy.py --lleval PATH [--llama-server PATH] [--shared DIR] [--keep DIR]
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
MIB = 1024 * 1024

# name, synth-model options, quantization (None: as written)
SHAPES = [
    ("A-f16", ["--layers", "4", "--embd", "512", "--heads", "8", "--kv-heads", "2",
               "--vocab", "8000"], None),
    ("B-q8_0", ["--layers", "6", "--embd", "640", "--heads", "10", "--kv-heads", "2",
                "--ff", "1792", "--vocab", "12000"], "q8_0"),
    ("C-q4_k_m", ["--layers", "6", "--embd", "768", "--heads", "12", "--vocab", "4000"],
     "q4_k_m"),
    ("D-f16", ["--layers", "2", "--embd", "256", "--heads", "4", "--kv-heads", "2",
               "--ff", "768", "--vocab", "32000"], None),
]
CONTEXTS = [1024, 2048, 4096]
SLOTS = [1, 2]
# extra cases: (shape, ctx, slots, kv type, flash attention)
EXTRA = [
    ("A-f16", 4096, 1, "q8_0", "on"),
    ("A-f16", 4096, 2, "q4_0", "on"),
    ("B-q8_0", 2048, 1, "q8_0", "on"),
    ("B-q8_0", 2048, 1, "f16", "off"),
    ("C-q4_k_m", 3000, 3, "f16", "on"),
]
# the shared model is tiny (embedding 8): its KV cache reaches a few MiB only at long contexts
TINY_CASES = [(32768, 1), (65536, 2)]


def find_llama_server(explicit):
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    cache = os.environ.get("LLEVAL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lleval")
    for d in (os.environ.get("LLEVAL_LLAMA_BIN_DIR"), os.path.join(cache, "llama.cpp-nlc-3.21.1", "bin")):
        if d and os.access(os.path.join(d, "llama-server"), os.X_OK):
            return os.path.join(d, "llama-server")
    return shutil.which("llama-server")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def server_figures(server, model, ctx, slots, kv, fa, timeout=60):
    """Starts llama-server, reads its buffer sizes (MiB) from the log, kills it."""
    cmd = [server, "-m", model, "--host", "127.0.0.1", "--port", str(free_port()),
           "-c", str(ctx), "-np", str(slots), "-ctk", kv, "-ctv", kv, "-fa", fa,
           "--no-warmup", "-fit", "off", "--no-repack", "-t", "1", "-lv", "4"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace")
    lines = []
    watchdog = threading.Timer(timeout, proc.kill)  # a server that hangs without a word
    watchdog.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if "model loaded" in line or "listening on" in line or "exiting due to" in line:
                break
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
        proc.stdout.close()
    fig = {"weights": 0.0, "repack": 0.0}
    for line in lines:
        m = re.search(r"(\S+) model buffer size = +([\d.]+) MiB", line)
        if m:
            # CPU_REPACK holds repacked copies of tensors the mapped buffer already counts
            fig["repack" if "REPACK" in m.group(1) else "weights"] += float(m.group(2))
        m = re.search(r"llama_kv_cache: size = +([\d.]+) MiB", line)
        if m:
            fig["kv"] = float(m.group(1))
        m = re.search(r"output buffer size = +([\d.]+) MiB", line)
        if m:
            fig["output"] = float(m.group(1))
        m = re.search(r"compute buffer size = +([\d.]+) MiB", line)
        if m:
            fig["compute"] = fig.get("compute", 0.0) + float(m.group(1))
    if not all(k in fig for k in ("kv", "output", "compute")) or not fig["weights"]:
        tail = "".join(lines[-12:])
        raise RuntimeError("llama-server did not log its buffer sizes for %s -c %d -np %d:\n%s"
                           % (os.path.basename(model), ctx, slots, tail))
    fig["total"] = fig["weights"] + fig["kv"] + fig["output"] + fig["compute"]
    return fig


def planner_figures(lleval, model, ctx, slots, kv, fa):
    cmd = [lleval, "plan", model, "--device", "cpu", "--ctx", str(ctx), "--parallel", str(slots),
           "--kv-type", kv, "--flash-attn", fa, "--vram", "1TiB", "--json"]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode not in (0, 1):
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), out.returncode, out.stderr))
    b = json.loads(out.stdout)["bytes"]
    return {"weights": b["weights_cpu"] / MIB, "kv": b["kv_total"] / MIB,
            "output": b["output"] / MIB, "compute": b["compute_cpu"] / MIB,
            "total": b["total_cpu"] / MIB}


def rel(plan, real):
    return (plan - real) / real if real else 0.0


def make_models(lleval, work):
    models = {}
    for name, opts, quant in SHAPES:
        path = os.path.join(work, name + ".gguf")
        cmd = [lleval, "synth-model", "-q", "--out", path, "--ctx", "8192"] + opts
        if quant:
            cmd += ["--quantize", quant]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if out.returncode:
            print("# skip shape %s: %s" % (name, out.stderr.strip()))
            continue
        models[name] = path
    return models


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lleval", required=True)
    ap.add_argument("--llama-server")
    ap.add_argument("--shared", help="the shared test material directory (models/...)")
    ap.add_argument("--keep", help="make the models in this directory and keep them")
    args = ap.parse_args()

    server = find_llama_server(args.llama_server)
    if not server:
        print("skip - no llama-server ($LLEVAL_LLAMA_BIN_DIR, the provisioned cache, PATH)")
        return SKIP
    os.environ.setdefault("LLEVAL_LLAMA_BIN_DIR", os.path.dirname(server))
    work = args.keep or tempfile.mkdtemp(prefix="lleval-plan-accuracy.")
    os.makedirs(work, exist_ok=True)
    try:
        t0 = time.time()
        models = make_models(args.lleval, work)
        cases = [(n, c, s, "f16", "on") for n in models for c in CONTEXTS for s in SLOTS]
        cases += [e for e in EXTRA if e[0] in models]
        tiny = os.path.join(args.shared, "models", "llama-2-tiny-random.gguf") if args.shared else None
        if tiny and os.path.isfile(tiny):
            models["tiny-random"] = tiny
            cases += [("tiny-random", c, s, "f16", "on") for c, s in TINY_CASES]
        else:
            print("# llama-2-tiny-random.gguf not found: shared model cases skipped")
        shapes = {n for n, *_ in cases}
        print("# llama-server: %s" % server)
        print("# %d cases over %d models (MiB; plan / llama.cpp; error in %%)" % (len(cases), len(shapes)))
        header = ("model", "-c", "-np", "kv", "fa", "weights", "err", "KV cache", "err",
                  "output", "compute", "err", "total", "err", "")
        rows, failures = [], 0
        worst = {"weights": 0.0, "kv": 0.0, "compute": 0.0, "total": 0.0}
        for name, ctx, slots, kv, fa in cases:
            try:
                real = server_figures(server, models[name], ctx, slots, kv, fa)
                plan = planner_figures(args.lleval, models[name], ctx, slots, kv, fa)
            except (RuntimeError, ValueError, KeyError) as exc:
                print("FAIL: %s -c %d -np %d: %s" % (name, ctx, slots, exc))
                return 1
            err = {k: rel(plan[k], real[k]) for k in ("weights", "kv", "compute", "total")}
            for k in worst:
                if abs(err[k]) > abs(worst[k]):
                    worst[k] = err[k]
            bad = abs(err["weights"]) > 0.01 or abs(err["kv"]) > 0.01 or abs(err["total"]) > 0.05
            failures += bad
            rows.append((name, str(ctx), str(slots), kv, fa,
                         "%.2f / %.2f" % (plan["weights"], real["weights"]), "%+.2f" % (100 * err["weights"]),
                         "%.2f / %.2f" % (plan["kv"], real["kv"]), "%+.2f" % (100 * err["kv"]),
                         "%.2f / %.2f" % (plan["output"], real["output"]),
                         "%.2f / %.2f" % (plan["compute"], real["compute"]), "%+.1f" % (100 * err["compute"]),
                         "%.2f / %.2f" % (plan["total"], real["total"]), "%+.2f" % (100 * err["total"]),
                         "FAIL" if bad else "ok"))
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        for r in [header] + rows:
            print("  ".join(c.rjust(w) if i >= 1 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        print("# worst error: weights %+.2f%%, KV cache %+.2f%%, compute %+.1f%%, total %+.2f%% "
              "(bounds: 1%%, 1%%, -, 5%%); %.0f s"
              % (100 * worst["weights"], 100 * worst["kv"], 100 * worst["compute"], 100 * worst["total"],
                 time.time() - t0))
        if failures:
            print("FAIL: %d of %d cases out of bounds" % (failures, len(rows)))
            return 1
        print("ok: %d cases within bounds" % len(rows))
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
