#!/usr/bin/env bash
# End-to-end tests of `lleval config show`: origins of every layer (default,
# preset, file:line:col, flags), --json, errors with their place and exit 2,
# help, the resolved YAML loading back to the same config, and no secrets.
source "$(dirname "$0")/lib.sh"

cat >eval.yaml <<'YAML'
# a config for the tests
preset: throughput
model_id: "llama3.1:8b-instruct-q6_K"
temps: [0.0, 0.7]
max_new_tokens:
  open_book: 2048
api_key_env: LLEVAL_TEST_SECRET
datasets:
  - name: nq_open
    format: nq_open
    path: ../shared/datasets/nq_open/NQ-open.dev.jsonl
YAML

export LLEVAL_TEST_SECRET=sk-do-not-print-0123456789

expect_exit 0 "config show with a file, a flag and --set" -- \
    "$LLEVAL" config show --config eval.yaml --max_concurrent_jobs 3 --set top_k=20
cp out.txt show.txt
expect_grep '^model_id: "llama3.1:8b-instruct-q6_K" *# eval.yaml:3:11; wins over preset throughput (the config file applies over its preset)$' show.txt "file value with file:line:col, over the file's preset"
expect_grep '^context_length: 8192 *# preset throughput$' show.txt "preset value"
expect_grep '^preset: throughput *# eval.yaml:2:9$' show.txt "preset key from the file"
expect_grep '^  open_book: 2048 *# eval.yaml:6:14; wins over preset throughput' show.txt "nested file value"
expect_grep '^  multiple_choice: 16 *# default$' show.txt "default value"
expect_grep '^max_concurrent_jobs: 3 *# --max-concurrent-jobs; wins over preset throughput (command-line flags apply over the config file and presets)$' show.txt "flag value (underscore spelling)"
expect_grep '^top_k: 20 *# --set$' show.txt "--set value"
expect_grep '^temps: \[0.0, 0.7\]' show.txt "temps list"
expect_grep '^    path: "*../shared/datasets/nq_open/NQ-open.dev.jsonl"* *# eval.yaml:11:11$' show.txt \
    "dataset path kept as written"
if grep -q "$LLEVAL_TEST_SECRET" show.txt; then not_ok "the API key leaked into config show"; else
    ok "the API key is not printed"
fi
# every value line carries an aligned comment: the '#' columns of short lines agree
cols=$(grep -E '^[a-z_]+: [^ ]{1,20} +# ' show.txt | awk '{print index($0, "  # ")}' | sort -u | wc -l)
if [ "$cols" -eq 1 ]; then ok "origin comments are aligned"; else not_ok "origin comments in $cols columns"; fi

expect_exit 0 "--preset wins over the file's preset key" -- \
    "$LLEVAL" config show -c eval.yaml --preset stretch
expect_grep '^context_length: 4096 *# preset stretch$' out.txt "stretch context"
expect_grep '^model_id: "llama3.1:13b-instruct-q4_K_M" *# preset stretch; wins over eval.yaml:3:11 (--preset applies over the config file)$' out.txt "--preset beats the file's model_id, and says why"
expect_grep "^preset: stretch *# --preset; wins over eval.yaml:2:9: 'preset: throughput', not applied" out.txt "the file's preset key is shown as replaced"

# the issue's command: the example's own 8B model and 1024 open-book tokens lose to --preset
expect_exit 0 "config show of the example with --preset stretch" -- \
    "$LLEVAL" config show --config examples/eval_config.yaml --preset stretch
expect_grep '^model_id: "llama3.1:13b-instruct-q4_K_M" *# preset stretch; wins over examples/eval_config.yaml:' \
    out.txt "the example with --preset stretch: the 13B model"
expect_grep '^  open_book: 512 *# preset stretch; wins over examples/eval_config.yaml:' out.txt \
    "the example with --preset stretch: 512 open-book tokens"
write_sample_config preset.yaml
printf 'max_new_tokens: {closed_book: 700, open_book: 1024}\n' >>preset.yaml
expect_exit 0 "a dry run with --preset stretch" -- \
    "$LLEVAL" run --config preset.yaml --preset stretch --run-id preset_run -q
expect_grep '^model_id: "llama3.1:13b-instruct-q4_K_M"$' runs/preset_run/config.resolved.yaml \
    "the run used the preset's model"
