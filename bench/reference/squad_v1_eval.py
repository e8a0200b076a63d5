#!/usr/bin/env python3
"""Reference SQuAD v1.1 evaluation, written for lleval from the published definition.

The official v1.1 script (Rajpurkar et al., 2016) normalizes an answer by
lower-casing it, deleting string.punctuation, replacing the whole words
a/an/the with a space and collapsing whitespace; exact match compares the
normalized strings, F1 is the bag-of-tokens overlap, both take the maximum
over the gold answers, a question without a prediction scores 0 and still
counts, and the totals are percentages.

Used by lleval's end-to-end test and benchmark to check `lleval score` against
the official numbers; standard library only.

    squad_v1_eval.py DATASET.json PREDICTIONS.json        -> {"exact_match": .., "f1": ..}
    squad_v1_eval.py DATASET.json --pred-csv FILE         many predictions per question
    squad_v1_eval.py --nfd ...                            NQ-open variant (NFD first)
    squad_v1_eval.py --check-tsv FILE [--nfd]             check lleval's metric fixtures
"""
import argparse
import csv
import json
import re
import string
import sys
import unicodedata
from collections import Counter

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s, nfd=False):
    """Lower text and remove punctuation, articles and extra whitespace."""
    if nfd:
        s = unicodedata.normalize("NFD", s)
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def f1_score(prediction, ground_truth, nfd=False):
    prediction_tokens = normalize_answer(prediction, nfd).split()
    ground_truth_tokens = normalize_answer(ground_truth, nfd).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction, ground_truth, nfd=False):
    return normalize_answer(prediction, nfd) == normalize_answer(ground_truth, nfd)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths, nfd=False):
    return max(metric_fn(prediction, gt, nfd) for gt in ground_truths)


def evaluate(dataset, predictions, nfd=False):
    f1 = exact_match = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    print("Unanswered question " + qa["id"] + " will receive score 0.",
                          file=sys.stderr)
                    continue
                ground_truths = [a["text"] for a in qa["answers"]]
                prediction = predictions[qa["id"]]
                exact_match += metric_max_over_ground_truths(
                    exact_match_score, prediction, ground_truths, nfd)
                f1 += metric_max_over_ground_truths(f1_score, prediction, ground_truths, nfd)
    exact_match = 100.0 * exact_match / total
    f1 = 100.0 * f1 / total
    return {"exact_match": exact_match, "f1": f1}


def evaluate_rows(dataset, rows, nfd=False):
    """Scores every (question id, prediction) pair with the official functions.

    The many-predictions form (a predictions.csv with samples s0, s1, ... of
    each question): each row is one pair, scored like one prediction of the
    official loop (max over the question's golds); a row with status "error"
    scores 0. Rows are grouped as lleval groups them (prompt_type x
    temperature); totals are percentages over the rows."""
    golds = {}
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                golds.setdefault(qa["id"], [a["text"] for a in qa["answers"]])
    groups = {}
    unknown = 0
    for row in rows:
        ground_truths = golds.get(row["item_id"])
        if ground_truths is None:
            unknown += 1
            continue
        key = (row.get("prompt_type", ""), row.get("temperature", ""))
        g = groups.setdefault(key, [0, 0, 0])
        g[2] += 1
        if row.get("status", "ok") == "error":
            continue
        prediction = row["prediction"]
        g[0] += metric_max_over_ground_truths(exact_match_score, prediction, ground_truths, nfd)
        g[1] += metric_max_over_ground_truths(f1_score, prediction, ground_truths, nfd)
    out = {"groups": [], "unknown": unknown}
    em = f1 = total = 0
    for (prompt, temp), (g_em, g_f1, n) in groups.items():
        out["groups"].append({"prompt_type": prompt, "temperature": temp, "n": n,
                              "exact_match": 100.0 * g_em / n, "f1": 100.0 * g_f1 / n})
        em, f1, total = em + g_em, f1 + g_f1, total + n
    out["exact_match"] = 100.0 * em / total if total else 0.0
    out["f1"] = 100.0 * f1 / total if total else 0.0
    out["total"] = total
    return out


def _unescape(field):
    out, i = [], 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            n = field[i + 1]
            if n == "u" and i + 6 <= len(field):
                out.append(chr(int(field[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "|": "\x00"}.get(n, "\\" + n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def check_tsv(path, nfd):
    """Checks lleval's data-driven metric cases: prediction, golds, EM, F1 [, contains]."""
    bad = 0
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            pred = _unescape(cols[0]).replace("\x00", "|")
            golds = [g.replace("\x00", "|") for g in _unescape(cols[1]).split("|")]
            em = float(metric_max_over_ground_truths(exact_match_score, pred, golds, nfd))
            f1 = float(metric_max_over_ground_truths(f1_score, pred, golds, nfd))
            if abs(em - float(cols[2])) > 1e-9 or abs(f1 - float(cols[3])) > 1e-6:
                print("%s:%d: expected EM %s F1 %s, the reference says EM %r F1 %r"
                      % (path, lineno, cols[2], cols[3], em, f1))
                bad += 1
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset_file", nargs="?")
    ap.add_argument("prediction_file", nargs="?")
    ap.add_argument("--pred-csv", metavar="FILE",
                    help="score every row of a predictions.csv (columns item_id, prediction, "
                         "status, prompt_type, temperature)")
    ap.add_argument("--nfd", action="store_true", help="NQ-open normalization (NFD first)")
    ap.add_argument("--check-tsv", action="append", default=[], metavar="FILE")
    args = ap.parse_args()
    if args.check_tsv:
        bad = sum(check_tsv(p, args.nfd) for p in args.check_tsv)
        sys.exit(1 if bad else 0)
    if args.pred_csv:
        if not args.dataset_file or args.prediction_file:
            ap.error("--pred-csv takes DATASET.json only")
        with open(args.dataset_file, encoding="utf-8") as f:
            dataset = json.load(f)["data"]
        with open(args.pred_csv, encoding="utf-8", newline="") as f:
            print(json.dumps(evaluate_rows(dataset, csv.DictReader(f), args.nfd)))
        return
    if not args.dataset_file or not args.prediction_file:
        ap.error("DATASET.json and PREDICTIONS.json are required")
    with open(args.dataset_file, encoding="utf-8") as f:
        dataset = json.load(f)["data"]
    with open(args.prediction_file, encoding="utf-8") as f:
        predictions = json.load(f)
    print(json.dumps(evaluate(dataset, predictions, args.nfd)))


if __name__ == "__main__":
    main()
