#!/usr/bin/env python3
"""A fake of OpenAI's Files and Batch APIs for lleval's tests (standard library only).

Endpoints, with the reference's objects field by field:
  POST /v1/files              multipart/form-data: purpose=batch, file -> file object
                              {id, object: "file", bytes, created_at, filename, purpose, status}
  GET  /v1/files[?purpose=]   {object: "list", data: [file...], has_more: false}
  GET  /v1/files/{id}         file object
  GET  /v1/files/{id}/content the file's bytes (JSONL)
  POST /v1/batches            {input_file_id, endpoint, completion_window, metadata} -> batch
  GET  /v1/batches[?limit=&after=]  {object: "list", data, first_id, last_id, has_more}
  GET  /v1/batches/{id}       batch object: id, object "batch", endpoint, errors, input_file_id,
                              completion_window, status (validating, failed, in_progress,
                              finalizing, completed, expired, cancelling, cancelled),
                              output_file_id, error_file_id, created_at, in_progress_at,
                              expires_at, finalizing_at, completed_at, failed_at, expired_at,
                              cancelling_at, cancelled_at, request_counts {total, completed,
                              failed}, metadata
  POST /v1/batches/{id}/cancel  batch object (cancelling, then cancelled)

A batch works on its own: it validates, then answers one request every --ms-per-request
(each answer a chat.completion: "echo: " and the first words of the prompt, or an --answers
entry), then finalizes and writes its output file (responses with status_code 200) and, when
some requests failed, its error file. Output lines are {id, custom_id, response: {status_code,
request_id, body}, error}.

Faults (command line):
  --rate-limit-creates N   the first N POST /v1/batches answer 429
  --expire-first           the first batch expires once half its requests are done: its output
                           file holds that half, its error file the rest (code batch_expired)
  --error-every N          requests whose custom_id hashes to 0 mod N fail (HTTP 400 in the
                           error file): the same requests in every run
  --shuffle                output lines in a random order
  --duplicate-every N      every Nth output line is written twice
  --unknown-lines N        N output lines with custom_ids the input never had
  --drop-downloads N       the first N file downloads stop halfway (Content-Length says more)
  --slow-download-ms MS    a download sends half its body, waits MS, then the rest
  --create-delay-ms MS     a create is recorded, then answered after MS (a kill lands between)
  --upload-delay-ms MS     an upload is stored, then answered after MS
  --max-file-requests N    a batch whose input has more lines fails validation
  --max-file-bytes N       an upload larger than this is refused (HTTP 400)
  --require-key KEY        401 without "Authorization: Bearer KEY"
Every event is appended to --log (one line each: "upload NAME ID", "create-received INPUT",
"create BATCH INPUT", "status BATCH STATUS", "download-start ID", "download ID", "cancel BATCH")
so tests wait on conditions. GET /__stats returns counters. The first stdout line is "PORT <n>".
"""

import argparse
import email.parser
import email.policy
import hashlib
import json
import random
import threading
import time
import urllib.parse