expect_grep '^  open_book: 512$' runs/preset_run/config.resolved.yaml \
    "the run used the preset's open-book tokens"

expect_exit 0 "config show --json" -- "$LLEVAL" config show -c eval.yaml --json --model m1
if python3 -m json.tool out.txt >/dev/null; then ok "--json output parses"; else not_ok "--json is not JSON"; fi
if python3 - out.txt <<'PY'; then ok "--json has config and origin"; else not_ok "--json content"; fi
import json, sys
d = json.load(open(sys.argv[1]))
assert d["config"]["model_id"] == "m1", d["config"]["model_id"]
assert d["config"]["max_new_tokens"]["open_book"] == 2048
assert d["config"]["temps"] == [0.0, 0.7]
assert d["origin"]["model_id"] == "--model"
assert d["origin"]["max_new_tokens.open_book"] == "eval.yaml:6:14"
assert d["origin"]["context_length"] == "preset throughput"
assert d["origin"]["top_p"] == "default"
assert d["origin"]["datasets[0].path"] == "eval.yaml:11:11"
PY

# the YAML without comments is what a run saves; it loads back to the same config
expect_exit 0 "config show --no-origin" -- "$LLEVAL" config show -c eval.yaml --set stop='["\n\nQ:", "a: b"]' --no-origin
cp out.txt resolved.yaml
expect_exit 0 "the resolved YAML loads back" -- "$LLEVAL" config show -c resolved.yaml --no-origin
if cmp -s resolved.yaml out.txt; then ok "round trip gives the same config"; else
    not_ok "round trip differs"
    diff resolved.yaml out.txt | head -20
fi
if python3 -c 'import yaml' 2>/dev/null; then
    if python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d["stop"] == ["\n\nQ:", "a: b"], d["stop"]; assert d["top_p"] == 1.0' resolved.yaml; then
        ok "another YAML reader agrees"
    else not_ok "PyYAML reads the resolved YAML differently"; fi
fi

# errors: exit 2, with the place and the fix
printf 'model_id: x\nmax_new_token: 5\n' >bad.yaml
expect_exit 2 "unknown key" -- "$LLEVAL" config show -c bad.yaml
expect_grep "bad.yaml:2:1: unknown key 'max_new_token'; did you mean 'max_new_tokens'?" err.txt "unknown key names the place"
printf 'top_p: 3\n' >bad.yaml
expect_exit 2 "out of range" -- "$LLEVAL" config show -c bad.yaml
expect_grep "bad.yaml:1:8: 'top_p' must be from 0 to 1" err.txt "range error names the place"
printf 'model_id: [unclosed\n' >bad.yaml
expect_exit 2 "YAML syntax error" -- "$LLEVAL" config show -c bad.yaml
expect_grep "bad.yaml:2:1: invalid YAML" err.txt "syntax error names the place"
expect_exit 2 "missing config file" -- "$LLEVAL" config show -c nope.yaml
expect_grep "nope.yaml" err.txt "missing file is named"
expect_exit 2 "unknown preset" -- "$LLEVAL" config show --preset turbo
expect_grep "throughput, quality, stretch, conservative" err.txt "presets are listed"
expect_exit 2 "bad --set" -- "$LLEVAL" config show --set max_concurrent_jobs=0
expect_grep "\-\-set: 'max_concurrent_jobs' must be from 1 to 256" err.txt "--set error names the flag"
: >empty.yaml
expect_exit 0 "an empty file is fine" -- "$LLEVAL" config show -c empty.yaml

# every problem at once, each on its own line with its place
printf 'top_k: -5\nmodel_idd: x\ntemps: [9]\npreset: turbo\n' >bad.yaml
expect_exit 2 "a file with four problems" -- "$LLEVAL" config show -c bad.yaml
expect_grep "^lleval: error: bad.yaml:1:8: 'top_k' must be from 0" err.txt "first problem listed"
expect_grep "^lleval: error: bad.yaml:2:1: unknown key 'model_idd'" err.txt "second problem listed"
expect_grep "^lleval: error: bad.yaml:3:9: 'temps\[0\]' must be from 0 to 2" err.txt "third problem listed"
expect_grep "^lleval: error: bad.yaml:4:9: unknown preset 'turbo'" err.txt "fourth problem listed"
expect_grep "^lleval: error: 4 problems in the configuration" err.txt "the problems are counted"
printf 'temps: [0.5, 0.5]\ncontext_length: 300\n' >bad.yaml
expect_exit 2 "cross-field problems" -- "$LLEVAL" config show -c bad.yaml
expect_grep "^lleval: error: bad.yaml:1:8: 'temps' lists 0.5 twice" err.txt "temps problem listed"
expect_grep "^lleval: error: bad.yaml:2:17: 'max_new_tokens.open_book' (1024) leaves no room" err.txt \
    "context problem listed too"

