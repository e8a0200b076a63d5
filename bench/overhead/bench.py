#!/usr/bin/env python3
"""Scheduler overhead benchmark driver (run by bench/overhead/run.sh; not a test).

Measures lleval's request path against a bare libcurl multi client (refclient)
on the same requests, side by side in one run:

  fake   a zero-latency fake engine (fakeengine) on loopback: the client is
         the bottleneck, so this shows lleval's overhead per request
  llama  the real llama-server with a tiny model (-np 4, few tokens): what the
         overhead costs against an engine that does work
  memory lleval's peak RSS for 1k, 10k, 50k requests

lleval runs `lleval run --skip-prepare --skip-build --to-step poll` on batches
built beforehand (prepare and build are not timed). Its req/s is the poll
phase from the run's manifest.json (trial started_at .. finished_at: loading
the batch lines, sending every request, journaling every result); its CPU is
the whole process (getrusage via wait4: config, copying the batch files into
the run, probe, poll, results_combined.jsonl), so CPU per request is an upper
bound. refclient's req/s is its own transfer loop; its CPU is its whole
process. Each pair runs REPEATS times, interleaved; the table shows the best
req/s and the lowest CPU of the repeats (the least disturbed runs on a shared
machine).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request


def log(msg):
    print(msg, file=sys.stderr, flush=True)


TIME = "/usr/bin/time"


def run_measured(cmd, rss=False):
    """Runs cmd; returns (rc, stdout text, wall s, CPU s, peak RSS KiB or None).

    CPU comes from wait4 (the process and what it waited for). A child's
    ru_maxrss would include this driver's own RSS at fork (Linux carries the
    pre-exec peak over exec), so the peak RSS is taken from /usr/bin/time,
    which forks the command from a small process; None without it."""
    import tempfile
    peak = None
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        if rss and os.access(TIME, os.X_OK):
            cmd = [TIME, "-f", "%M", "-o", rss_file.name, *cmd]
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = rc = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        if rc != 0:
            log("command failed (%d): %s\n%s" % (rc, " ".join(cmd),
                                                  err.read().decode(errors="replace")[-2000:]))
        elif cmd[0] == TIME:
            lines = rss_file.read().split()
            peak = int(lines[-1]) if lines and lines[-1].isdigit() else None
    return rc, text, wall, ru.ru_utime + ru.ru_stime, peak


# loopback only: never through a proxy from the environment
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_json(url, data=None):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with OPENER.open(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def wait_port_file(path, proc, what):
    for _ in range(200):
        if os.path.exists(path):
            with open(path) as f:
                port = int(f.read().strip())
            os.unlink(path)
            return port
        if proc.poll() is not None:
            raise SystemExit("%s exited at start (status %d)" % (what, proc.returncode))
        time.sleep(0.02)
    raise SystemExit("%s did not report its port" % what)


class Fake:
    def __init__(self, binary, work, record=None, delay_ms=0):
        port_file = os.path.join(work, "fake.port.%d" % time.monotonic_ns())
        cmd = [binary, "--port-file", port_file, "--delay-ms", str(delay_ms)]
        if record:
            cmd += ["--record", record]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
        self.port = wait_port_file(port_file, self.proc, "fakeengine")
        self.base = "http://127.0.0.1:%d" % self.port

    def reset(self):
        http_json(self.base + "/stats/reset", b"")

    def stats(self):
        return http_json(self.base + "/stats")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class LlamaServer:
    def __init__(self, binary, model, work, slots, threads):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log_path = os.path.join(work, "llama-server.log")
        self.log = open(self.log_path, "w")
        cmd = [binary, "-m", model, "--host", "127.0.0.1", "--port", str(self.port),
               "-np", str(slots), "-c", str(512 * slots), "-t", str(threads), "--no-webui"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("llama-server exited at start:\n%s" % self.log_tail())
            try:
                with OPENER.open(self.base + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("llama-server did not become healthy in 120 s:\n%s" % self.log_tail())

    def log_tail(self):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-20:])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = a.work
        self.cfg = os.path.join(self.work, "bench.yaml")
        self.runs = 0
        self.rows = []
        self.mem_rows = []

    # ---- setup ------------------------------------------------------------
    def write_inputs(self, items):
        with open(os.path.join(self.work, "questions.jsonl"), "w") as f:
            for i in range(items):
                f.write(json.dumps({"id": "q%06d" % i,
                                    "question": "What is the capital of country number %d?" % i,
                                    "answers": ["Paris"]}) + "\n")
        with open(self.cfg, "w") as f:
            f.write("""# written by bench/overhead/bench.py
model_id: fake
engine: openai
base_url: http://127.0.0.1:9/v1
max_new_tokens: %d
max_retries: 0
request_timeout_s: 120
paths:
  prepared_dir: prepared
  runs_dir: runs
  batches_dir: batches