from fakebase import FakeHandler, serve


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def stable_hash(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.files = {}  # id -> {"meta": file object, "data": bytes}
        self.batches = {}  # id -> dict
        self.order = []  # batch ids, oldest first
        self.seq = 0
        self.creates = 0
        self.rate_limited = 0
        self.downloads = 0
        self.dropped = 0
        self.expired_one = False
        self.rng = random.Random(7)
        self.answers = []
        if args.answers:
            with open(args.answers, encoding="utf-8") as f:
                self.answers = list(json.load(f).items())

    def new_id(self, prefix):
        self.seq += 1
        return "%s-%06d%s" % (prefix, self.seq, hashlib.sha1(str(time.time()).encode()).hexdigest()[:6])

    def log(self, line):
        if self.args.log:
            with open(self.args.log, "a", encoding="utf-8") as f:
                f.write(line + "\n")


class Handler(FakeHandler):
    protocol_version = "HTTP/1.1"
    name = "fake_openai_batch"
    compact = staticmethod(compact)

    def send_error_json(self, status, message, etype="invalid_request_error", code=None):
        self.send_json(status, {"error": {"message": message, "type": etype, "param": None,
                                          "code": code}})

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        raw = self.read_body() if method == "POST" else b""
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path.rstrip("/")
        if path == "/__stats":
            return self.stats()
        key = self.state.args.require_key
        if key and self.headers.get("Authorization") != "Bearer " + key:
            return self.send_error_json(401, "Incorrect API key provided", code="invalid_api_key")
        parts = path.split("/")[1:]  # ["v1", "files", ...]
        if len(parts) < 2 or parts[0] != "v1":
            return self.send_error_json(404, "no such route %s" % path)
        if parts[1] == "files":
            if method == "POST" and len(parts) == 2:
                return self.upload(raw)
            if method == "GET" and len(parts) == 2:
                return self.list_files(query)
            if method == "GET" and len(parts) == 3:
                return self.file_meta(parts[2])
            if method == "GET" and len(parts) == 4 and parts[3] == "content":
                return self.file_content(parts[2])
        if parts[1] == "batches":
            if method == "POST" and len(parts) == 2:
                return self.create(raw)
            if method == "GET" and len(parts) == 2:
                return self.list_batches(query)
            if method == "GET" and len(parts) == 3:
                return self.get_batch(parts[2])
            if method == "POST" and len(parts) == 4 and parts[3] == "cancel":
                return self.cancel(parts[2])
        return self.send_error_json(404, "no such route %s %s" % (method, path))

    # ---- files ----------------------------------------------------------

    def upload(self, raw):
        st = self.state
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            return self.send_error_json(400, "expected multipart/form-data")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        fields, data, filename = {}, None, None
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename() is not None:
                data, filename = part.get_payload(decode=True), part.get_filename()
            else:
                fields[name] = part.get_payload(decode=True).decode()
        if fields.get("purpose") != "batch":
            return self.send_error_json(400, "purpose must be 'batch'")
        if data is None:
            return self.send_error_json(400, "no file part")
        if st.args.max_file_bytes and len(data) > st.args.max_file_bytes:
            return self.send_error_json(400, "file is larger than %d bytes" % st.args.max_file_bytes)
        with st.lock:
            fid = st.new_id("file")
            meta = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                    "filename": filename, "purpose": "batch", "status": "processed",
                    "status_details": None}
            st.files[fid] = {"meta": meta, "data": data}
            st.log("upload %s %s" % (filename, fid))
        if st.args.upload_delay_ms:
            time.sleep(st.args.upload_delay_ms / 1000.0)
        self.send_json(200, meta)

    def list_files(self, query):
        st = self.state
        with st.lock:
            data = [f["meta"] for f in st.files.values()
                    if not query.get("purpose") or f["meta"]["purpose"] == query["purpose"]]
        self.send_json(200, {"object": "list", "data": data, "has_more": False})

    def file_meta(self, fid):
        f = self.state.files.get(fid)
        if not f:
            return self.send_error_json(404, "No such File object: %s" % fid)
        self.send_json(200, f["meta"])

    def file_content(self, fid):
        st = self.state
        f = st.files.get(fid)
        if not f:
            return self.send_error_json(404, "No such File object: %s" % fid)
        data = f["data"]
        with st.lock:
            st.downloads += 1
            drop = st.dropped < st.args.drop_downloads
            if drop:
                st.dropped += 1
            st.log("download-start %s" % fid)
        self.send_response(200)
        self.send_header("Content-Type", "application/jsonl")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        half = len(data) // 2
        self.wfile.write(data[:half])
        self.wfile.flush()
        if drop:  # the connection drops mid-body
            self.close_connection = True
            return
        if st.args.slow_download_ms:
            time.sleep(st.args.slow_download_ms / 1000.0)
        self.wfile.write(data[half:])
        st.log("download %s" % fid)

    # ---- batches --------------------------------------------------------

    def create(self, raw):
        st = self.state
        try:
            req = json.loads(raw)
        except ValueError:
            return self.send_error_json(400, "body is not JSON")
        with st.lock:
            st.creates += 1
            if st.rate_limited < st.args.rate_limit_creates:
                st.rate_limited += 1
                st.log("create-429 %s" % req.get("input_file_id"))
                return self.send_error_json(429, "Rate limit reached for batches",
                                            etype="rate_limit_error", code="rate_limit_exceeded")
        fid = req.get("input_file_id")
        if fid not in st.files:
            return self.send_error_json(400, "Invalid 'input_file_id': '%s'" % fid)
        if req.get("endpoint") != "/v1/chat/completions":
            return self.send_error_json(400, "unsupported endpoint %r" % req.get("endpoint"))
        if req.get("completion_window") != "24h":
            return self.send_error_json(400, "completion_window must be '24h'")
        lines = [l for l in st.files[fid]["data"].decode().split("\n") if l.strip()]
        now = time.time()
        with st.lock:
            bid = st.new_id("batch")
            b = {"id": bid, "object": "batch", "endpoint": req["endpoint"], "errors": None,
                 "input_file_id": fid, "completion_window": "24h", "status": "validating",
                 "output_file_id": None, "error_file_id": None, "created_at": int(now),
                 "in_progress_at": None, "expires_at": int(now) + 86400, "finalizing_at": None,
                 "completed_at": None, "failed_at": None, "expired_at": None,
                 "cancelling_at": None, "cancelled_at": None,
                 "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                 "metadata": req.get("metadata")}
            b["_lines"] = lines
            b["_t0"] = now
            b["_expire"] = st.args.expire_first and not st.expired_one
            if b["_expire"]:
                st.expired_one = True
            if st.args.max_file_requests and len(lines) > st.args.max_file_requests:
                b["_invalid"] = "The batch input file has %d requests; the limit is %d" % (
                    len(lines), st.args.max_file_requests)
            st.batches[bid] = b
            st.order.append(bid)
            st.log("create-received %s" % fid)
        if st.args.create_delay_ms:
            time.sleep(st.args.create_delay_ms / 1000.0)
        st.log("create %s %s" % (bid, fid))
        self.send_json(200, self.public(b))

    def public(self, b):
        self.advance(b)
        return {k: v for k, v in b.items() if not k.startswith("_")}

    def answer_for(self, prompt):
        for key, answer in self.state.answers:
            if key in prompt:
                return answer
        return "echo: " + " ".join(prompt.split()[:6])

    def result(self, b, line):
        st = self.state
        req = json.loads(line)
        cid = req["custom_id"]
        rid = "req_%08x" % stable_hash(cid + b["id"])
        if st.args.error_every and stable_hash(cid) % st.args.error_every == 0:
            body = {"error": {"message": "Invalid request: the fake refuses %s" % cid,
                              "type": "invalid_request_error", "param": None, "code": None}}
            return False, {"id": "batch_req_" + rid, "custom_id": cid,
                           "response": {"status_code": 400, "request_id": rid, "body": body},
                           "error": None}
        msgs = req["body"].get("messages", [])
        prompt = " ".join(m.get("content", "") for m in msgs if m.get("role") == "user")
        text = self.answer_for(prompt)
        toks = len(text.split())
        body = {"id": "chatcmpl-" + rid, "object": "chat.completion", "created": int(b["_t0"]),
                "model": req["body"].get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": toks,
                          "total_tokens": len(prompt.split()) + toks},
                "system_fingerprint": "fp_fake"}
        return True, {"id": "batch_req_" + rid, "custom_id": cid,
                      "response": {"status_code": 200, "request_id": rid, "body": body},
                      "error": None}

    def add_file(self, b, lines, purpose):
        st = self.state
        data = "".join(json.dumps(l) + "\n" for l in lines).encode()
        fid = st.new_id("file")
        st.files[fid] = {"meta": {"id": fid, "object": "file", "bytes": len(data),
                                  "created_at": int(time.time()),
                                  "filename": "%s_%s.jsonl" % (b["id"], purpose),
                                  "purpose": purpose, "status": "processed",
                                  "status_details": None}, "data": data}
        return fid

    def finish(self, b, status, done, reason=None):
        """Ends b with the first `done` requests answered; the rest end with `reason`."""
        st = self.state
        args = st.args
        out, errs = [], []
        for line in b["_lines"][:done]:
            ok, res = self.result(b, line)
            (out if ok else errs).append(res)
        for line in b["_lines"][done:]:
            if reason:
                cid = json.loads(line)["custom_id"]
                errs.append({"id": "batch_req_x", "custom_id": cid, "response": None,
                             "error": {"code": reason, "message": "This request could not be "
                                       "executed before the batch %s." % status}})
        b["request_counts"]["completed"] = len(out)
        b["request_counts"]["failed"] = sum(1 for e in errs if e.get("response"))
        if args.shuffle:
            st.rng.shuffle(out)
        if args.duplicate_every:
            out = [x for i, l in enumerate(out) for x in ([l, l] if i % args.duplicate_every == 0
                                                          else [l])]
        for k in range(args.unknown_lines):
            _, res = self.result(b, json.dumps({"custom_id": "unknown:%d:%s" % (k, b["id"]),
                                                "body": {"messages": []}}))
            out.append(res)
        if out:
            b["output_file_id"] = self.add_file(b, out, "batch_output")
        if errs:
            b["error_file_id"] = self.add_file(b, errs, "batch_output")
        b["status"] = status
        b[status + "_at"] = int(time.time())

    def advance(self, b):
        """Moves b on with the clock."""
        st = self.state
        args = st.args
        if b["status"] in ("completed", "failed", "expired", "cancelled"):
            return
        now = time.time()
        el = (now - b["_t0"]) * 1000.0
        total = len(b["_lines"])
        if b["status"] == "cancelling":
            if now - b["_cancel_t"] >= 0.05:
                self.finish(b, "cancelled", b["_cancel_done"], "batch_cancelled")
            return
        if el < args.validate_ms:
            return
        if b.get("_invalid"):
            b["status"] = "failed"
            b["failed_at"] = int(now)
            b["errors"] = {"object": "list", "data": [{"code": "invalid_file", "message":
                                                       b["_invalid"], "param": None,
                                                       "line": None}]}
            return
        if b["status"] == "validating":
            b["status"] = "in_progress"
            b["in_progress_at"] = int(now)
        done = min(total, int((el - args.validate_ms) / max(args.ms_per_request, 0.001)))
        if b["_expire"] and done >= total // 2 and total > 1:
            self.finish(b, "expired", total // 2, "batch_expired")
            return
        b["request_counts"]["completed"] = done
        if done >= total:
            if b["status"] == "in_progress":
                b["status"] = "finalizing"
                b["finalizing_at"] = int(now)
                b["_fin_t"] = now
            elif now - b["_fin_t"] >= args.finalize_ms / 1000.0:
                self.finish(b, "completed", total)

    def get_batch(self, bid):
        st = self.state
        with st.lock:
            b = st.batches.get(bid)
            if not b:
                return self.send_error_json(404, "No batch found with id '%s'" % bid)
            pub = self.public(b)
            st.log("status %s %s %d/%d" % (bid, pub["status"], pub["request_counts"]["completed"],
                                           pub["request_counts"]["total"]))
        self.send_json(200, pub)

    def list_batches(self, query):
        st = self.state
        limit = int(query.get("limit", "20"))
        with st.lock:
            ids = list(reversed(st.order))  # newest first
            if query.get("after") in ids:
                ids = ids[ids.index(query["after"]) + 1:]
            page = ids[:limit]
            data = [self.public(st.batches[i]) for i in page]
        self.send_json(200, {"object": "list", "data": data,
                             "first_id": page[0] if page else None,
                             "last_id": page[-1] if page else None,
                             "has_more": len(ids) > limit})

    def cancel(self, bid):
        st = self.state
        with st.lock:
            b = st.batches.get(bid)
            if not b:
                return self.send_error_json(404, "No batch found with id '%s'" % bid)
            self.advance(b)
            if b["status"] in ("validating", "in_progress", "finalizing"):
                b["_cancel_done"] = b["request_counts"]["completed"]
                b["status"] = "cancelling"
                b["cancelling_at"] = int(time.time())
                b["_cancel_t"] = time.time()
            st.log("cancel %s" % bid)
            pub = self.public(b)
        self.send_json(200, pub)

    def stats(self):
        st = self.state
        with st.lock:
            per_input = {}
            for b in st.batches.values():
                per_input[b["input_file_id"]] = per_input.get(b["input_file_id"], 0) + 1
            per_name = {}
            for f in st.files.values():
                if f["meta"]["purpose"] == "batch":
                    n = f["meta"]["filename"]
                    per_name[n] = per_name.get(n, 0) + 1
            out = {"uploads": sum(per_name.values()), "batches": len(st.batches),
                   "creates": st.creates, "rate_limited": st.rate_limited,
                   "downloads": st.downloads, "dropped": st.dropped,
                   "batches_per_input": per_input, "uploads_per_name": per_name,
                   "statuses": {b["id"]: b["status"] for b in st.batches.values()}}
        self.send_json(200, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--answers", help="JSON file: {substring of the user prompt: answer}")
    ap.add_argument("--ms-per-request", type=float, default=2.0)
    ap.add_argument("--validate-ms", type=float, default=20.0)
    ap.add_argument("--finalize-ms", type=float, default=20.0)
    ap.add_argument("--rate-limit-creates", type=int, default=0)
    ap.add_argument("--expire-first", action="store_true")
    ap.add_argument("--error-every", type=int, default=0)
    ap.add_argument("--shuffle", action="store_true")
    ap.add_argument("--duplicate-every", type=int, default=0)
    ap.add_argument("--unknown-lines", type=int, default=0)
    ap.add_argument("--drop-downloads", type=int, default=0)
    ap.add_argument("--slow-download-ms", type=int, default=0)
    ap.add_argument("--create-delay-ms", type=int, default=0)
    ap.add_argument("--upload-delay-ms", type=int, default=0)
    ap.add_argument("--max-file-requests", type=int, default=50000)
    ap.add_argument("--max-file-bytes", type=int, default=200 * 1000 * 1000)
    ap.add_argument("--require-key")
    args = ap.parse_args()
    Handler.state = State(args)
    serve(Handler, args.port)


if __name__ == "__main__":
    main()
