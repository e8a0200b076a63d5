#!/usr/bin/env python3
"""A fake Ollama server for lleval's tests (Python standard library only).

It follows Ollama's documented API (docs/api.md in ollama/ollama) field by
field for the endpoints lleval and its users touch: GET /api/tags,
POST /api/show, GET /api/ps, POST /api/chat, POST /api/generate,
GET /api/version. /api/chat and /api/generate stream NDJSON unless the
request says "stream": false, as Ollama does. Answers are deterministic.

Faults are injected from the command line or, mid-run, with
POST /__fault {"delay_ms": 0, "error_500_every": 0, "drop_every": 0,
"malformed_every": 0, "invalid_utf8_every": 0, "not_found": false};
GET /__stats returns counters (requests, max_in_flight, ...), and its
"model_log" lists every /api/chat and /api/generate request with a known
model in the order they arrived ({"path", "model", "keep_alive", "prompt":
false for a load/unload request}); POST /__reset zeroes them. See tests/fakes/README.md.

--oom-model NAME answers every generation of model NAME (not its load or
unload) with HTTP 500 and the out-of-memory text, so a run of several models
has one model out of memory and the others not.

Usage: fake_ollama.py [--port N] [--answers FILE] [--model NAME]... [--oom-model NAME]...
The first line on stdout is "PORT <n>" (with --port 0, the default, the
system picks a free port).
"""

import argparse
import datetime
import hashlib
import json
import re
import threading
import time

from fakebase import FakeHandler, serve

VERSION = "0.9.6"
OOM_TEXT = "llama runner process has terminated: cudaMalloc failed: out of memory"
DEFAULT_MODEL = "llama3.1:8b-instruct-q4_K_M"
FAULT_KEYS = {
    "delay_ms": int,
    "error_500_every": int,
    "drop_every": int,
    "malformed_every": int,
    "invalid_utf8_every": int,
    "not_found": bool,
}
GEN_NS_PER_TOKEN = 20_000_000  # 50 tokens/s
PROMPT_NS_PER_TOKEN = 2_000_000  # 500 tokens/s
LOAD_NS = 1_500_000_000  # first use of a model
WARM_LOAD_NS = 5_000_000


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def normalize(name):
    """Ollama names are case-insensitive and "name" means "name:latest"."""
    last = name.rsplit("/", 1)[-1]
    return (name if ":" in last else name + ":latest").lower()


def compact(obj):
    """JSON the way Go's encoding/json writes it: no spaces, <>& escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode("utf-8", "surrogatepass")


def tokens_of(text):
    """Deterministic "tokens": words with their leading white space."""
    return re.findall(r"\s*\S+", text)


class State:
    """Faults, counters and loaded models, shared by the handler threads."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.faults = {k: (False if t is bool else 0) for k, t in FAULT_KEYS.items()}
        for key in FAULT_KEYS:
            value = getattr(args, key)
            if value:
                self.faults[key] = value
        self.models = args.model or [DEFAULT_MODEL]
        self.gen_tps = args.gen_tps
        self.oom_models = [normalize(m) for m in args.oom_model or []]
        self.answers = []
        if args.answers:
            with open(args.answers, encoding="utf-8") as f:
                self.answers = list(json.load(f).items())
        self.loaded = {}  # normalized name -> (display name, expires_at)
        self.reset()

    def reset(self):
        self.requests = 0
        self.generate_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.by_path = {}
        self.injected = {"drop": 0, "error_500": 0, "malformed": 0, "not_found": 0,
                         "invalid_utf8": 0}
        self.last_request = None
        self.model_log = []

    def find_model(self, name):
        for m in self.models:
            if normalize(m) == normalize(name):
                return m
        return None

    def stats(self):
        return {
            "requests": self.requests,
            "generate_requests": self.generate_requests,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "by_path": dict(self.by_path),
            "faults": dict(self.faults),
            "faults_injected": dict(self.injected),
            "last_request": self.last_request,
            "model_log": list(self.model_log),
        }


def model_entry(name):
    digest = hashlib.sha256(name.encode()).hexdigest()
    return {
        "name": name,
        "model": name,
        "modified_at": "2024-09-09T12:34:56.123456789Z",
        "size": 4920753328,
        "digest": digest,
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "8.0B",
            "quantization_level": "Q4_K_M",
        },
    }


