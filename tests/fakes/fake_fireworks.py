#!/usr/bin/env python3
"""A fake of Fireworks AI's batch inference API for lleval's tests (standard library only).

What the real service does, and where it is written down (read 2026-12-07; the fake follows these):

- docs.fireworks.ai/guides/batch-inference: the input is one JSONL dataset, each line
  {"custom_id": unique id, "body": chat-completions request without "model"}; a dataset under
  500 MB (later revisions of the page: 1 GB); batch is priced at half the serverless per-token rate
  (cached prompt tokens a further half); job states VALIDATING, PENDING, RUNNING, COMPLETED, FAILED,
  EXPIRED ("exceeded the 24-hour time limit", the rows done so far are kept in the output dataset);
  the output dataset holds a results file (successful responses, one line per custom_id) and an
  error file (the failed requests with their custom_id).
- docs.fireworks.ai/api-reference/create-batch-inference-job: POST
  /v1/accounts/{account_id}/batchInferenceJobs, query parameter batchInferenceJobId (the caller
  picks the job's id), body {displayName, model, inputDatasetId, outputDatasetId,
  inferenceParameters{maxTokens, temperature, topP, n, topK, extraBody}, precision,
  continuedFromJobName}; the reply and GET .../batchInferenceJobs/{id}
  (api-reference/get-batch-inference-job) are the job: name, createTime, state (JOB_STATE_...),
  status{code, message}, model, inputDatasetId, outputDatasetId, inferenceParameters, updateTime,
  jobProgress{percent, totalInputRequests, totalProcessedRequests, successfullyProcessedRequests,
  failedRequests, outputRows, inputTokens, outputTokens, cachedInputTokenCount}.
- The JobState enum (the Gateway REST API's gatewayJobState): JOB_STATE_UNSPECIFIED, _CREATING,
  _RUNNING, _COMPLETED, _FAILED, _CANCELLED, _DELETING, _WRITING_RESULTS, _VALIDATING,
  _DELETING_CLEANING_UP, _PENDING, _EXPIRED, _RE_QUEUEING, _CREATING_INPUT_DATASET, _IDLE,
  _CANCELLING, _EARLY_STOPPED (later: _PAUSED, _DELETED).
- docs.fireworks.ai/api-reference/get-dataset, list-datasets: POST /v1/accounts/{a}/datasets with
  {datasetId, dataset{displayName, exampleCount (an int64 written as a string), userUploaded{},
  format}}; a dataset's state is STATE_UNSPECIFIED, UPLOADING or READY.
- api-reference/upload-dataset-files: POST .../datasets/{id}:upload, multipart/form-data with one
  "file" part, files up to 150 MB; the reply {id, object: "file", bytes, created_at, filename,
  purpose}. Larger files: api-reference/get-dataset-upload-endpoint (POST
  .../datasets/{id}:getUploadEndpoint {filenameToSize} -> {filenameToSignedUrls}, then an HTTP PUT
  of the bytes to each signed URL) and api-reference/validate-dataset-upload (POST
  .../datasets/{id}:validateUpload {}).
- api-reference/get-dataset-download-endpoint: GET .../datasets/{id}:getDownloadEndpoint (no body)
  -> {filenameToSignedUrls}: short-lived signed storage URLs, fetched without the API key.
- firectl delete batch-inference-job (tools-sdks/firectl/commands/delete-batch-inference-job): a job
  is stopped by deleting it (DELETE .../batchInferenceJobs/{id}); there is no :cancel for these jobs.
- Every call carries "Authorization: Bearer <API key>" (every api-reference page).

Behaviour reported by people who ran the real service (a public research note of another batch
client, 2026-08-30), followed here where the reference pages are silent: exampleCount is required
for an uploaded dataset (400 "example_count is required ...") but not checked against the file, and
jobProgress.totalInputRequests echoes it; the output files are named BIJOutputSet.jsonl and
error-data, listed under keys "dataset/<id>/<file>"; a results line is
{"custom_id", "response": <chat.completion>} (no status_code/body wrapper); rows come back in any
order; a malformed input line fails the whole job (JOB_STATE_FAILED, status.message names the
line) with no output dataset; signed URLs live ~10 minutes; a bad key gets 401/403 with
{"error": {...}}; other errors are {"code", "message", "details"} (google.rpc.Status).
The error-data line shape is not documented: the fake writes {"custom_id", "error": {"code",
"message"}}.

Answers come from the prompt like fake_openai.py (--answers FILE, else "echo: " and the first six
words of the last user message; body.max_tokens, else inferenceParameters.maxTokens, cuts it).
A job moves on by itself: VALIDATING, PENDING, RUNNING (rows done in proportion to the time),
WRITING_RESULTS, COMPLETED over job_ms milliseconds (--job-ms, default 1200).

Faults (command line or POST /__fault with a JSON object; names as the keys below):
  create_429 N       the next N job creations answer 429 RESOURCE_EXHAUSTED (counts down)
  expire_half N      the next N jobs created end JOB_STATE_EXPIRED with half their rows done
  fail_job N         the next N jobs end JOB_STATE_FAILED, no output dataset
  error_every N      every Nth row of a job fails: a line in error-data, failedRequests + 1
  shuffle            results lines in reverse order
  duplicate_every N  every Nth results line is written twice
  unknown_id         one extra results line with a custom_id that was never sent
  drop_download N    the next N storage downloads send half the body, then close
  url_ttl_ms N       signed URLs expire after N ms (default 600000)
  hold_before [ops]  requests of these operations wait, before anything is done, while listed
  hold_after [ops]   requests of these operations are done, then wait before replying
  job_ms N           how long a new job takes
Operations: create_dataset, get_dataset, upload, upload_endpoint, validate_upload, storage_put,
download_endpoint, storage_get, create_job, get_job, list_jobs, delete_job.

Control endpoints (not logged): GET /__log (every request: seq, op, method, path, status, held,
auth_ok), GET /__stats (counts per op, jobs with state and progress, datasets, faults, and
auth_to_storage: requests that sent the API key to a storage URL), POST /__fault, POST /__reset
(clears the log and counters; datasets and jobs stay).

The first line on stdout is "PORT <n>".
"""

