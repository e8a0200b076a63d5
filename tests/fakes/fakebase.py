"""The plumbing the fake servers of tests/fakes share (not a test).

Each fake (fake_openai.py, fake_ollama.py, fake_openai_batch.py,
fake_fireworks.py) plays one provider's published API; what they have in
common is here: reading a request body (Content-Length or chunked), sending a
reply with its length, the provider's own JSON encoding (each fake sets
`compact`), verbose request logs, and serving on a loopback port that is
printed as `PORT <n>` for the test that started the fake.
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeHandler(BaseHTTPRequestHandler):
    """A request handler with the shared plumbing. Subclasses set `name` (the
    prefix of verbose logs), `compact` (obj -> bytes: the provider's JSON),
    `json_type` (its Content-Type for JSON) and may override `replying`."""
    name = "fake"
    state = None  # set by the fake's main()
    verbose = False
    json_type = "application/json"

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("%s: %s\n" % (self.name, fmt % args))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def replying(self, status):
        """Called just before a reply of this status goes out (counters, logs)."""

    def send_bytes(self, status, data, ctype=None, extra=None):
        self.replying(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype or self.json_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status, obj, extra=None):
        self.send_bytes(status, self.compact(obj), extra=extra)


def serve(handler, port):
    """Serves handler on 127.0.0.1:port (0: any free port) until interrupted;
    prints `PORT <n>` first."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
