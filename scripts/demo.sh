#!/usr/bin/env bash
# Builds Vigil and trains a defect classifier on a small example: 50 good and 50 defective casting images,
# measured on the held-out test split. Usage: scripts/demo.sh [SHARED_DIR] (default ../shared).
# Until the inspection service lands (issue 3), this is the "build and run" command of the README.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${1:-../shared}"
data="$shared/datasets/casting-impellers"
backbone="$shared/models/squeezenet1.1-fp16.onnx"
[ -d "$data" ] && [ -f "$backbone" ] || { echo "demo: needs $data and $backbone (pass the shared folder as the first argument)" >&2; exit 1; }
command -v java >/dev/null 2>&1 || { echo "demo: needs Java 17+ (apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
./mvnw -q -B -ntp -DskipTests package
work="${TMPDIR:-/tmp}/vigil-demo"
rm -rf "$work" && mkdir -p "$work/train/ok" "$work/train/defective"
for c in ok defective; do
  ls "$data/train/$c" | sort | head -50 | while read -r f; do ln -s "$(cd "$data/train/$c" && pwd)/$f" "$work/train/$c/$f"; done
done
./vigil train --data "$work/train" --backbone "$backbone" --out "$work/model" --unfreeze 1
./vigil evaluate --model "$work/model" --data "$data/test" --json "$work/evaluation.json"
echo "model package: $work/model   evaluation: $work/evaluation.json"