import argparse
import json
import os
import re
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakebase import FakeHandler, serve  # noqa: E402
from fake_openai import compact, tokens_of  # noqa: E402

FAULT_KEYS = {
    "create_429": int, "expire_half": int, "fail_job": int, "error_every": int,
    "shuffle": bool, "duplicate_every": int, "unknown_id": bool, "drop_download": int,
    "url_ttl_ms": int, "hold_before": list, "hold_after": list, "job_ms": int,
}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
RESULTS_FILE = "BIJOutputSet.jsonl"
ERROR_FILE = "error-data"
MAX_UPLOAD = 150 * 1000 * 1000
CREATED = 1725885296
# gRPC codes in google.rpc.Status bodies
G_INVALID, G_NOT_FOUND, G_EXISTS, G_DENIED, G_EXHAUSTED, G_PRECONDITION = 3, 5, 6, 7, 8, 9


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Job:
    def __init__(self, jid, body, dataset, out_id, faults, job_ms):
        self.id = jid
        self.body = body
        self.dataset = dataset
        self.out_id = out_id
        self.created = time.monotonic()
        self.create_time = now_iso()
        self.job_ms = max(1, job_ms)
        self.expire = faults.pop("expire")
        self.fail = faults.pop("fail")
        self.deleted_at = None
        self.rows, self.bad_line = parse_rows(dataset["content"])
        self.declared = int(dataset.get("exampleCount") or 0)
        self.written = False


