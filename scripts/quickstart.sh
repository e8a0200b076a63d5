#!/usr/bin/env bash
# The README's main job: a real evaluation end to end on the sample datasets.
set -euo pipefail
lleval="${1:-build/lleval}"
cd "$(dirname "$0")/.."
"$lleval" run --config examples/quickstart-dry.yaml