datasets:
  - name: q
    format: jsonl
    path: questions.jsonl
    type: closed_book
""" % self.a.max_tokens)

    def lleval(self, *args):
        return [self.a.lleval, *args, "-c", self.cfg]

    def check(self, cmd):
        rc, out, _, _, _ = run_measured(cmd)
        if rc:
            raise SystemExit("setup failed: %s" % " ".join(cmd))
        return out

    def build_batches(self, n):
        d = "batches-%d" % n
        self.check(self.lleval("build", "--limit-items", str(n), "--set", "paths.batches_dir=" + d))
        return d

    # ---- one measured run of each tool -------------------------------------
    def run_lleval(self, engine, base_url, batches, conc, expect, rss=False):
        self.runs += 1
        run_id = "bench%04d" % self.runs
        cmd = self.lleval("run", "--engine", engine, "--base-url", base_url,
                          "--set", "paths.batches_dir=" + batches, "--skip-prepare",
                          "--skip-build", "--to-step", "poll", "--max-concurrent-jobs",
                          str(conc), "--run-id", run_id, "-q")
        rc, _, wall, cpu, peak = run_measured(cmd, rss)
        run_dir = os.path.join(self.work, "runs", run_id)
        with open(os.path.join(run_dir, "manifest.json")) as f:
            m = json.load(f)
        t = m["trials"][0]
        answered, errors = t["requests"]["answered"], t["requests"]["errors"]
        # the send window, like refclient's: first request sent .. last answer
        first, last = None, None
        parts = os.path.join(run_dir, "results", "parts")
        for dirpath, _, files in os.walk(parts):
            for name in files:
                with open(os.path.join(dirpath, name)) as f:
                    for line in f:
                        facts = json.loads(line)["lleval"]
                        start = facts["finished_at"] - facts["latency_ms"] / 1000.0
                        first = start if first is None else min(first, start)
                        last = facts["finished_at"] if last is None else max(last, facts["finished_at"])
        shutil.rmtree(run_dir, ignore_errors=True)
        if rc or answered != expect or errors:
            raise SystemExit("lleval run failed: rc %d, %d of %d answered, %d errors"
                             % (rc, answered, expect, errors))
        return {"rps": expect / t["elapsed_s"], "send_rps": expect / (last - first),
                "cpu": cpu, "wall": wall, "rss": peak}

    def run_ref(self, url, bodies, conc, n):
        cmd = [self.a.refclient, "--url", url, "--bodies", bodies, "-n", str(n), "-c", str(conc)]
        rc, out, wall, cpu, rss = run_measured(cmd)
        r = json.loads(out.strip().splitlines()[-1])
        if rc or r["ok"] != n:
            raise SystemExit("refclient failed: %s" % out)
        return {"rps": r["rps"], "send_rps": r["rps"], "cpu": cpu, "wall": wall, "rss": rss}

    def run_xargs(self, url, bodies, conc, n):
        """One curl process per request: a second, much heavier reference."""
        body_dir = os.path.join(self.work, "xargs-bodies")
        os.makedirs(body_dir, exist_ok=True)
        with open(bodies) as f:
            lines = [l for l in f.read().splitlines() if l]
        names = []
        for i in range(n):
            p = os.path.join(body_dir, "%d.json" % i)
            if not os.path.exists(p):
                with open(p, "w") as g:
                    g.write(lines[i % len(lines)])
            names.append(p)
        script = ('exec curl -sS -o /dev/null --fail -H "Content-Type: application/json" '
                  '-H "Expect:" --data-binary @"$1" ' + url)
        cmd = ["xargs", "-P", str(conc), "-n", "1", "sh", "-c", script, "sh"]
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        p.stdin.write(("\n".join(names) + "\n").encode())
        p.stdin.close()
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        if os.waitstatus_to_exitcode(status):
            raise SystemExit("xargs curl failed: %s" % err.decode(errors="replace")[-500:])
        return {"rps": n / wall, "send_rps": n / wall, "cpu": ru.ru_utime + ru.ru_stime,
                "wall": wall, "rss": None}

    # ---- scenarios ---------------------------------------------------------
    def add(self, scenario, conc, tool, n, best, ref_rps, conns):
        self.rows.append({"scenario": scenario, "conc": conc, "tool": tool, "n": n,
                          "rps": best["rps"], "send_rps": best["send_rps"],
                          "cpu_per_1k": best["cpu"] / n * 1000.0,
                          "ratio": best["rps"] / ref_rps if ref_rps else None, "conns": conns})

    @staticmethod
    def best(results):
        return {"rps": max(r["rps"] for r in results),
                "send_rps": max(r["send_rps"] for r in results),
                "cpu": min(r["cpu"] for r in results)}

    def pair(self, scenario, conc, n, ref_fn, lleval_fn, stats_fn=None):
        refs, lls, conns = [], [], {"refclient": 0, "lleval": 0}
        for rep in range(self.a.repeats):
            # alternate who goes first, so drift on a shared machine hits both
            order = [("refclient", ref_fn, refs), ("lleval", lleval_fn, lls)]
            if rep % 2:
                order.reverse()
            for tool, fn, out in order:
                if stats_fn:
                    stats_fn(None)
                out.append(fn())
                if stats_fn:
                    conns[tool] = max(conns[tool], stats_fn(n))
        ref_best, ll_best = self.best(refs), self.best(lls)
        self.add(scenario, conc, "refclient", n, ref_best, ref_best["rps"], conns["refclient"])
        self.add(scenario, conc, "lleval", n, ll_best, ref_best["rps"], conns["lleval"])
        log("  %-6s c=%-3d refclient %9.0f req/s   lleval %9.0f req/s   ratio %.3f"
            % (scenario, conc, ref_best["rps"], ll_best["rps"], ll_best["rps"] / ref_best["rps"]))
        return ref_best

    @staticmethod
    def fake_stats(fake):
        """pair()'s stats_fn: None resets the counters; n checks that the fake
        got n chat requests and returns the most connections open at once."""
        def stats(expect):
            if expect is None:
                fake.reset()
                return 0
            s = fake.stats()
            if s["chat"] != expect:
                raise SystemExit("fakeengine counted %d chat requests, expected %d"
                                 % (s["chat"], expect))
            return s["max_conns"]
        return stats

    def fake_scenario(self, bodies, batches):
        a = self.a
        fake = Fake(a.fakeengine, self.work)
        url = fake.base + "/v1/chat/completions"
        stats = self.fake_stats(fake)
        try:
            for c in a.concurrency:
                ref_best = self.pair(
                    "fake", c, a.requests,
                    lambda c=c: self.run_ref(url, bodies, c, a.requests),
                    lambda c=c: self.run_lleval("openai", fake.base + "/v1", batches, c,
                                                a.requests),
                    stats)
                if a.xargs and c == a.xargs_conc:
                    n = a.xargs_requests
                    fake.reset()
                    r = self.run_xargs(url, bodies, c, n)
                    self.add("fake", c, "xargs curl", n, r, ref_best["rps"],
                             fake.stats()["max_conns"])
            # peak RSS against request count (c=16: the memory does not depend on it)
            for n in a.mem_sizes:
                d = self.build_batches(n)
                r = self.run_lleval("openai", fake.base + "/v1", d, 16, n, rss=True)
                shutil.rmtree(os.path.join(self.work, d), ignore_errors=True)
                if r["rss"] is None:
                    log("  memory: %s is missing: peak RSS not measured" % TIME)
                    break
                self.mem_rows.append({"n": n, "rss": r["rss"]})
                log("  memory %6d requests: peak RSS %.1f MiB" % (n, r["rss"] / 1024.0))
        finally:
            fake.stop()

    def delay_scenario(self, bodies):
        """A fake with a fixed latency and unlimited slots: the best possible
        rate is conc x 1000/delay, so this shows how well each client keeps
        its slots busy, free of any engine's noise."""
        a = self.a
        fake = Fake(a.fakeengine, self.work, delay_ms=a.delay_ms)
        url = fake.base + "/v1/chat/completions"
        scenario = "delay%d" % a.delay_ms
        try:
            for c in a.concurrency:
                n = max(100, c * a.delay_rounds)
                d = self.build_batches(n)
                self.pair(scenario, c, n,
                          lambda c=c, n=n: self.run_ref(url, bodies, c, n),
                          lambda c=c, n=n, d=d: self.run_lleval("openai", fake.base + "/v1", d, c, n),
                          self.fake_stats(fake))
                shutil.rmtree(os.path.join(self.work, d), ignore_errors=True)
        finally:
            fake.stop()

    def llama_scenario(self, bodies):
        a = self.a
        n = a.llama_requests
        d = self.build_batches(n)
        srv = LlamaServer(a.llama_server, a.model, self.work, 4, a.llama_threads)
        try:
            url = srv.base + "/v1/chat/completions"
            for c in (1, 4):
                self.pair("llama", c, n,
                          lambda c=c: self.run_ref(url, bodies, c, n),
                          lambda c=c: self.run_lleval("llamacpp", srv.base, d, c, n))
        finally:
            srv.stop()

    # ---- output ------------------------------------------------------------
    def print_tables(self, micro):
        hdr = ["scenario", "conc", "tool", "requests", "req/s", "CPU s/1k req", "vs ref",
               "send req/s", "max conns"]

        def rate(x):
            return "%.0f" % x if x >= 100 else "%.1f" % x

        rows = []
        for r in self.rows:
            rows.append([r["scenario"], str(r["conc"]), r["tool"], str(r["n"]), rate(r["rps"]),
                         "%.3f" % r["cpu_per_1k"],
                         "%.3f" % r["ratio"] if r["ratio"] is not None else "-",
                         rate(r["send_rps"]), str(r["conns"]) if r["conns"] else "-"])
        right = {1, 3, 4, 5, 6, 7, 8}
        widths = [max(len(x[i]) for x in rows + [hdr]) for i in range(len(hdr))]

        def fmt(cells):
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        print(fmt(hdr))
        print(fmt(["-" * w for w in widths]))
        last = None
        for r, cells in zip(self.rows, rows):
            key = (r["scenario"], r["conc"])
            if last and key[0] != last[0]:
                print()
            last = key
            print(fmt(cells))
        if self.mem_rows:
            print()
            print("lleval peak RSS (fake engine, concurrency 16)")
            print("%9s  %13s  %17s" % ("requests", "peak RSS MiB", "KiB per request"))
            base = self.mem_rows[0]
            for m in self.mem_rows:
                per = ((m["rss"] - base["rss"]) / (m["n"] - base["n"])) if m is not base else 0
                print("%9d  %13.1f  %17s" % (m["n"], m["rss"] / 1024.0,
                                             "%.2f" % per if m is not base else "-"))
        if micro:
            print()
            print("lleval JSON work per request, in isolation (microcost, microseconds)")
            keys = ["load", "request", "reply", "result", "journal", "total"]
            print("  ".join("%9s" % k for k in keys))
            print("  ".join("%9.2f" % micro[k + "_us"] for k in keys))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lleval", required=True)
    ap.add_argument("--fakeengine", required=True)
    ap.add_argument("--refclient", required=True)
    ap.add_argument("--microcost")
    ap.add_argument("--llama-server")
    ap.add_argument("--model")
    ap.add_argument("--work", required=True)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", default="1,4,16,64")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mem-sizes", default="1000,10000,50000")
    ap.add_argument("--llama-requests", type=int, default=400)
    ap.add_argument("--llama-threads", type=int, default=1)
    ap.add_argument("--max-tokens", type=int, default=8)
    ap.add_argument("--delay-ms", type=int, default=10, help="fixed-latency scenario (0: skip)")
    ap.add_argument("--delay-rounds", type=int, default=150,
                    help="requests per slot in the fixed-latency scenario")
    ap.add_argument("--xargs", type=int, default=1, help="also run xargs -P N curl (0: no)")
    ap.add_argument("--xargs-conc", type=int, default=4)
    ap.add_argument("--xargs-requests", type=int, default=1000)
    a = ap.parse_args()
    a.concurrency = [int(x) for x in a.concurrency.split(",") if x]
    a.mem_sizes = [int(x) for x in a.mem_sizes.split(",") if x]
    if a.xargs and not shutil.which("curl"):
        a.xargs = 0

    os.chdir(a.work)
    b = Bench(a)
    t_start = time.monotonic()
    items = max([a.requests, a.llama_requests] + a.mem_sizes)
    log("setup: %d questions, prepare, build %d requests" % (items, a.requests))
    b.write_inputs(items)
    b.check(b.lleval("prepare"))
    batches = b.build_batches(a.requests)

    # the reference client sends exactly the bodies lleval sends: record them
    bodies = os.path.join(a.work, "bodies.jsonl")
    rec = Fake(a.fakeengine, a.work, record=bodies)
    try:
        b.run_lleval("openai", rec.base + "/v1", batches, 16, a.requests)  # also a warm-up
    finally:
        rec.stop()

    micro = None
    if a.microcost:
        part = os.path.join(a.work, batches, "q", "t0", "part-001.jsonl")
        rc, out, _, _, _ = run_measured([a.microcost, part, "20000"])
        if rc == 0:
            micro = json.loads(out)

    log("fake engine: %d requests per run, %d repeats" % (a.requests, a.repeats))
    b.fake_scenario(bodies, batches)
    if a.delay_ms > 0:
        log("fixed-latency fake engine: %d ms per request, %d requests per slot"
            % (a.delay_ms, a.delay_rounds))
        b.delay_scenario(bodies)
    if a.llama_requests <= 0:
        log("LLAMA_REQUESTS=0: the llama scenario is skipped")
    elif a.llama_server and a.model and os.access(a.llama_server, os.X_OK) and os.path.exists(a.model):
        log("llama-server: %d requests per run, %d repeats" % (a.llama_requests, a.repeats))
        b.llama_scenario(bodies)
    else:
        log("llama-server or the model is missing: the llama scenario is skipped")
    log("done in %.0f s" % (time.monotonic() - t_start))
    b.print_tables(micro)


if __name__ == "__main__":
    main()