def parse_rows(content):
    """The input lines, or (None, message) when one is not a valid request (the job fails)."""
    rows, seen = [], set()
    for n, line in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            return None, "line %d is not valid JSON" % n
        if not isinstance(row, dict) or not isinstance(row.get("custom_id"), str):
            return None, "line %d has no string custom_id" % n
        body = row.get("body")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) \
                or not body["messages"]:
            return None, "line %d: body.messages must be a non-empty array" % n
        if row["custom_id"] in seen:
            return None, "line %d: duplicate custom_id %r" % (n, row["custom_id"])
        seen.add(row["custom_id"])
        rows.append(row)
    return rows, None


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.key = args.api_key
        self.account = args.account
        self.models = args.model or []
        self.answers = []
        if args.answers:
            with open(args.answers, encoding="utf-8") as f:
                self.answers = list(json.load(f).items())
        self.faults = {k: ([] if t is list else (False if t is bool else 0))
                       for k, t in FAULT_KEYS.items()}
        self.faults["url_ttl_ms"] = 600000
        self.faults["job_ms"] = 1200
        for key in FAULT_KEYS:
            value = getattr(args, key, None)
            if value:
                self.faults[key] = value
        self.datasets = {}
        self.jobs = {}
        self.signed = {}  # token -> (kind, dataset id, file name, expires at, size)
        self.reset()

    def reset(self):
        self.log = []
        self.counts = {}
        self.auth_to_storage = 0


