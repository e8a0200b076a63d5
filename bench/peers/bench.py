#!/usr/bin/env python3
"""Peer benchmark driver (run by bench/peers/run.sh; not a test).

Runs three clients against one llama-server, on the same NQ-open items, the
same request bodies (prompt, max_tokens, temperature, ...) and the same
concurrency, alternated (A B C A B C ...) and repeated:

  python     pyclient.py: bare stdlib http.client, one keep-alive thread per slot
  promptfoo  `promptfoo eval`, openai provider at the server's /v1, cache off
  lleval     a whole `lleval run` (prepare, build, submit, poll, parse, score, report)

The request bodies are those of lleval's own batch files (`lleval build`);
promptfoo renders the same messages from its test vars. After every run the
server's own count of requests (its "processing task" log lines) must equal
the item count, and its token counters (prompt + cached, predicted) are kept
so the table shows that every client made the server do the same work.
Wall is time.monotonic around the process; CPU (user + system) and peak RSS
come from /usr/bin/time, i.e. wait4 of the client process and the children it
waited for (peak RSS: the largest single process). The table shows medians,
the spread of each client's runs, the load average, and the median of the
paired ratios lleval / python (the two runs of one repeat, next to each other
in time, so a load that drifts over minutes cancels out). --json writes every
run as a JSON list for a closer look.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

TIME = "/usr/bin/time"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def measured(cmd, env=None, cwd=None):
    """Runs cmd under /usr/bin/time; returns (rc, stdout, wall s, cpu s, peak RSS KiB)."""
    tf = os.path.join(os.getcwd(), ".time.%d" % time.monotonic_ns())
    full = [TIME, "-f", "%U %S %M", "-o", tf, *cmd]
    t0 = time.monotonic()
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    wall = time.monotonic() - t0
    with open(tf) as f:
        fields = f.read().split()
    os.unlink(tf)
    u, s, m = float(fields[-3]), float(fields[-2]), int(fields[-1])
    if p.returncode:
        log("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                                              p.stderr.decode(errors="replace")[-3000:]))
    return p.returncode, p.stdout.decode(errors="replace"), wall, u + s, m


class Server:
    def __init__(self, binary, model, work, slots, ctx):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log_path = os.path.join(work, "llama-server.log")
        self.log = open(self.log_path, "w")
        # threads: LLAMA_ARG_THREADS from the environment (run.sh sets it)
        cmd = [binary, "-m", model, "--host", "127.0.0.1", "--port", str(self.port),
               "-np", str(slots), "-c", str(ctx), "--metrics", "--no-webui",
               "--log-colors", "off"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("llama-server exited at start:\n%s" % self.tail())
            try:
                with OPENER.open(self.base + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("llama-server did not become healthy in 120 s:\n%s" % self.tail())

    def tail(self):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-20:])

    def tasks(self):
        """The server's own request count so far: its 'processing task' log lines."""
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return sum(1 for line in f if "processing task" in line)

    def metrics(self):
        with OPENER.open(self.base + "/metrics", timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r"llamacpp:(\w+) ([0-9.eE+-]+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def write_lleval_config(path, a, base_url):
    with open(path, "w") as f:
        f.write("""# written by bench/peers/bench.py
model_id: bench
engine: llamacpp
base_url: %s
temps: [0.0]
max_new_tokens:
  closed_book: %d
  open_book: %d
  multiple_choice: %d
limit_items: %d
parts_per_dataset: 1
max_retries: 0
request_timeout_s: 600
paths:
  prepared_dir: prepared
  runs_dir: runs
  batches_dir: batches
datasets:
  - name: nq_open
    format: nq_open
    path: %s
""" % (base_url, a.max_tokens, a.max_tokens, a.max_tokens, a.items, a.dataset))


def read_bodies(batches):
    bodies = []
    for dirpath, _, files in sorted(os.walk(batches)):
        for name in sorted(files):
            if name.endswith(".jsonl"):
                with open(os.path.join(dirpath, name)) as f:
                    bodies += [json.loads(line)["body"] for line in f if line.strip()]
    return bodies


def write_promptfoo_config(path, a, base_url, bodies):
    """Same messages and sampling settings as the bodies; cache and sharing off."""
    b0 = bodies[0]
    settings = {k: v for k, v in b0.items() if k not in ("messages", "model")}
    for b in bodies:
        if {k: v for k, v in b.items() if k not in ("messages", "model")} != settings:
            raise SystemExit("the batch bodies differ in more than their messages")
    passthrough = {k: v for k, v in settings.items()
                   if k not in ("max_tokens", "temperature", "top_p", "seed", "stop")}
    provider_cfg = {"apiBaseUrl": base_url + "/v1", "apiKey": "none"}
    for k in ("max_tokens", "temperature", "top_p", "seed", "stop"):
        if k in settings:
            provider_cfg[k] = settings[k]
    if passthrough:
        provider_cfg["passthrough"] = passthrough
    cfg = {
        "description": "bench/peers",
        # the messages array, rendered as JSON: promptfoo sends a JSON chat prompt as messages
        "prompts": ["{{ messages | dump }}"],
        "providers": [{"id": "openai:chat:" + b0.get("model", "bench"), "config": provider_cfg}],
        "tests": [{"vars": {"messages": b["messages"]}} for b in bodies],
        "sharing": False,
    }
    with open(path, "w") as f:  # JSON is YAML
        json.dump(cfg, f, indent=1)


class Bench:
    def __init__(self, a, srv):
        self.a, self.srv, self.runs, self.rows = a, srv, 0, []
        self.env = dict(os.environ, no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
        self.pf_env = dict(self.env, PROMPTFOO_DISABLE_TELEMETRY="1", PROMPTFOO_DISABLE_UPDATE="1",
                           PROMPTFOO_DISABLE_SHARING="1", PROMPTFOO_CACHE_ENABLED="false",
                           PROMPTFOO_CONFIG_DIR=os.path.join(a.work, "promptfoo-home"),
                           OPENAI_API_KEY="none", NO_COLOR="1", CI="1")

    def python(self, c):
        return measured([sys.executable, self.a.pyclient, "--url",
                         self.srv.base + "/v1/chat/completions", "--bodies", "bodies.jsonl",
                         "-c", str(c)], env=self.env)

    def promptfoo(self, c):
        out = os.path.join(self.a.work, "promptfoo-out.json")
        r = measured([self.a.promptfoo, "eval", "-c", "promptfooconfig.yaml", "--no-cache",
                      "-j", str(c), "--no-table", "--no-progress-bar", "--no-write",
                      "--no-share", "-o", out], env=self.pf_env)
        if r[0] == 0 and os.path.exists(out):
            with open(out) as f:
                stats = json.load(f).get("results", {}).get("stats", {})
            os.unlink(out)
            if stats.get("errors", 0) or stats.get("successes", self.a.items) != self.a.items:
                log("promptfoo: %r" % stats)
                return (1,) + r[1:]
        return r

    def lleval(self, c, binary=None):
        self.runs += 1
        run_id = "peers%03d" % self.runs
        r = measured([binary or self.a.lleval, "run", "-c", "lleval.yaml",
                      "--max-concurrent-jobs", str(c), "--run-id", run_id, "-q"], env=self.env)
        shutil.rmtree(os.path.join(self.a.work, "runs", run_id), ignore_errors=True)
        return r

    def lleval_ref(self, c):
        """Another lleval binary (--lleval-ref), e.g. a build before a change."""
        return self.lleval(c, self.a.lleval_ref)

    def one(self, tool, c, rep):
        t0, m0 = self.srv.tasks(), self.srv.metrics()
        load = os.getloadavg()[0]
        rc, _, wall, cpu, rss = getattr(self, tool)(c)
        t1, m1 = self.srv.tasks(), self.srv.metrics()

        def d(k):
            return int(round(m1.get(k, 0) - m0.get(k, 0)))
        row = {"tool": tool, "conc": c, "rep": rep, "rc": rc, "requests": t1 - t0, "wall": wall,
               "cpu": cpu, "rss": rss, "load": load,
               "prompt_tok": d("prompt_tokens_total") + d("prompt_tokens_cached_total"),
               "gen_tok": d("tokens_predicted_total")}
        log("  c=%d %-10s wall %7.2f s  cpu %6.2f s  rss %7.1f MiB  server requests %d  tokens %d/%d"
            "  load %.1f%s"
            % (c, tool, wall, cpu, rss / 1024.0, row["requests"], row["prompt_tok"],
               row["gen_tok"], load, "" if rc == 0 else "  FAILED (%d)" % rc))
        if rc != 0 or row["requests"] != self.a.items:
            raise SystemExit("%s at concurrency %d: status %d, the server counted %d requests, "
                             "expected %d" % (tool, c, rc, row["requests"], self.a.items))
        self.rows.append(row)


def spread_of(rows, tool, c):
    """(max - min) / median of one client's walls at concurrency c."""
    ws = [r["wall"] for r in rows if r["tool"] == tool and r["conc"] == c]
    return (max(ws) - min(ws)) / statistics.median(ws) if ws else 0.0


def table(rows, tools, concs, items):
    print("%4s  %-10s  %8s  %8s  %8s  %8s  %9s  %8s  %8s  %8s  %s" % (
        "conc", "client", "requests", "server", "wall s", "CPU s", "RSS MiB", "wall x", "CPU x",
        "RSS x", "wall s of each run"))
    med = {}
    for c in concs:
        for t in tools:
            rs = [r for r in rows if r["tool"] == t and r["conc"] == c]
            med[(t, c)] = {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "rss")}
        for t in tools:
            rs = [r for r in rows if r["tool"] == t and r["conc"] == c]
            m, ll = med[(t, c)], med[("lleval", c)]
            counts = sorted({r["requests"] for r in rs})
            print("%4d  %-10s  %8d  %8s  %8.2f  %8.2f  %9.1f  %8.3f  %8.3f  %8.2f  %s" % (
                c, t, items, "/".join(map(str, counts)), m["wall"], m["cpu"], m["rss"] / 1024.0,
                m["wall"] / ll["wall"], m["cpu"] / ll["cpu"], m["rss"] / ll["rss"],
                " ".join("%.2f" % r["wall"] for r in rs)))
        print()
    print("(x: the client's median divided by lleval's; server: requests the server counted "
          "in each run)")
    print()
    print("same work: server tokens (prompt incl. cached / generated) per client and concurrency")
    for c in concs:
        print("  c=%d  " % c + "  ".join(
            "%s %s" % (t, "/".join(sorted({"%d:%d" % (r["prompt_tok"], r["gen_tok"])
                                          for r in rows if r["tool"] == t and r["conc"] == c})))
            for t in tools))
    print()
    loads = [r["load"] for r in rows]
    print("load average (1 min) at the start of the runs: median %.1f, %.1f to %.1f"
          % (statistics.median(loads), min(loads), max(loads)))
    print()
    paired = {}
    for other in ("python", "lleval_ref"):
        if other not in tools:
            continue
        print("paired: lleval wall / %s wall of the same repeat (the two ran close in time)"
              % other)
        for c in concs:
            ratios = []
            for rep in sorted({r["rep"] for r in rows if r["conc"] == c}):
                w = {r["tool"]: r["wall"] for r in rows if r["conc"] == c and r["rep"] == rep}
                if other in w and "lleval" in w:
                    ratios.append(w["lleval"] / w[other])
            if ratios:
                m = statistics.median(ratios)
                if other == "python":
                    paired[c] = m
                print("  c=%d  median %.3f  (%s)" % (c, m, " ".join("%.3f" % x for x in ratios)))
        print()
    print("issue 13 targets")
    for c in concs:
        if ("python", c) in med:
            x = med[("lleval", c)]["wall"] / med[("python", c)]["wall"]
            spread = max(spread_of(rows, t, c) for t in ("python", "lleval"))
            print("  c=%d  lleval wall / python wall  %.3f of the medians, %.3f paired"
                  "  (target <= 1.02: %s; the runs of one client spread by up to %.0f%%%s)"
                  % (c, x, paired.get(c, x), "met" if x <= 1.02 and paired.get(c, x) <= 1.02
                     else "NOT met", spread * 100,
                     ": a 2% difference is inside this noise; more ITEMS and REPEATS or a "
                     "quieter machine decide it" if spread > 0.04 else ""))
    for c in concs:
        if ("promptfoo", c) in med:
            x = med[("promptfoo", c)]["rss"] / med[("lleval", c)]["rss"]
            print("  c=%d  promptfoo peak RSS / lleval peak RSS  %.1f  (target >= 20: %s)"
                  % (c, x, "met" if x >= 20 else "NOT met"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lleval", required=True)
    ap.add_argument("--llama-server", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--dataset", required=True, help="NQ-open JSONL")
    ap.add_argument("--pyclient", required=True)
    ap.add_argument("--lleval-ref", help="a second lleval binary, measured as client lleval_ref")
    ap.add_argument("--promptfoo", help="the promptfoo executable (none: skipped)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--concurrency", default="1,4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--json", help="write every run (a list of objects) to this file")
    a = ap.parse_args()
    if a.json:
        a.json = os.path.abspath(a.json)
    concs = [int(x) for x in a.concurrency.split(",") if x]
    if max(concs) > a.slots:
        raise SystemExit("concurrency %d is above the server's %d slots" % (max(concs), a.slots))
    tools = (["python"] + (["promptfoo"] if a.promptfoo else []) + ["lleval"]
             + (["lleval_ref"] if a.lleval_ref else []))
    os.chdir(a.work)
    t_start = time.monotonic()
    srv = Server(a.llama_server, a.model, a.work, a.slots, a.ctx)
    try:
        write_lleval_config("lleval.yaml", a, srv.base)
        for step in (["prepare"], ["build"]):
            rc, _, _, _, _ = measured([a.lleval, *step, "-c", "lleval.yaml"])
            if rc:
                raise SystemExit("lleval %s failed" % step[0])
        bodies = read_bodies("batches")
        if len(bodies) != a.items:
            raise SystemExit("lleval build made %d requests for %d items" % (len(bodies), a.items))
        with open("bodies.jsonl", "w") as f:
            for b in bodies:
                f.write(json.dumps(b, separators=(",", ":")) + "\n")
        if a.promptfoo:
            write_promptfoo_config("promptfooconfig.yaml", a, srv.base, bodies)
        b = Bench(a, srv)
        log("warm-up: one python run at concurrency %d (not counted)" % max(concs))
        b.python(max(concs))
        for c in concs:
            log("concurrency %d: %d items, %d repeats, clients alternated" % (c, a.items, a.repeats))
            for rep in range(a.repeats):
                order = tools[rep % len(tools):] + tools[:rep % len(tools)]
                for t in order:
                    b.one(t, c, rep)
    finally:
        srv.stop()
    log("done in %.0f s" % (time.monotonic() - t_start))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(b.rows, f, indent=1)
    table(b.rows, tools, concs, a.items)


if __name__ == "__main__":
    main()
