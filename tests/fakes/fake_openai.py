#!/usr/bin/env python3
"""A fake OpenAI-compatible server for lleval's tests (Python standard library only).

Endpoints: GET /v1/models and POST /v1/chat/completions, in the OpenAI
chat.completion shape: id, object, created, model, system_fingerprint,
choices[{index, message{role, content}, logprobs, finish_reason}],
usage{prompt_tokens, completion_tokens, total_tokens}; "stream": true
answers with server-sent events (chat.completion.chunk, then [DONE]).

With --llamacpp it also plays llama-server: GET /health (503 "Loading
model" for --loading-ms after start), GET /props (total_slots,
default_generation_settings.n_ctx), GET /slots, the same paths without
/v1, llama-server's error shape, its "timings" object, at most --slots
requests worked on at once, and HTTP 400 when a prompt exceeds the
per-slot context.

Faults from the command line or, mid-run, POST /__fault {"delay_ms",
"error_500_every", "drop_every", "malformed_every", "invalid_utf8_every",
"rate_limit_every", "retry_after", "not_found", "oom_every",
"reasoning_tokens", "think_inline"}; GET /__stats returns
counters (requests, max_in_flight, ...), POST /__reset zeroes them.
--oom-every N answers every Nth generation with HTTP 500 and llama.cpp's
out-of-memory text in llama-server's error shape. --reasoning-tokens N makes
the model think N tokens before it answers, as a reasoning model behind
llama-server does: the thinking goes to message.reasoning_content (or, with
--think-inline, into the content inside <think>...</think>), and counts
against max_tokens, so a small max_tokens ends with an empty answer and
finish_reason "length".
--echo-key echoes the caller's bearer key everywhere it can (the redaction test).
--require-key KEY answers 401 to requests without "Authorization: Bearer KEY".

The first line on stdout is "PORT <n>".
"""

import argparse
import json
import re
import threading
import time

from fakebase import FakeHandler, serve

FAULT_KEYS = {
    "delay_ms": int,
    "error_500_every": int,
    "drop_every": int,
    "malformed_every": int,
    "invalid_utf8_every": int,
    "rate_limit_every": int,
    "retry_after": int,
    "not_found": bool,
    "echo_key": bool,
    "oom_every": int,
    "reasoning_tokens": int,
    "think_inline": bool,
}
# llama.cpp's CUDA allocation failure, as its server reports it
OOM_TEXT = ("ggml_backend_cuda_buffer_type_alloc_buffer: allocating 1024.00 MiB on device 0: "
            "cudaMalloc failed: out of memory")
GEN_MS_PER_TOKEN = 20.0  # 50 tokens/s
PROMPT_MS_PER_TOKEN = 2.0  # 500 tokens/s
CREATED = 1725885296


def tokens_of(text):
    """Deterministic "tokens": words with their leading white space."""
    return re.findall(r"\s*\S+", text)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.faults = {k: (False if t is bool else 0) for k, t in FAULT_KEYS.items()}
        self.faults["retry_after"] = 1
        for key in FAULT_KEYS:
            value = getattr(args, key, None)
            if value:
                self.faults[key] = value
        self.models = args.model or []
        self.key = args.require_key
        self.llamacpp = args.llamacpp
        self.slots = args.slots
        self.n_ctx = args.n_ctx
        self.ready_at = time.monotonic() + args.loading_ms / 1000.0
        self.slot_sem = threading.Semaphore(args.slots) if args.llamacpp else None
        self.answers = []
        if args.answers:
            with open(args.answers, encoding="utf-8") as f:
                self.answers = list(json.load(f).items())
        self.reset()

    def reset(self):
        self.requests = 0
        self.generate_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.by_path = {}
        self.injected = {"drop": 0, "error_500": 0, "malformed": 0, "invalid_utf8": 0,
                         "rate_limit": 0, "not_found": 0, "echo_key": 0, "oom": 0}
        self.auth_failures = 0
        self.last_request = None
        self.last_authorized = None

    def stats(self):
        return {
            "requests": self.requests,
            "generate_requests": self.generate_requests,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "by_path": dict(self.by_path),
            "faults": dict(self.faults),
            "faults_injected": dict(self.injected),
            "auth_failures": self.auth_failures,
            "last_request": self.last_request,
            "last_authorized": self.last_authorized,
        }


