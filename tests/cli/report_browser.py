#!/usr/bin/env python3
"""Drives headless Chromium through chromedriver (W3C WebDriver over HTTP, the
standard library only) on a generated report: tests/cli/test_report_browser.sh
runs it.

    report_browser.py explorer REPORT.html EXPECT.json [--shots DIR]
    report_browser.py compare COMPARE.html EXPECT.json [--shots DIR]

EXPECT.json holds the numbers the page must show, worked out by the shell test
from the run's own files. Every wait polls the page for a condition with a
bound; no fixed sleeps. Prints "ok - ..." / "not ok - ..." lines and exits 1
when a check failed.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
fails = 0


def ok(cond, what, detail=""):
    global fails
    if cond:
        print("ok - " + what)
    else:
        fails += 1
        print("not ok - " + what + (": " + detail if detail else ""))


class Driver:
    def __init__(self, chromedriver, chromium, profile):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.proc = subprocess.Popen(
            [chromedriver, "--port=%d" % self.port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.call("GET", "/status")["ready"]:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromedriver did not start on port %d" % self.port)
            time.sleep(0.05)  # polling interval of the readiness check
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--user-data-dir=" + profile, "--window-size=1280,900",
                "--force-device-scale-factor=1", "--hide-scrollbars"]}}}}
        self.sid = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None, timeout=120):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s: %s" % (method, path, e.read().decode()[:500]))

    def s(self, method, path, body=None):
        return self.call(method, "/session/" + self.sid + path, body)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css, text):
        self.s("POST", "/element/%s/value" % self.find(css), {"text": text})

    def wait(self, script, what, bound=30.0):
        """Polls script (a JS expression's body returning a value) until truthy."""
        deadline = time.monotonic() + bound
        while True:
            v = self.js(script)
            if v:
                return v
            if time.monotonic() > deadline:
                raise RuntimeError("timed out after %.0fs waiting for %s" % (bound, what))
            time.sleep(0.05)  # polling interval

    def shot(self, path, css=None):
        if css:
            b64 = self.s("GET", "/element/%s/screenshot" % self.find(css))
        else:
            b64 = self.s("GET", "/screenshot")
        with open(path, "wb") as f:
            f.write(base64.b64decode(b64))

    def quit(self):
        try:
            self.s("DELETE", "")
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


COUNT = "return document.getElementById('x-count').getAttribute('data-shown');"


def select(d, sel_id, label_start):
    """Clicks the option of <select id=sel_id> whose text starts with label_start
    (as a user picks it) and returns the option's text."""
    opts = d.js("return Array.from(document.querySelectorAll('#%s option'))"
                ".map(function (o) { return o.textContent; });" % sel_id)
    for i, text in enumerate(opts):
        if text.startswith(label_start):
            d.click("#%s option:nth-child(%d)" % (sel_id, i + 1))
            return text
    raise RuntimeError("no option '%s' in #%s: %s" % (label_start, sel_id, opts))


def shown_after(d, want, what):
    """Waits until the explorer shows want items (bounded) and checks it."""
    try:
        d.wait("return document.getElementById('x-count').getAttribute('data-shown') === '%d';"
               % want, what, bound=15)
    except RuntimeError:
        pass
    got = d.js(COUNT)
    ok(got == str(want), "%s: %d shown" % (what, want), "the page shows %s" % got)


def safe(d, title, what):
    """No hostile text ran: the page's title is unchanged, no flag was set, and
    no element came from model output."""
    state = d.js("return [document.title, typeof window.pwned, "
                 "document.querySelectorAll('img, iframe, object, embed').length];")
    ok(state[0] == title, what + ": the title is unchanged", repr(state[0]))
    ok(state[1] == "undefined", what + ": window.pwned is undefined", state[1])
    ok(state[2] == 0, what + ": no element from the answers", "%s img/iframe" % state[2])


def explorer(d, page, exp, shots):
    d.s("POST", "/url", {"url": "file://" + os.path.abspath(page)})
    d.wait("return document.getElementById('explorer') && "
           "document.getElementById('explorer').getAttribute('data-ready') === '1';",
           "the explorer to be ready", bound=60)
    title = exp["title"]
    safe(d, title, "on load")
    # the page's policy refuses inline handlers even where markup got into the page
    d.js("var i = document.createElement('div'); i.id = 'csp-probe';"
         "i.innerHTML = '<img src=\"data:,x\" onerror=\"window.pwned2=1\">';"
         "document.body.appendChild(i);")
    d.wait("var i = document.querySelector('#csp-probe img'); return i && i.complete;",
           "the probe image to fail")
    ok(d.js("return typeof window.pwned2;") == "undefined",
       "the Content-Security-Policy refuses an inline event handler")
    d.js("document.getElementById('csp-probe').remove();")
    shown_after(d, exp["total"], "every item")
    ok(d.js("return document.getElementById('x-f-model').parentNode.hidden;"),
       "one model: the model filter is hidden")
    rows = d.js("return document.querySelectorAll('#x-rows tr').length;")
    ok(rows == min(exp["total"], 100), "the first page has %d rows" % min(exp["total"], 100),
       str(rows))
    if shots:
        d.js("document.getElementById('explorer').scrollIntoView();")
        d.shot(os.path.join(shots, "report-explorer.png"), "#explorer")

    # the dataset filter, then the verdict filter on top of it
    for ds, n in sorted(exp["datasets"].items()):
        text = select(d, "x-f-dataset", ds + " (")
        ok(text == "%s (%d)" % (ds, n), "the dataset option counts %s" % ds, text)
        shown_after(d, n, "dataset %s" % ds)
    ds = exp["verdict_dataset"]
    select(d, "x-f-dataset", ds + " (")
    select(d, "x-f-verdict", "right (")
    shown_after(d, exp["right_in_dataset"], "dataset %s, right answers" % ds)
    select(d, "x-f-verdict", "wrong (")
    shown_after(d, exp["wrong_in_dataset"], "dataset %s, wrong answers" % ds)
    d.click("#x-reset")
    shown_after(d, exp["total"], "reset")
    select(d, "x-f-finish", "length (")
    shown_after(d, exp["length"], "finish reason length")
    d.click("#x-reset")

    # text search: the hostile answers
    d.type("#x-q", "pwned")
    shown_after(d, exp["hostile"], "search 'pwned'")
    safe(d, title, "after the search")

    # sort by verdict: wrong answers first
    d.click("#x-reset")
    d.click("th button[data-sort='verdict']")
    first = d.js("return document.querySelector('#x-rows tr .tag').textContent;")
    ok(first == "wrong", "sorted by verdict, a wrong answer comes first", first)
    d.click("th button[data-sort='verdict']")
    first = d.js("return document.querySelector('#x-rows tr .tag').textContent;")
    ok(first == "right", "sorted again, descending: a right answer comes first", first)

    # paging
    if exp["total"] > 100:
        d.click("#x-next")
        d.wait("return document.getElementById('x-pageinfo').textContent.indexOf('page 2') >= 0;",
               "page 2")
        ok(True, "the next page")

    # the item view of a hostile answer shows it as text
    d.click("#x-reset")
    d.type("#x-q", exp["hostile_item"])
    shown_after(d, 1, "search for the hostile item's custom_id")
    d.click("#x-rows tr")
    d.wait("return !document.getElementById('x-view').hidden;", "the item view")
    answer = d.js("return document.getElementById('x-v-answer').textContent;")
    ok(answer == exp["hostile_answer"], "the item view shows the full hostile answer as text",
       repr(answer[:200]))
    golds = d.js("return Array.from(document.querySelectorAll('#x-v-golds li'))"
                 ".map(function (e) { return e.textContent; });")
    ok(golds == exp["hostile_golds"], "the item view shows the gold answers", repr(golds))
    prompt = d.js("return document.getElementById('x-v-prompt').textContent;")
    ok(exp["hostile_question"] in prompt, "the item view shows the prompt with the question",
       repr(prompt[:200]))
    extracted = d.js("return document.getElementById('x-v-extracted').textContent;")
    ok(extracted != "(not scored)", "the item view shows the extracted answer", extracted)
    safe(d, title, "with the hostile item open")
    if shots:
        d.shot(os.path.join(shots, "report-item.png"), "#x-view")


def compare(d, page, exp, shots):
    d.s("POST", "/url", {"url": "file://" + os.path.abspath(page)})
    d.wait("return document.readyState === 'complete';", "the comparison page")
    safe(d, exp["title"], "the comparison page")
    got = d.js("return [document.querySelectorAll('#a-right tbody tr').length,"
               " document.querySelectorAll('#b-right tbody tr').length];")
    ok(got == [exp["a_right"], exp["b_right"]],
       "the comparison lists %d + %d flips" % (exp["a_right"], exp["b_right"]), repr(got))
    if shots:
        d.js("document.getElementById('a-right').scrollIntoView();")
        d.shot(os.path.join(shots, "report-compare.png"))


def models(d, page, exp, shots):
    """A run of several models: the leaderboard lists each model with its
    interval, and the explorer's model filter, with the verdict filter,
    answers "which items did model A get wrong"."""
    d.s("POST", "/url", {"url": "file://" + os.path.abspath(page)})
    d.wait("return document.getElementById('explorer') && "
           "document.getElementById('explorer').getAttribute('data-ready') === '1';",
           "the explorer to be ready", bound=60)
    safe(d, exp["title"], "on load")
    rows = d.js("return Array.from(document.querySelectorAll('#leaderboard table.leaderboard "
                "tbody tr')).map(function (tr) { return Array.from(tr.cells).map("
                "function (c) { return c.textContent; }); });")
    ok([r[1] for r in rows] == exp["ranked"], "the leaderboard ranks the models",
       repr(rows))
    ok([r[4] for r in rows] == exp["cis"], "each model with its 95% interval", repr(rows))
    pairs = d.js("return document.querySelectorAll('#leaderboard table.pairs tbody tr').length;")
    ok(pairs == exp["pairs"], "one paired test per pair of models", str(pairs))
    vis = d.js("return !document.getElementById('x-f-model').parentNode.hidden;")
    ok(vis, "the explorer has a model filter")
    for m, n in sorted(exp["per_model"].items()):
        text = select(d, "x-f-model", m + " (")
        ok(text == "%s (%d)" % (m, n), "the model option counts %s" % m, text)
        shown_after(d, n, "model %s" % m)
    m = exp["wrong_model"]
    select(d, "x-f-model", m + " (")
    select(d, "x-f-verdict", "wrong (")
    shown_after(d, exp["wrong_of_model"], "model %s, wrong answers" % m)
    if shots:
        d.js("document.getElementById('leaderboard').scrollIntoView();")
        d.shot(os.path.join(shots, "report-leaderboard.png"), "#leaderboard")
        d.js("document.getElementById('explorer').scrollIntoView();")
        d.shot(os.path.join(shots, "report-models.png"), "#explorer")


def main():
    args = sys.argv[1:]
    shots = None
    if "--shots" in args:
        i = args.index("--shots")
        shots = args[i + 1]
        del args[i:i + 2]
    mode, page, expect = args
    exp = json.load(open(expect))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    profile = tempfile.mkdtemp(prefix="lleval-chromium-")
    d = None
    try:
        d = Driver(chromedriver, chromium, profile)
        d.s("POST", "/window/rect", {"width": 1280, "height": 900})
        {"explorer": explorer, "compare": compare, "models": models}[mode](d, page, exp, shots)
    finally:
        if d:
            d.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
