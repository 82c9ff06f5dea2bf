#!/usr/bin/env bash
# The whole test suite. Installs what the tests need where it is missing (JDK 17 via apt on Debian/Ubuntu), then
# runs every module's tests. The tests read models and datasets from ../shared (or -Dvigil.shared=DIR); without it
# they skip visibly, and with CI=true they fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v curl >/dev/null 2>&1 || command -v wget >/dev/null 2>&1 || need+=(curl)
# The service tests start a real Mosquitto broker, and a stream camera is decoded by ffmpeg.
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
# The labelling page is tested in headless Chromium through Selenium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
# The distribution build strips other platforms' native libraries from the jars with zip.
command -v zip >/dev/null 2>&1 || need+=(zip)
command -v strace >/dev/null 2>&1 || [ -x /usr/bin/strace ] || need+=(strace)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
# The PLC tests drive the service with real clients: Debian's mbpoll (Modbus TCP) and npm's node-opcua (OPC UA).
command -v mbpoll >/dev/null 2>&1 || need+=(mbpoll)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# The Home Assistant discovery templates are rendered with Jinja2, as Home Assistant renders them.
python3 -c 'import jinja2' >/dev/null 2>&1 || /usr/bin/python3 -c 'import jinja2' >/dev/null 2>&1 \
  || need+=(python3-jinja2)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${need[@]}"
  else
    echo "please install: ${need[*]}" >&2
    exit 1
  fi
fi

# ... and the page tests run npm's axe-core in headless Chromium
if [ ! -d app/src/test/node/node_modules/node-opcua-client ] || [ ! -f app/src/test/node/node_modules/axe-core/axe.min.js ]; then
  (cd app/src/test/node && npm ci --no-audit --no-fund --loglevel=error)
fi

export OPENCV_LOG_LEVEL=ERROR
./mvnw -B -ntp verify "$@"