class Handler(FakeHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-ollama/" + VERSION
    name = "fake_ollama"
    json_type = "application/json; charset=utf-8"
    compact = staticmethod(compact)

    def replying(self, status):
        self.leave()

    def send_error_json(self, status, text):
        self.send_json(status, {"error": text})

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def drop(self):
        """Closes the connection without any reply."""
        self.leave()
        self.close_connection = True
        self.wfile.flush()

    # ---- dispatch -------------------------------------------------------

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_DELETE(self):
        self.dispatch("DELETE")

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

    def route(self, method, path, raw):
        routes = {
            "/": ("GET", lambda: self.send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")),
            "/api/version": ("GET", lambda: self.send_json(200, {"version": VERSION})),
            "/api/tags": ("GET", self.tags),
            "/api/ps": ("GET", self.ps),
            "/api/show": ("POST", lambda: self.show(raw)),
            "/api/chat": ("POST", lambda: self.generate(raw, chat=True)),
            "/api/generate": ("POST", lambda: self.generate(raw, chat=False)),
        }
        if path not in routes:
            return self.send_bytes(404, b"404 page not found", "text/plain")
        want, fn = routes[path]
        if method == "HEAD" and want == "GET" and path == "/":
            return self.send_bytes(200, b"", "text/plain; charset=utf-8")
        if method != want:
            return self.send_bytes(405, b"405 method not allowed", "text/plain")
        return fn()

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
                            return self.send_error_json(400, "unknown fault %r" % key)
                        st.faults[key] = FAULT_KEYS[key](value or 0)
                    return self.send_json(200, dict(st.faults))
            except (ValueError, TypeError) as exc:
                return self.send_error_json(400, "bad fault request: %s" % exc)
        return self.send_bytes(404, b"404 page not found", "text/plain")

    # ---- endpoints ------------------------------------------------------

    def tags(self):
        self.send_json(200, {"models": [model_entry(m) for m in self.state.models]})

    def ps(self):
        st = self.state
        models = []
        with st.lock:
            for name, expires in st.loaded.values():
                entry = model_entry(name)
                del entry["modified_at"]
                entry["expires_at"] = expires
                entry["size_vram"] = entry["size"]
                entry["context_length"] = 4096
                models.append(entry)
        self.send_json(200, {"models": models})

    def load_request(self, raw):
        try:
            req = json.loads(raw or b"")
        except ValueError:
            self.send_error_json(400, "invalid character looking for beginning of value")
            return None
        if not isinstance(req, dict):
            self.send_error_json(400, "json: cannot unmarshal into Go value of type api.ChatRequest")
            return None
        return req

    def show(self, raw):
        req = self.load_request(raw)
        if req is None:
            return
        name = req.get("model") or req.get("name") or ""
        found = self.state.find_model(name)
        if not found:
            return self.send_error_json(404, "model '%s' not found" % name)
        entry = model_entry(found)
        self.send_json(200, {
            "modelfile": "# Modelfile generated by \"ollama show\"\nFROM %s\n" % found,
            "parameters": "stop                           \"<|eot_id|>\"",
            "template": "{{ .Prompt }}",
            "details": entry["details"],
            "model_info": {
                "general.architecture": "llama",
                "general.file_type": 15,
                "general.parameter_count": 8030261248,
                "llama.block_count": 32,
                "llama.context_length": 131072,
                "llama.embedding_length": 4096,
                "llama.attention.head_count": 32,
                "llama.attention.head_count_kv": 8,
            },
            "capabilities": ["completion"],
            "modified_at": entry["modified_at"],
        })

    def gen_ns_per_token(self):
        tps = self.state.gen_tps
        return int(1e9 / tps) if tps and tps > 0 else GEN_NS_PER_TOKEN

    def answer_for(self, prompt):
        for key, answer in self.state.answers:
            if key in prompt:
                return answer
        words = prompt.split()
        return "echo: " + " ".join(words[:6])

    def mark_loaded(self, name, keep_alive):
        """Returns the load duration: long on first use, short once loaded."""
        st = self.state
        seconds = 300
        if isinstance(keep_alive, (int, float)):
            seconds = keep_alive
        elif isinstance(keep_alive, str) and re.fullmatch(r"\d+[smh]", keep_alive):
            seconds = int(keep_alive[:-1]) * {"s": 1, "m": 60, "h": 3600}[keep_alive[-1]]
        expires = (datetime.datetime.now(datetime.timezone.utc)
                   + datetime.timedelta(seconds=max(seconds, 0))).isoformat().replace("+00:00", "Z")
        with st.lock:
            cold = normalize(name) not in st.loaded
            if seconds == 0:
                st.loaded.pop(normalize(name), None)
            else:
                st.loaded[normalize(name)] = (name, expires)
        return LOAD_NS if cold else WARM_LOAD_NS

    def generate(self, raw, chat):
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

        if every("drop_every"):
            with st.lock:
                st.injected["drop"] += 1
            return self.drop()
        req = self.load_request(raw)
        if req is None:
            return
        with st.lock:
            st.last_request = req
        name = req.get("model") or ""
        if not name:
            return self.send_error_json(400, "model is required")
        if every("error_500_every"):
            with st.lock:
                st.injected["error_500"] += 1
            return self.send_error_json(500, OOM_TEXT)
        if faults["not_found"] or not st.find_model(name):
            if faults["not_found"]:
                with st.lock:
                    st.injected["not_found"] += 1
            return self.send_error_json(404, 'model "%s" not found, try pulling it first' % name)

        options = req.get("options") or {}
        if chat:
            messages = req.get("messages") or []
            if not isinstance(messages, list):
                return self.send_error_json(400, "json: cannot unmarshal messages")
            user = [m.get("content") or "" for m in messages
                    if isinstance(m, dict) and m.get("role") == "user"]
            prompt = user[-1] if user else ""
            all_text = " ".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
            empty = not messages
        else:
            prompt = req.get("prompt") or ""
            all_text = (req.get("system") or "") + " " + prompt
            empty = not prompt
        keep_alive = req.get("keep_alive")
        with st.lock:
            st.model_log.append({"path": "/api/chat" if chat else "/api/generate", "model": name,
                                 "keep_alive": keep_alive, "prompt": not empty})
        load_ns = self.mark_loaded(st.find_model(name), keep_alive)

        if empty:  # load or unload the model
            reason = "unload" if keep_alive in (0, "0", "0s") else "load"
            obj = {"model": name, "created_at": now_rfc3339(), "done_reason": reason, "done": True}
            if chat:
                obj["message"] = {"role": "assistant", "content": ""}
            else:
                obj["response"] = ""
            return self.send_json(200, obj)

        if normalize(name) in st.oom_models:
            with st.lock:
                st.injected["error_500"] += 1
            return self.send_error_json(500, OOM_TEXT)
        answer = self.answer_for(prompt)
        done_reason = "stop"
        stops = options.get("stop") or []
        if isinstance(stops, str):
            stops = [stops]
        cut = [answer.find(s) for s in stops if isinstance(s, str) and s and s in answer]
        if cut:
            answer = answer[:min(cut)]
        toks = tokens_of(answer)
        num_predict = options.get("num_predict")
        if isinstance(num_predict, int) and num_predict >= 0 and len(toks) > num_predict:
            toks = toks[:num_predict]
            done_reason = "length"
        num_ctx = options.get("num_ctx") if isinstance(options.get("num_ctx"), int) else 2048
        prompt_count = min(len(tokens_of(all_text)) + 4 * (all_text.count("\n") + 1), num_ctx)
        eval_count = len(toks)
        stats = {
            "total_duration": load_ns + prompt_count * PROMPT_NS_PER_TOKEN
            + eval_count * self.gen_ns_per_token() + faults["delay_ms"] * 1_000_000,
            "load_duration": load_ns,
            "prompt_eval_count": prompt_count,
            "prompt_eval_duration": prompt_count * PROMPT_NS_PER_TOKEN,
            "eval_count": eval_count,
            "eval_duration": eval_count * self.gen_ns_per_token(),
        }
        text = "".join(toks)
        bad_utf8 = every("invalid_utf8_every")
        if bad_utf8:
            with st.lock:
                st.injected["invalid_utf8"] += 1
        malformed = every("malformed_every")
        if malformed:
            with st.lock:
                st.injected["malformed"] += 1

        def body_of(content, final):
            obj = {"model": name, "created_at": now_rfc3339()}
            if chat:
                obj["message"] = {"role": "assistant", "content": content}
            else:
                obj["response"] = content
            obj["done"] = final
            if final:
                obj["done_reason"] = done_reason
                if not chat:
                    obj["context"] = [(sum(map(ord, t)) % 32000) for t in toks][:64]
                obj.update(stats)
            data = compact(obj)
            if bad_utf8 and content:
                key = b'"content":"' if chat else b'"response":"'
                data = data.replace(key, key + b"\xff\xfe", 1)
            if malformed:
                data = data[: max(1, len(data) // 2)]
            return data

        if req.get("stream", True) is False:
            return self.send_bytes(200, body_of(text, True))
        # streaming: one NDJSON object per token, then the final one with the statistics
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for t in toks:
            self.send_chunk(body_of(t, False) + b"\n")
        self.send_chunk(body_of("", True) + b"\n")
        self.leave()
        self.wfile.write(b"0\r\n\r\n")


def main():
    ap = argparse.ArgumentParser(description="fake Ollama server for lleval's tests")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--answers", help="JSON file: {substring of the user prompt: answer}")
    ap.add_argument("--model", action="append",
                    help="a pulled model (repeatable; default %s)" % DEFAULT_MODEL)
    ap.add_argument("--delay-ms", dest="delay_ms", type=int, default=0)
    ap.add_argument("--error-500-every", dest="error_500_every", type=int, default=0,
                    help="every Nth generation request gets HTTP 500 with the OOM text")
    ap.add_argument("--drop-every", dest="drop_every", type=int, default=0,
                    help="every Nth generation request: close the connection, no reply")
    ap.add_argument("--malformed-every", dest="malformed_every", type=int, default=0,
                    help="every Nth generation request: HTTP 200 with truncated JSON")
    ap.add_argument("--invalid-utf8-every", dest="invalid_utf8_every", type=int, default=0,
                    help="every Nth answer carries raw invalid UTF-8 bytes")
    ap.add_argument("--not-found", dest="not_found", action="store_true",
                    help="every generation request gets 404 model not found")
    ap.add_argument("--oom-model", dest="oom_model", action="append",
                    help="every generation of this model gets HTTP 500 with the OOM text "
                    "(repeatable)")
    ap.add_argument("--gen-tps", dest="gen_tps", type=float, default=0,
                    help="generation speed to report in eval_duration (default 50 tokens/s)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    Handler.state = State(args)
    Handler.verbose = args.verbose
    serve(Handler, args.port)


if __name__ == "__main__":
    main()