class Handler(FakeHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-fireworks/1"
    name = "fake_fireworks"
    compact = staticmethod(compact)

    def replying(self, status):
        self.entry["status"] = status

    def rpc_error(self, status, code, message):
        self.send_json(status, {"code": code, "message": message, "details": []})

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        path, _, query = self.path.partition("?")
        raw = self.read_body()
        if path.startswith("/__"):
            self.entry = {}
            return self.control(method, path, raw)
        st = self.state
        op, params = classify(method, path)
        with st.lock:
            self.entry = {"seq": len(st.log) + 1, "op": op, "method": method, "path": path,
                          "query": query, "status": None, "held": False, "t": time.time()}
            st.log.append(self.entry)
            st.counts[op] = st.counts.get(op, 0) + 1
        self.hold("hold_before", op)
        try:
            reply = self.route(op, params, method, query, raw)
        except ApiError as e:
            reply = (e.status, {"code": e.code, "message": e.message, "details": []})
        self.hold("hold_after", op)
        try:
            if reply is not None:
                self.send_json(*reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (a killed lleval)

    def hold(self, which, op):
        st = self.state
        while True:
            with st.lock:
                if op not in st.faults[which]:
                    return
                self.entry["held"] = True
            time.sleep(0.02)

    def authorized(self, params):
        st = self.state
        header = self.headers.get("Authorization")
        ok = header == "Bearer " + st.key
        self.entry["auth_ok"] = ok
        if not header:
            raise AuthError(401, "The API key is missing: send it in an Authorization header "
                            "(Authorization: Bearer <key>).", "UNAUTHENTICATED")
        if not ok:
            raise AuthError(403, "The API key you provided is invalid.", "UNAUTHORIZED")
        if params.get("account") != st.account:
            raise ApiError(403, G_DENIED, "permission denied on account %r"
                           % params.get("account"))

    # ---- routes ---------------------------------------------------------

    def route(self, op, params, method, query, raw):
        st = self.state
        if op in ("storage_put", "storage_get"):
            return self.storage(op, params, raw)
        if op == "unknown":
            return 404, {"code": G_NOT_FOUND, "message": "Not Found", "details": []}
        try:
            self.authorized(params)
        except AuthError as e:
            return e.status, {"error": {"object": "error", "type": "invalid_request_error",
                                        "code": e.kind, "message": e.message}}
        with st.lock:
            handler = getattr(self, "op_" + op)
            return handler(params, query, raw)

    def body_json(self, raw):
        try:
            obj = json.loads(raw or b"{}")
        except ValueError as exc:
            raise ApiError(400, G_INVALID, "invalid JSON body: %s" % exc)
        if not isinstance(obj, dict):
            raise ApiError(400, G_INVALID, "the body must be a JSON object")
        return obj

    def dataset(self, params):
        ds = self.state.datasets.get(params["dataset"])
        if ds is None:
            raise ApiError(404, G_NOT_FOUND, "resource not found")
        return ds

    def op_create_dataset(self, params, query, raw):
        req = self.body_json(raw)
        did = req.get("datasetId") or query_arg(query, "datasetId")
        spec = req.get("dataset")
        if not isinstance(did, str) or not ID_RE.match(did):
            raise ApiError(400, G_INVALID, "datasetId must be 1-63 lowercase letters, digits "
                           "or hyphens, starting with a letter or digit")
        if not isinstance(spec, dict):
            raise ApiError(400, G_INVALID, "dataset is required")
        if "userUploaded" in spec and not str(spec.get("exampleCount") or ""):
            raise ApiError(400, G_INVALID, "example_count is required for uploaded datasets")
        if did in self.state.datasets:
            raise ApiError(409, G_EXISTS, "dataset accounts/%s/datasets/%s already exists"
                           % (self.state.account, did))
        ds = {"id": did, "state": "UPLOADING", "exampleCount": str(spec.get("exampleCount") or
                                                                  "0"),
              "displayName": spec.get("displayName") or did, "format": spec.get("format") or
              "FORMAT_UNSPECIFIED", "content": b"", "files": {}, "createTime": now_iso(),
              "pending": {}}
        self.state.datasets[did] = ds
        return 200, self.dataset_json(ds)

    def dataset_json(self, ds):
        return {"name": "accounts/%s/datasets/%s" % (self.state.account, ds["id"]),
                "displayName": ds["displayName"], "createTime": ds["createTime"],
                "state": ds["state"], "status": {"code": "OK", "message": ""},
                "exampleCount": ds["exampleCount"], "userUploaded": {},
                "format": ds["format"], "updateTime": now_iso()}

    def op_get_dataset(self, params, query, raw):
        return 200, self.dataset_json(self.dataset(params))

    def op_upload(self, params, query, raw):
        ds = self.dataset(params)
        name, data = multipart_file(self.headers.get("Content-Type", ""), raw)
        if name is None:
            raise ApiError(400, G_INVALID, "expected multipart/form-data with a \"file\" part")
        if len(data) > MAX_UPLOAD:
            raise ApiError(400, G_INVALID, "file is larger than 150MB: use getUploadEndpoint")
        if ds["state"] == "READY":
            raise ApiError(400, G_PRECONDITION, "dataset is already uploaded")
        ds["files"][name] = data
        ds["content"] = data
        ds["state"] = "READY"
        return 200, {"id": ds["id"], "object": "file", "bytes": len(data),
                     "created_at": int(time.time()), "filename": name, "purpose": "fine-tune"}

    def op_upload_endpoint(self, params, query, raw):
        ds = self.dataset(params)
        sizes = self.body_json(raw).get("filenameToSize")
        if not isinstance(sizes, dict) or not sizes:
            raise ApiError(400, G_INVALID, "filenameToSize is required")
        urls = {}
        for name, size in sizes.items():
            try:
                size = int(size)
            except (TypeError, ValueError):
                raise ApiError(400, G_INVALID, "filenameToSize[%r] is not a number" % name)
            urls[name] = self.sign("put", ds["id"], name, size)
            ds["pending"][name] = size
        return 200, {"filenameToSignedUrls": urls}

    def op_validate_upload(self, params, query, raw):
        ds = self.dataset(params)
        missing = [n for n in ds["pending"] if n not in ds["files"]]
        if missing or not ds["files"]:
            raise ApiError(400, G_PRECONDITION, "files not uploaded: %s" % ", ".join(missing))
        ds["content"] = b"".join(ds["files"][n] for n in sorted(ds["files"]))
        ds["state"] = "READY"
        return 200, {}

    def op_download_endpoint(self, params, query, raw):
        if raw:
            raise ApiError(400, G_INVALID, "a GET request cannot have a body")
        ds = self.dataset(params)
        self.refresh_outputs()
        urls = {"dataset/%s/%s" % (ds["id"], n): self.sign("get", ds["id"], n, len(d))
                for n, d in sorted(ds["files"].items())}
        return 200, {"filenameToSignedUrls": urls}

    def sign(self, kind, did, name, size):
        token = uuid.uuid4().hex
        ttl = self.state.faults["url_ttl_ms"] / 1000.0
        self.state.signed[token] = (kind, did, name, time.monotonic() + ttl, size)
        host, port = self.server.server_address[:2]
        return "http://%s:%d/storage/%s/%s?X-Goog-Expires=%d&X-Goog-Signature=%s" % (
            host, port, kind, token, int(ttl), token[:16])

    def op_create_job(self, params, query, raw):
        st = self.state
        req = self.body_json(raw)
        if st.faults["create_429"] > 0:
            st.faults["create_429"] -= 1
            raise ApiError(429, G_EXHAUSTED, "too many requests: batch job quota exceeded, "
                           "retry later")
        jid = query_arg(query, "batchInferenceJobId") or "job-" + uuid.uuid4().hex[:12]
        if not ID_RE.match(jid):
            raise ApiError(400, G_INVALID, "batchInferenceJobId %r is not a valid id" % jid)
        if jid in st.jobs:
            raise ApiError(409, G_EXISTS, "batch inference job accounts/%s/batchInferenceJobs/%s"
                           " already exists" % (st.account, jid))
        model = req.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, G_INVALID, "model is required")
        if st.models and model not in st.models:
            raise ApiError(404, G_NOT_FOUND, "model %r not found" % model)
        did = dataset_id(req.get("inputDatasetId"), st.account)
        if did is None or did not in st.datasets:
            raise ApiError(400, G_INVALID, "inputDatasetId %r: dataset not found"
                           % req.get("inputDatasetId"))
        ds = st.datasets[did]
        if ds["state"] != "READY":
            raise ApiError(400, G_PRECONDITION, "input dataset %s is not READY" % did)
        out = req.get("outputDatasetId")
        out_id = dataset_id(out, st.account) if out else jid + "-output"
        if out_id is None or not ID_RE.match(out_id):
            raise ApiError(400, G_INVALID, "outputDatasetId %r is not valid" % out)
        if out_id in st.datasets:
            raise ApiError(409, G_EXISTS, "output dataset %s already exists" % out_id)
        ip = req.get("inferenceParameters") or {}
        if not isinstance(ip, dict):
            raise ApiError(400, G_INVALID, "inferenceParameters must be an object")
        faults = {"expire": st.faults["expire_half"] > 0, "fail": st.faults["fail_job"] > 0}
        for key, on in (("expire_half", faults["expire"]), ("fail_job", faults["fail"])):
            if on:
                st.faults[key] -= 1
        job = Job(jid, req, ds, out_id, faults, st.faults["job_ms"])
        st.jobs[jid] = job
        return 200, self.job_json(job)

    def progress(self, job):
        """(state, rows done) from the time since creation."""
        if job.rows is None or job.fail:
            return "JOB_STATE_FAILED", 0
        f = (time.monotonic() - job.created) * 1000.0 / job.job_ms
        n = len(job.rows)
        limit = n // 2 if job.expire else n
        if job.deleted_at is not None:
            return "JOB_STATE_DELETING_CLEANING_UP", job.deleted_rows
        if f < 0.1:
            return "JOB_STATE_VALIDATING", 0
        if f < 0.2:
            return "JOB_STATE_PENDING", 0
        if f < 0.9:
            return "JOB_STATE_RUNNING", min(limit, int(n * (f - 0.2) / 0.7))
        if job.expire:
            return "JOB_STATE_EXPIRED", limit
        if f < 1.0:
            return "JOB_STATE_WRITING_RESULTS", n
        return "JOB_STATE_COMPLETED", n

    def job_json(self, job):
        st = self.state
        state, done = self.progress(job)
        rows = job.rows or []
        failed = sum(1 for i in range(done) if self.row_fails(i))
        itok = otok = 0
        for i in range(done):
            if not self.row_fails(i):
                resp = self.answer(job, rows[i])
                itok += resp["usage"]["prompt_tokens"]
                otok += resp["usage"]["completion_tokens"]
        j = {"name": "accounts/%s/batchInferenceJobs/%s" % (st.account, job.id),
             "displayName": job.body.get("displayName") or job.id,
             "createTime": job.create_time, "createdBy": "tester@example.com",
             "state": state, "status": {"code": "OK", "message": ""},
             "model": job.body.get("model"),
             "inputDatasetId": "accounts/%s/datasets/%s" % (st.account, job.dataset["id"]),
             "outputDatasetId": "accounts/%s/datasets/%s" % (st.account, job.out_id),
             "inferenceParameters": dict(job.body.get("inferenceParameters") or {},
                                         extraBody=(job.body.get("inferenceParameters") or {})
                                         .get("extraBody") or "{}"),
             "updateTime": now_iso(), "precision": "PRECISION_UNSPECIFIED",
             "jobProgress": {"percent": int(100 * done / len(rows)) if rows else 0,
                             "epoch": 0, "totalInputRequests": job.declared,
                             "totalProcessedRequests": done,
                             "successfullyProcessedRequests": done - failed,
                             "failedRequests": failed, "outputRows": done - failed,
                             "inputTokens": itok, "outputTokens": otok,
                             "cachedInputTokenCount": 0}}
        if state == "JOB_STATE_FAILED":
            msg = job.bad_line or "the job failed: internal error (injected)"
            j["status"] = {"code": "INVALID_ARGUMENT" if job.bad_line else "INTERNAL",
                           "message": "Dataset has a syntax error: chat dataset validation "
                           "failed: " + msg if job.bad_line else msg}
            j["outputDatasetId"] = ""
        if state == "JOB_STATE_EXPIRED":
            j["status"] = {"code": "DEADLINE_EXCEEDED",
                           "message": "the job exceeded its 24-hour time limit"}
        return j

    def row_fails(self, i):
        k = self.state.faults["error_every"]
        return k > 0 and (i + 1) % k == 0

    def refresh_outputs(self):
        """Writes the output dataset of every job that ended (or was deleted), once."""
        st = self.state
        for job in st.jobs.values():
            state, done = self.progress(job)
            final = state in ("JOB_STATE_COMPLETED", "JOB_STATE_EXPIRED",
                              "JOB_STATE_DELETING_CLEANING_UP")
            if job.written or not final:
                continue
            job.written = True
            ok, bad = [], []
            for i, row in enumerate(job.rows[:done]):
                if self.row_fails(i):
                    bad.append({"custom_id": row["custom_id"],
                                "error": {"code": 400, "message": "request %d failed: the "
                                          "model refused the input (injected)" % (i + 1)}})
                    continue
                ok.append({"custom_id": row["custom_id"], "response": self.answer(job, row)})
                k = st.faults["duplicate_every"]
                if k > 0 and len(ok) % k == 0:
                    ok.append(ok[-1])
            if st.faults["unknown_id"] and ok:
                ok.append({"custom_id": "never-sent-1", "response": ok[0]["response"]})
            if st.faults["shuffle"]:
                ok.reverse()
            files = {RESULTS_FILE: b"".join(compact(r) + b"\n" for r in ok),
                     ERROR_FILE: b"".join(compact(r) + b"\n" for r in bad)}
            st.datasets[job.out_id] = {
                "id": job.out_id, "state": "READY", "exampleCount": str(len(ok)),
                "displayName": job.out_id, "format": "FORMAT_UNSPECIFIED",
                "content": files[RESULTS_FILE], "files": files, "createTime": now_iso(),
                "pending": {}}

    def answer(self, job, row):
        body = row["body"]
        msgs = [m for m in body["messages"] if isinstance(m, dict)]
        user = [m.get("content") for m in msgs if m.get("role") == "user"]
        prompt = user[-1] if user and isinstance(user[-1], str) else ""
        text = None
        for key, value in self.state.answers:
            if key in prompt:
                text = value
                break
        if text is None:
            text = "echo: " + " ".join(prompt.split()[:6])
        toks = tokens_of(text)
        ip = job.body.get("inferenceParameters") or {}
        limit = body.get("max_tokens", ip.get("maxTokens"))
        finish = "stop"
        if isinstance(limit, int) and 0 <= limit < len(toks):
            toks, finish = toks[:limit], "length"
        ptok = len(tokens_of(" ".join(str(m.get("content") or "") for m in msgs))) + 4 * len(msgs)
        return {"id": "chatcmpl-fw-%s-%s" % (job.id, row["custom_id"]),
                "object": "chat.completion", "created": CREATED, "model": job.body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant",
                                                     "content": "".join(toks)},
                             "finish_reason": finish}],
                "usage": {"prompt_tokens": ptok, "completion_tokens": len(toks),
                          "total_tokens": ptok + len(toks),
                          "prompt_tokens_details": {"cached_tokens": 0}}}

    def job(self, params):
        job = self.state.jobs.get(params["job"])
        if job is None:
            raise ApiError(404, G_NOT_FOUND, "resource not found")
        if job.deleted_at is not None and time.monotonic() - job.deleted_at > 0.5:
            del self.state.jobs[params["job"]]
            raise ApiError(404, G_NOT_FOUND, "resource not found")
        return job

    def op_get_job(self, params, query, raw):
        job = self.job(params)
        self.refresh_outputs()
        return 200, self.job_json(job)

    def op_list_jobs(self, params, query, raw):
        self.refresh_outputs()
        return 200, {"batchInferenceJobs": [self.job_json(j) for j in self.state.jobs.values()
                                            if j.deleted_at is None],
                     "nextPageToken": "", "totalSize": len(self.state.jobs)}

    def op_delete_job(self, params, query, raw):
        job = self.job(params)
        if job.deleted_at is None:
            state, done = self.progress(job)
            job.deleted_rows = done
            job.deleted_at = time.monotonic()
            self.refresh_outputs()
        return 200, {}

    def storage(self, op, params, raw):
        st = self.state
        if self.headers.get("Authorization"):
            with st.lock:
                st.auth_to_storage += 1
            return self.xml_error(400, "InvalidAuthentication", "a signed URL must not carry "
                                  "an Authorization header")
        with st.lock:
            entry = st.signed.get(params["token"])
            if entry is None or entry[0] != params["kind"]:
                return self.xml_error(403, "SignatureDoesNotMatch", "unknown signature")
            kind, did, name, expires, size = entry
            if time.monotonic() > expires:
                return self.xml_error(400, "ExpiredToken", "the signed URL has expired")
            ds = st.datasets.get(did)
            if ds is None:
                return self.xml_error(404, "NoSuchKey", "the object does not exist")
            if kind == "put":
                if len(raw) != size:
                    return self.xml_error(400, "EntityTooLarge" if len(raw) > size else
                                          "IncompleteBody", "expected %d bytes" % size)
                ds["files"][name] = raw
                return 200, {}
            data = ds["files"].get(name, b"")
            drop = st.faults["drop_download"] > 0 and len(data) > 1
            if drop:
                st.faults["drop_download"] -= 1
        if not drop:
            self.send_bytes(200, data, "application/octet-stream")
            return None
        self.entry["status"] = 200
        self.entry["dropped"] = True
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True
        return None

    def xml_error(self, status, code, message):
        body = ("<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code><Message>%s"
                "</Message></Error>" % (code, message)).encode()
        self.send_bytes(status, body, "application/xml; charset=UTF-8")
        return None

    def control(self, method, path, raw):
        st = self.state
        with st.lock:
            if path == "/__log" and method == "GET":
                return self.send_json(200, st.log)
            if path == "/__stats" and method == "GET":
                self.refresh_outputs()
                jobs = {j.id: self.job_json(j) for j in st.jobs.values()}
                return self.send_json(200, {
                    "counts": st.counts, "auth_to_storage": st.auth_to_storage,
                    "faults": st.faults, "datasets": sorted(st.datasets),
                    "jobs": {k: {"state": v["state"], "jobProgress": v["jobProgress"],
                                 "inputDatasetId": v["inputDatasetId"]}
                             for k, v in jobs.items()}})
            if path == "/__reset" and method == "POST":
                st.reset()
                return self.send_json(200, {})
            if path == "/__fault" and method == "POST":
                try:
                    changes = json.loads(raw or b"{}")
                    for key, value in changes.items():
                        if key not in FAULT_KEYS:
                            return self.send_json(400, {"error": "unknown fault %r" % key})
                        st.faults[key] = FAULT_KEYS[key](value or FAULT_KEYS[key]())
                except (ValueError, TypeError, AttributeError) as exc:
                    return self.send_json(400, {"error": "bad fault request: %s" % exc})
                return self.send_json(200, st.faults)
        return self.send_json(404, {"error": "no such control endpoint"})