# a dataset path that does not exist: its name, file:line:col, the directory; no run left behind
mkdir -p cfgdir
cat >cfgdir/ds.yaml <<'YAML'
engine: dry
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - name: gone
    format: nq_open
    path: data/missing.jsonl
  - {name: gone_too, format: mmlu, path: data/mmlu_missing}
YAML
expect_exit 2 "run with missing dataset paths" -- "$LLEVAL" run --config cfgdir/ds.yaml --set paths.runs_dir=r1
expect_grep "cfgdir/ds.yaml:6:11: dataset 'gone': path 'data/missing.jsonl' does not exist (resolved against '$PWD'" \
    err.txt "the missing dataset is named with its place and directory"
expect_grep "cfgdir/ds.yaml:7:42: dataset 'gone_too'" err.txt "every missing dataset is listed"
if [ -e r1 ] && [ -n "$(ls -A r1)" ]; then not_ok "a run was left behind: $(ls r1)"; else
    ok "no run is left behind by a missing dataset"
fi
expect_exit 2 "prepare with missing dataset paths" -- "$LLEVAL" prepare --config cfgdir/ds.yaml
expect_grep "dataset 'gone': path 'data/missing.jsonl' does not exist" err.txt "prepare names it too"
# a run that fails before its first request (a dataset that is not JSON) keeps no empty run
printf 'engine: dry\ndatasets: [{name: broken, format: nq_open, path: broken.jsonl}]\npaths: {runs_dir: r2}\n' >broken.yaml
echo 'not json' >broken.jsonl
expect_exit 2 "a run whose dataset is broken" -- "$LLEVAL" run --config broken.yaml
expect_grep "failed before its first request and was not kept" err.txt "the error says no run was kept"
if [ -n "$(ls -A r2 2>/dev/null)" ]; then not_ok "an empty failed run was left behind: $(ls r2)"; else
    ok "no empty failed run is left behind"
fi
expect_exit 0 "runs list after it" -- "$LLEVAL" runs --runs-dir r2 list
if grep -q failed out.txt; then not_ok "runs list shows a failed 0/0 run"; else ok "runs list shows no failed run"; fi

# help and subcommands
expect_exit 0 "config show --help" -- "$LLEVAL" config show --help
expect_grep "\-\-preset NAME" out.txt "help lists --preset"
expect_exit 0 "config --help" -- "$LLEVAL" config --help
expect_grep "throughput" out.txt "help lists the presets"
expect_exit 2 "config without a subcommand" -- "$LLEVAL" config
expect_exit 2 "unknown subcommand" -- "$LLEVAL" config shwo
expect_grep "did you mean 'config show'" err.txt "subcommand suggestion"

# the guide's Windows spelling of a config path (config\eval_config.yaml) works outside Windows too
expect_exit 0 "--config with the guide's backslash path" -- "$LLEVAL" config show --config 'examples\eval_config.yaml'
expect_grep '^model_id: .* # examples/eval_config.yaml:' out.txt "the backslash path was read as examples/eval_config.yaml"
expect_exit 2 "a backslash path that exists in neither spelling" -- "$LLEVAL" config show --config 'examples\nope.yaml'

# the shipped configs are valid
if [ -f "$LLEVAL_SOURCE_DIR/config/eval_config.yaml" ]; then
    expect_exit 0 "config/eval_config.yaml is valid" -- "$LLEVAL" config show -c "$LLEVAL_SOURCE_DIR/config/eval_config.yaml"
fi
# the shipped example config is valid
if [ -f examples/eval_config.yaml ]; then
    expect_exit 0 "examples/eval_config.yaml is valid" -- "$LLEVAL" config show -c examples/eval_config.yaml
fi

finish
