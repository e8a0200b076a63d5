"""What the kill -9 tests check after each kill and at the end: a run's journaled
custom_ids, the requests the dry engine was asked since the last look, exactly-once
journals and combined results, and predictions equal to an uninterrupted run's.
Imported by tests/cli/test_crash_resume.sh and tests/wine/test_wine_kill.sh
(sys.path gets this folder); the run directory layout is docs/formats.md's."""
import csv
import glob
import json
import os


def journaled(run_dir):
    """custom_ids of every complete journal line of the run's parts (a torn last
    line is left out: resume repairs it)."""
    ids = set()
    for path in glob.glob(run_dir + "/results/parts/*/*/*.jsonl"):
        with open(path, "rb") as f:
            for line in f.read().split(b"\n"):
                try:
                    ids.add(json.loads(line)["custom_id"])
                except Exception:
                    pass
    return ids


class AskedLog:
    """Reads the custom_ids the dry engine logged (LLEVAL_DRY_LOG) since the last read."""

    def __init__(self, path):
        self.path, self.offset = path, 0

    def since_last(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        return [l.strip() for l in data.decode().split("\n") if l.strip()]


def predictions(run):
    """The run's predictions.csv rows that must not depend on timing, sorted."""
    with open("runs/%s/results/predictions.csv" % run, newline="") as f:
        keep = ("custom_id", "status", "finish_reason", "prediction")
        return sorted(tuple(r[k] for k in keep) for r in csv.DictReader(f))


def check_exactly_once(run_dir, ref_run):
    """Fails (AssertionError) unless every journal ends whole with each custom_id
    once, and results_combined.jsonl has each custom_id once and as many as the
    reference run's."""
    for path in glob.glob(run_dir + "/results/parts/*/*/*.jsonl"):
        with open(path, "rb") as f:
            data = f.read()
        assert not data or data.endswith(b"\n"), path + " has a torn tail"
        ids = [json.loads(l)["custom_id"] for l in data.split(b"\n") if l.strip()]
        assert len(ids) == len(set(ids)), path + " has a result twice"
    ref = [json.loads(l)["custom_id"] for l in open("runs/%s/results/results_combined.jsonl" % ref_run)]
    combined = [json.loads(l)["custom_id"] for l in open(run_dir + "/results/results_combined.jsonl")]
    assert len(combined) == len(set(combined)) == len(ref), "combined results are not exactly once"
    return len(combined)