class AuthError(Exception):
    def __init__(self, status, message, kind):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


ROUTES = [
    ("POST", r"/v1/accounts/(?P<account>[^/]+)/datasets", "create_dataset"),
    ("GET", r"/v1/accounts/(?P<account>[^/]+)/datasets/(?P<dataset>[^/:]+)", "get_dataset"),
    ("POST", r"/v1/accounts/(?P<account>[^/]+)/datasets/(?P<dataset>[^/:]+):upload", "upload"),
    ("POST", r"/v1/accounts/(?P<account>[^/]+)/datasets/(?P<dataset>[^/:]+):getUploadEndpoint",
     "upload_endpoint"),
    ("POST", r"/v1/accounts/(?P<account>[^/]+)/datasets/(?P<dataset>[^/:]+):validateUpload",
     "validate_upload"),
    ("GET", r"/v1/accounts/(?P<account>[^/]+)/datasets/(?P<dataset>[^/:]+):getDownloadEndpoint",
     "download_endpoint"),
    ("POST", r"/v1/accounts/(?P<account>[^/]+)/batchInferenceJobs", "create_job"),
    ("GET", r"/v1/accounts/(?P<account>[^/]+)/batchInferenceJobs", "list_jobs"),
    ("GET", r"/v1/accounts/(?P<account>[^/]+)/batchInferenceJobs/(?P<job>[^/:]+)", "get_job"),
    ("DELETE", r"/v1/accounts/(?P<account>[^/]+)/batchInferenceJobs/(?P<job>[^/:]+)",
     "delete_job"),
    ("PUT", r"/storage/(?P<kind>put)/(?P<token>[0-9a-f]+)", "storage_put"),
    ("GET", r"/storage/(?P<kind>get)/(?P<token>[0-9a-f]+)", "storage_get"),
]