class Handler(FakeHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"
    name = "fake_openai"
    json_type = "application/json; charset=utf-8"
    compact = staticmethod(compact)

    def replying(self, status):
        self.leave()

    def send_error_json(self, status, message, etype, code=None, extra=None):
        if self.state.llamacpp:  # llama-server's shape
            err = {"code": status, "message": message, "type": etype}
        else:  # OpenAI's shape
            err = {"message": message, "type": etype, "param": None, "code": code}
        self.send_json(status, {"error": err}, extra)

    def drop(self):
        self.leave()
        self.close_connection = True
        self.wfile.flush()

    # ---- dispatch -------------------------------------------------------

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        path = self.path.split("?", 1)[0]
        raw = self.read_body()
        if path.startswith("/__"):
            return self.control(method, path, raw)
        st = self.state
        with st.lock:
            st.requests += 1
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
            st.by_path[path] = st.by_path.get(path, 0) + 1
        self.counted = True
        try:
            self.route(method, path, raw)
        finally:
            self.leave()

    def leave(self):
        """Ends this request's in-flight count. Called just BEFORE the last bytes of a
        reply go out: once the client has the whole reply it may send its next request
        at once, and that one must not overlap this one in the counters."""
        if getattr(self, "counted", False):
            self.counted = False
            with self.state.lock:
                self.state.in_flight -= 1

    def authorized(self):
        st = self.state
        header = self.headers.get("Authorization")
        with st.lock:
            st.last_authorized = bool(st.key) and header == "Bearer " + st.key
        if not st.key or header == "Bearer " + st.key:
            return True
        with st.lock:
            st.auth_failures += 1
        if st.llamacpp:
            self.send_error_json(401, "Invalid API Key", "authentication_error")
        elif not header:
            self.send_error_json(
                401, "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error")
        else:
            self.send_error_json(401, "Incorrect API key provided: sk-****. You can find your "
                                 "API key in your account settings.", "invalid_request_error",
                                 "invalid_api_key")
        return False

    def route(self, method, path, raw):
        st = self.state
        if st.llamacpp:
            if path in ("/health", "/v1/health") and method == "GET":
                return self.health()
            if time.monotonic() < st.ready_at:
                return self.send_error_json(503, "Loading model", "unavailable_error")
        if not self.authorized():
            return
        if st.llamacpp and path == "/props" and method == "GET":
            return self.props()
        if st.llamacpp and path == "/slots" and method == "GET":
            return self.send_json(200, [{"id": i, "n_ctx": st.n_ctx, "speculative": False,
                                         "is_processing": False} for i in range(st.slots)])
        # llama-server also answers without the /v1 prefix; OpenAI does not
        prefixes = ("/v1", "") if st.llamacpp else ("/v1",)
        if path in [p + "/models" for p in prefixes] and method == "GET":
            return self.models()
        if path in [p + "/chat/completions" for p in prefixes] and method == "POST":
            if st.slot_sem is None:
                return self.chat(raw)
            with st.slot_sem:  # llama-server works on at most --slots requests at once
                return self.chat(raw)
        if st.llamacpp:
            return self.send_error_json(404, "File Not Found", "not_found_error")
        return self.send_error_json(404, "Invalid URL (%s %s)" % (method, path),
                                    "invalid_request_error")

    def control(self, method, path, raw):
        st = self.state
        if path == "/__stats" and method == "GET":
            with st.lock:
                return self.send_json(200, st.stats())
        if path == "/__reset" and method == "POST":
            with st.lock:
                st.reset()
                return self.send_json(200, st.stats())
        if path == "/__fault" and method == "POST":
            try:
                changes = json.loads(raw or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("not an object")
                with st.lock:
                    for key, value in changes.items():
                        if key not in FAULT_KEYS:
                            return self.send_json(400, {"error": "unknown fault %r" % key})
                        st.faults[key] = FAULT_KEYS[key](value or 0)
                    return self.send_json(200, dict(st.faults))
            except (ValueError, TypeError) as exc:
                return self.send_json(400, {"error": "bad fault request: %s" % exc})
        return self.send_json(404, {"error": "no such control endpoint"})

    # ---- endpoints ------------------------------------------------------

    def health(self):
        if time.monotonic() < self.state.ready_at:
            return self.send_error_json(503, "Loading model", "unavailable_error")
        return self.send_json(200, {"status": "ok"})

    def model_ids(self):
        st = self.state
        if st.models:
            return st.models
        return ["/models/fake.gguf"] if st.llamacpp else ["gpt-fake"]

    def props(self):
        st = self.state
        self.send_json(200, {
            "default_generation_settings": {
                "params": {"seed": 4294967295, "temperature": 0.8, "top_k": 40, "top_p": 0.95,
                           "max_tokens": -1, "n_predict": -1, "stream": False},
                "n_ctx": st.n_ctx,
            },
            "total_slots": st.slots,
            "model_alias": self.model_ids()[0],
            "model_path": self.model_ids()[0],
            "build_info": "b1-fake",
            "is_sleeping": False,
        })

    def models(self):
        data = [{"id": m, "object": "model", "created": CREATED,
                 "owned_by": "llamacpp" if self.state.llamacpp else "fake"}
                for m in self.model_ids()]
        self.send_json(200, {"object": "list", "data": data})

    def answer_for(self, prompt):
        for key, answer in self.state.answers:
            if key in prompt:
                return answer
        return "echo: " + " ".join(prompt.split()[:6])

    def chat(self, raw):
        st = self.state
        with st.lock:
            st.generate_requests += 1
            n = st.generate_requests
            faults = dict(st.faults)
        if faults["delay_ms"] > 0:
            time.sleep(faults["delay_ms"] / 1000.0)

        def every(key):
            k = faults[key]
            return k > 0 and n % k == 0

        def count(key):
            with st.lock:
                st.injected[key] += 1

        if every("drop_every"):
            count("drop")
            return self.drop()
        try:
            req = json.loads(raw or b"")
            if not isinstance(req, dict):
                raise ValueError("the body is not an object")
        except ValueError as exc:
            return self.send_error_json(400, "could not parse the JSON body: %s" % exc,
                                        "invalid_request_error")
        with st.lock:
            st.last_request = req
        if every("rate_limit_every"):
            count("rate_limit")
            return self.send_error_json(
                429, "Rate limit reached for requests. Please try again in %ds." %
                faults["retry_after"], "requests", "rate_limit_exceeded",
                extra={"Retry-After": str(faults["retry_after"])})
        if every("error_500_every"):
            count("error_500")
            return self.send_error_json(500, "The server had an error while processing your "
                                        "request. Sorry about that!", "server_error")
        if every("oom_every"):
            count("oom")
            return self.send_error_json(500, OOM_TEXT, "server_error")
        echo = None
        if faults["echo_key"]:
            # a hostile server: the caller's key in every field it can reach, by turns
            echo = (self.headers.get("Authorization") or "").split(" ", 1)[-1]
            hdr = {"X-Echo-Key": echo, "WWW-Authenticate": "Bearer " + echo}
            count("echo_key")
            if n % 4 == 1:
                return self.send_error_json(500, "internal error for key %s" % echo,
                                            "server_error", extra=hdr)
            if n % 4 == 2:
                return self.send_bytes(200, b'{"choices": [{"message": {"content": "'
                                       + echo.encode() + b'" oops', extra=hdr)
            if n % 4 == 3:
                return self.send_error_json(400, "bad request from %s" % echo,
                                            "invalid_request_error", code=echo, extra=hdr)
        messages = req.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.send_error_json(400, "'messages' must be a non-empty array",
                                        "invalid_request_error")
        model = req.get("model") or ""
        if not st.llamacpp and not model:
            return self.send_error_json(400, "you must provide a model parameter",
                                        "invalid_request_error")
        if faults["not_found"] or (st.models and not st.llamacpp and model not in st.models):
            if faults["not_found"]:
                count("not_found")
            return self.send_error_json(
                404, "The model `%s` does not exist or you do not have access to it." % model,
                "invalid_request_error", "model_not_found")

        user = [m.get("content") or "" for m in messages
                if isinstance(m, dict) and m.get("role") == "user"]
        prompt = user[-1] if user and isinstance(user[-1], str) else ""
        all_text = " ".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
        prompt_tokens = len(tokens_of(all_text)) + 4 * len(messages)
        if st.llamacpp and prompt_tokens > st.n_ctx:
            return self.send_json(400, {"error": {
                "code": 400, "message": "request (%d tokens) exceeds the available context size "
                "(%d tokens), try increasing it" % (prompt_tokens, st.n_ctx),
                "type": "exceed_context_size_error", "n_prompt_tokens": prompt_tokens,
                "n_ctx": st.n_ctx}})

        answer = self.answer_for(prompt)
        if echo:
            answer = "your key is %s " % echo + answer
        finish = "stop"
        stops = req.get("stop") or []
        if isinstance(stops, str):
            stops = [stops]
        cut = [answer.find(s) for s in stops if isinstance(s, str) and s and s in answer]
        if cut:
            answer = answer[:min(cut)]
        toks = tokens_of(answer)
        limit = req.get("max_completion_tokens", req.get("max_tokens"))
        if st.llamacpp:
            room = st.n_ctx - prompt_tokens
            limit = room if not isinstance(limit, int) or limit < 0 else min(limit, room)
        if isinstance(limit, int) and limit >= 0 and len(toks) > limit:
            toks = toks[:limit]
            finish = "length"
        thinking, toks, finish = self.think(faults, toks, finish, limit)
        text = "".join(toks)
        if thinking is not None and faults["think_inline"]:
            text = "<think>" + thinking + ("</think>" + text if finish != "length" or toks else "")
        rid = "chatcmpl-fake-%d" % n
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(toks),
                 "total_tokens": prompt_tokens + len(toks)}
        reply = {
            "id": rid,
            "object": "chat.completion",
            "created": CREATED,
            "model": model or self.model_ids()[0],
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "logprobs": None, "finish_reason": finish}],
            "usage": usage,
        }
        if thinking is not None:
            usage["completion_tokens"] += len(tokens_of(thinking))
            usage["total_tokens"] = prompt_tokens + usage["completion_tokens"]
            if not faults["think_inline"]:
                reply["choices"][0]["message"]["reasoning_content"] = thinking
        if st.llamacpp:
            pm = prompt_tokens * PROMPT_MS_PER_TOKEN
            gm = len(toks) * GEN_MS_PER_TOKEN
            reply["timings"] = {
                "cache_n": 0, "prompt_n": prompt_tokens, "prompt_ms": pm,
                "prompt_per_token_ms": PROMPT_MS_PER_TOKEN,
                "prompt_per_second": 1000.0 / PROMPT_MS_PER_TOKEN,
                "predicted_n": len(toks), "predicted_ms": gm,
                "predicted_per_token_ms": GEN_MS_PER_TOKEN,
                "predicted_per_second": 1000.0 / GEN_MS_PER_TOKEN if toks else 0.0,
            }
        if req.get("stream"):
            return self.stream(reply, toks, finish, req)

        data = compact(reply)
        if every("invalid_utf8_every") and text:
            count("invalid_utf8")
            data = data.replace(b'"content":"', b'"content":"\xff\xfe', 1)
        if every("malformed_every"):
            count("malformed")
            data = data[: max(1, len(data) // 2)]
        self.send_bytes(200, data)

    @staticmethod
    def think(faults, toks, finish, limit):
        """A reasoning model: reasoning_tokens of thinking come first and count
        against the limit. Returns (thinking text or None, answer tokens, finish)."""
        n = faults["reasoning_tokens"]
        if n <= 0:
            return None, toks, finish
        thought = [" step%d" % i for i in range(n)]
        if isinstance(limit, int) and limit >= 0:
            if len(thought) >= limit:
                return "".join(thought[:limit]).strip(), [], "length"
            room = limit - len(thought)
            if len(toks) > room:
                toks, finish = toks[:room], "length"
        return "".join(thought).strip(), toks, finish

    def stream(self, reply, toks, finish, req):
        """Server-sent events: chat.completion.chunk objects, then [DONE]."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(obj):
            data = b"data: " + (obj if isinstance(obj, bytes) else compact(obj)) + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        base = {k: reply[k] for k in ("id", "created", "model", "system_fingerprint")}
        base["object"] = "chat.completion.chunk"
        deltas = [{"role": "assistant", "content": ""}] + [{"content": t} for t in toks]
        for d in deltas:
            event(dict(base, choices=[{"index": 0, "delta": d, "logprobs": None,
                                       "finish_reason": None}]))
        event(dict(base, choices=[{"index": 0, "delta": {}, "logprobs": None,
                                   "finish_reason": finish}]))
        if (req.get("stream_options") or {}).get("include_usage"):
            event(dict(base, choices=[], usage=reply["usage"]))
        event(b"[DONE]")
        self.leave()
        self.wfile.write(b"0\r\n\r\n")


def main():
    ap = argparse.ArgumentParser(description="fake OpenAI-compatible server for lleval's tests")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--answers", help="JSON file: {substring of the user prompt: answer}")
    ap.add_argument("--model", action="append",
                    help="a served model id (repeatable); without any, every name is accepted")
    ap.add_argument("--require-key", dest="require_key",
                    help="answer 401 unless Authorization: Bearer KEY")
    ap.add_argument("--echo-key", dest="echo_key", action="store_true",
                    help="hostile: echo the bearer key in answers, error texts, a malformed "
                    "body and headers, by turns")
    ap.add_argument("--delay-ms", dest="delay_ms", type=int, default=0)
    ap.add_argument("--error-500-every", dest="error_500_every", type=int, default=0)
    ap.add_argument("--drop-every", dest="drop_every", type=int, default=0)
    ap.add_argument("--malformed-every", dest="malformed_every", type=int, default=0)
    ap.add_argument("--invalid-utf8-every", dest="invalid_utf8_every", type=int, default=0)
    ap.add_argument("--rate-limit-every", dest="rate_limit_every", type=int, default=0,
                    help="every Nth chat request gets 429 with Retry-After")
    ap.add_argument("--retry-after", dest="retry_after", type=int, default=1)
    ap.add_argument("--not-found", dest="not_found", action="store_true")
    ap.add_argument("--oom-every", dest="oom_every", type=int, default=0)
    ap.add_argument("--reasoning-tokens", dest="reasoning_tokens", type=int, default=0)
    ap.add_argument("--think-inline", dest="think_inline", action="store_true")
    ap.add_argument("--llamacpp", action="store_true", help="also play llama-server")
    ap.add_argument("--slots", type=int, default=1, help="llama-server total_slots")
    ap.add_argument("--n-ctx", dest="n_ctx", type=int, default=2048,
                    help="llama-server context per slot")
    ap.add_argument("--loading-ms", dest="loading_ms", type=int, default=0,
                    help="llama-server: answer 503 Loading model for this long after start")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    Handler.state = State(args)
    Handler.verbose = args.verbose
    serve(Handler, args.port)


if __name__ == "__main__":
    main()
