#!/usr/bin/env python3
"""The bare Python reference client of bench/peers (not a test).

Sends every request body of a JSONL file (one OpenAI chat body per line) to
an OpenAI-compatible /v1/chat/completions with C threads, each with its own
keep-alive http.client connection, and checks every reply is HTTP 200 with a
choices[0].message. No retries, no files written, nothing but the HTTP, the
JSON of the reply, and a count. Standard library only.

  pyclient.py --url http://127.0.0.1:8080/v1/chat/completions --bodies b.jsonl -c 4

Prints {"requests", "ok", "failed", "elapsed_s"}; exits 1 when a request failed.
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--bodies", required=True)
    ap.add_argument("-c", "--concurrency", type=int, default=1)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    with open(a.bodies, "rb") as f:
        bodies = [line.rstrip(b"\n") for line in f if line.strip()]
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "failed": 0}

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=600)
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        ok = failed = 0
        while True:
            with lock:
                i = state["next"]
                state["next"] = i + 1
            if i >= len(bodies):
                break
            try:
                conn.request("POST", u.path, body=bodies[i], headers=headers)
                r = conn.getresponse()
                data = r.read()
                reply = json.loads(data)
                if r.status == 200 and "message" in reply["choices"][0]:
                    ok += 1
                else:
                    failed += 1
            except (OSError, http.client.HTTPException, ValueError, KeyError, IndexError):
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=600)
        conn.close()
        with lock:
            state["ok"] += ok
            state["failed"] += failed

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    print(json.dumps({"requests": len(bodies), "ok": state["ok"], "failed": state["failed"],
                      "elapsed_s": round(elapsed, 6)}))
    return 1 if state["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
