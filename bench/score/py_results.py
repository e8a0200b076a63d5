#!/usr/bin/env python3
"""Python baseline for bench/score part 2 (not a test): scores result lines
(results JSONL, the form lleval's scheduler journals) with the official SQuAD
v1.1 functions of bench/reference/squad_v1_eval.py, as a short script would:
json.loads each line, take custom_id and the answer's content, score it
against the question's XQuAD golds (max over golds; a failed request scores
0), group by prompt type and temperature. Prints the totals as JSON.

    py_results.py XQUAD.json RESULTS.jsonl
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import squad_v1_eval  # noqa: E402


def rows(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            parts = r.get("custom_id", "").split(":")
            if len(parts) < 4:
                continue
            resp = r.get("response") or {}
            body = resp.get("body") or {}
            choices = body.get("choices") or [{}]
            content = ((choices[0] or {}).get("message") or {}).get("content")
            ok = resp.get("status_code") == 200 and r.get("error") is None and content is not None
            yield {"item_id": parts[1], "prompt_type": parts[2], "temperature": parts[3],
                   "status": "ok" if ok else "error", "prediction": content or ""}


def main():
    dataset = json.load(open(sys.argv[1], encoding="utf-8"))["data"]
    out = squad_v1_eval.evaluate_rows(dataset, rows(sys.argv[2]))
    print(json.dumps({"exact_match": out["exact_match"], "f1": out["f1"], "total": out["total"]}))


if __name__ == "__main__":
    main()
