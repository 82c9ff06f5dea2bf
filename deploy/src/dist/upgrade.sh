#!/usr/bin/env bash
# Upgrades an installed Vigil to this release, and goes back by itself if the new one is not healthy.
#
#   sudo ./upgrade.sh [--root DIR] [--health-seconds N] [--restart-cmd CMD] [--health-url URL]
#
# 1. installs this release beside the running one (/opt/vigil/releases/<version>);
# 2. migrates /etc/vigil/vigil.yml with the new release (a backup vigil.yml.v<N>.bak is kept when it changes);
# 3. switches /opt/vigil/current atomically (previous -> the old release) and restarts the service;
# 4. waits up to --health-seconds (default 120) for /health/liveness to answer UP and for the new process to say, in
#    /var/lib/vigil/service.json, that its model did not fail to load;
# 5. if it does not, switches current back, restores the configuration from before the upgrade, restarts the old
#    release and exits 1. Samples, labels, models and the registry are in /var/lib/vigil and are not touched.
# --restart-cmd (default: systemctl restart vigil.service) and --health-url (default: the port in service.json) serve devices
# without systemd and tests.
set -euo pipefail
src="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
root=/; wait_s=120; restart_cmd="systemctl restart vigil.service"; health_url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --health-seconds) wait_s="$2"; shift 2 ;;
    --restart-cmd) restart_cmd="$2"; shift 2 ;;
    --health-url) health_url="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "upgrade.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
root="$(cd "$root" && pwd)"
r() { if [ "$root" = / ]; then echo "$1"; else echo "$root$1"; fi; }
say() { echo "upgrade: $*"; }
version="$(cat "$src/VERSION")"
old="$(readlink "$(r /opt/vigil/current)" 2>/dev/null || true)"
[ -n "$old" ] || { echo "upgrade.sh: no installed Vigil under $root (use install.sh)" >&2; exit 1; }
if [ "$old" = "releases/$version" ]; then
  say "Vigil $version is already the current release"; exit 0
fi
conf="$(r /etc/vigil/vigil.yml)"
saved="$conf.before-$version"
cp -p "$conf" "$saved"

# 1-3: the new release in place (install.sh is idempotent and keeps configuration, data and accounts)
"$src/install.sh" --root "$root" --no-start >/dev/null
new_bin="$(r /opt/vigil/releases)/$version/bin/vigil"
HOME="$(r /var/lib/vigil)" "$new_bin" config migrate "$conf" || {
  echo "upgrade.sh: the new release cannot read $conf; staying on $old" >&2
  ln -sfn "$old" "$(r /opt/vigil/current).new" && mv -Tf "$(r /opt/vigil/current).new" "$(r /opt/vigil/current)"
  exit 1
}
say "switched to $version (previous: $old); restarting"
state_file="$(r /var/lib/vigil)/service.json"
rm -f "$state_file" # the new process writes its own
eval "$restart_cmd"

# 4: health
model_loaded() { # the new process's service.json: its configured model did not fail to load (an empty inbox is fine)
  [ -f "$state_file" ] && grep -q '"modelError" *: *null' "$state_file"
}
deadline=$((SECONDS + wait_s))
while [ $SECONDS -lt $deadline ]; do
  if [ -z "$health_url" ] && [ -f "$state_file" ]; then
    port="$(grep -oE '"port" *: *[0-9]+' "$state_file" | grep -oE '[0-9]+$' || true)"
    [ -n "$port" ] && health_url="http://127.0.0.1:$port/health/liveness"
  fi
  if [ -n "$health_url" ] && curl -fsS -m 5 "$health_url" 2>/dev/null | grep -q '"status" *: *"UP"' \
      && model_loaded; then
    say "Vigil $version is healthy ($health_url)"
    rm -f "$saved"
    exit 0
  fi
  sleep 2
done

# 5: back
echo "upgrade: Vigil $version did not become healthy within ${wait_s}s (${health_url:-no service.json}$(model_loaded \
  || echo ", model not loaded")); going back to $old" >&2
ln -sfn "$old" "$(r /opt/vigil/current).new" && mv -Tf "$(r /opt/vigil/current).new" "$(r /opt/vigil/current)"
ln -sfn "releases/$version" "$(r /opt/vigil/failed)"
cp -p "$saved" "$conf"
eval "$restart_cmd"
echo "upgrade: back on $old; the failed release stays in /opt/vigil/releases/$version (journalctl -u vigil)" >&2
exit 1