def classify(method, path):
    for m, pattern, op in ROUTES:
        match = re.fullmatch(pattern, path)
        if match and m == method:
            return op, match.groupdict()
    return "unknown", {}


def query_arg(query, name):
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == name:
            return v
    return None


def dataset_id(value, account):
    """A dataset given as "accounts/<a>/datasets/<id>" or a bare id; None when malformed."""
    if not isinstance(value, str) or not value:
        return None
    m = re.fullmatch(r"accounts/([^/]+)/datasets/([^/]+)", value)
    if m:
        return m.group(2) if m.group(1) == account else None
    return value if "/" not in value else None


def multipart_file(ctype, raw):
    """(file name, bytes) of the form's "file" part, or (None, None)."""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not ctype.startswith("multipart/form-data") or not m:
        return None, None
    sep = b"--" + m.group(1).encode()
    for part in raw.split(sep)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="file"' not in head:
            continue
        fname = re.search(rb'filename="([^"]*)"', head)
        if data.endswith(b"\r\n"):
            data = data[:-2]
        return (fname.group(1).decode("utf-8", "replace") if fname else "file"), data
    return None, None


def main():
    ap = argparse.ArgumentParser(description="fake Fireworks batch inference API for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", dest="api_key", required=True,
                    help="the key every API call must carry (Authorization: Bearer KEY)")
    ap.add_argument("--account", required=True, help="the account id the paths must name")
    ap.add_argument("--model", action="append", help="accepted model names (default: any)")
    ap.add_argument("--answers", help="JSON file: {substring of the user prompt: answer}")
    ap.add_argument("--job-ms", dest="job_ms", type=int, default=1200)
    ap.add_argument("--create-429", dest="create_429", type=int, default=0)
    ap.add_argument("--expire-half", dest="expire_half", type=int, default=0)
    ap.add_argument("--fail-job", dest="fail_job", type=int, default=0)
    ap.add_argument("--error-every", dest="error_every", type=int, default=0)
    ap.add_argument("--shuffle", action="store_true")
    ap.add_argument("--duplicate-every", dest="duplicate_every", type=int, default=0)
    ap.add_argument("--unknown-id", dest="unknown_id", action="store_true")
    ap.add_argument("--drop-download", dest="drop_download", type=int, default=0)
    ap.add_argument("--url-ttl-ms", dest="url_ttl_ms", type=int, default=600000)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    Handler.state = State(args)
    Handler.verbose = args.verbose
    serve(Handler, args.port)


if __name__ == "__main__":
    main()
