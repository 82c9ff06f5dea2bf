#!/usr/bin/env bash
# Builds Vigil and starts the inspection service on a working default: one synthetic camera (a simulated production
# line with seeded random defects) and a demonstration model trained here on frames of that line, so the whole loop
# runs on a machine with no camera and no data. HTTP on :8080 (/health, /prometheus, /api/status); MQTT alerts go to
# tcp://127.0.0.1:1883 when a broker runs there (they wait on disk until one does).
# Usage: scripts/demo.sh [BACKBONE]  (a catalog name or an ONNX file; default ../shared/models/squeezenet1.1-fp16.onnx
# when present, else the catalog's squeezenet1.1-fp16, downloaded and verified). Ctrl-C stops the service.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v java >/dev/null 2>&1 || { echo "demo: needs Java 17+ (apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
backbone="${1:-}"
if [ -z "$backbone" ]; then
  if [ -f ../shared/models/squeezenet1.1-fp16.onnx ]; then backbone=../shared/models/squeezenet1.1-fp16.onnx
  else backbone=squeezenet1.1-fp16; fi
fi
./mvnw -q -B -ntp -DskipTests -pl app -am install && touch app/target/.vigil-built
work="${VIGIL_DEMO_DIR:-${TMPDIR:-/tmp}/vigil-demo}"
mkdir -p "$work"
if [ ! -f "$work/model/manifest.json" ]; then
  rm -rf "$work/synthetic" "$work/model"
  # the line the camera below shows (seed 42: the same casting and belt), frames it will not show for days
  ./vigil synth --out "$work/synthetic" --count 240 --size 320 --seed 42 --from 1000000
  ./vigil train --data "$work/synthetic" --backbone "$backbone" --out "$work/model" --unfreeze 0 --epochs 20
fi
cat > "$work/vigil.yml" <<YAML
schemaVersion: 2
device: { id: demo }
cameras:
  - id: line1
    source: { type: synthetic, fps: 2, width: 320, height: 320, defectRate: 0.2, seed: 42 }
  - id: station2                       # a triggered camera: one part per PLC, MQTT or HTTP trigger
    source: { type: synthetic, width: 320, height: 320, defectRate: 0.2, seed: 7 }
    trigger: triggered
plc:                                   # the PLC handshake on loopback (docs/plc.md): station2 is block 100
  modbus: { enabled: true, port: ${VIGIL_MODBUS_PORT:-5020} }
  opcua: { enabled: true, port: ${VIGIL_OPCUA_PORT:-4840} }
model: { package: $work/model }
inference: { device: auto }
mqtt: { url: tcp://127.0.0.1:1883 }
storage: { dir: $work/data }
web: { port: ${VIGIL_PORT:-8080} }
YAML
echo "demo: serving with $work/vigil.yml -> http://localhost:${VIGIL_PORT:-8080}/ (the labelling page)" >&2
echo "demo: to log in, create an account in another terminal (it counts at once, no restart):" >&2
echo "demo:   ./vigil user add --storage $work/data --role admin NAME" >&2
exec ./vigil serve --config "$work/vigil.yml"
