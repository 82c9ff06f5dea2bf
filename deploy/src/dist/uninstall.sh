#!/usr/bin/env bash
# Removes Vigil's program files and units. Keeps /etc/vigil and /var/lib/vigil (configuration, samples, models,
# accounts) unless --purge is given.   sudo ./uninstall.sh [--root DIR] [--purge]
set -euo pipefail
root=/; purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --purge) purge=1; shift ;;
    *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
root="$(cd "$root" && pwd)"
r() { if [ "$root" = / ]; then echo "$1"; else echo "$root$1"; fi; }
if [ "$root" = / ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now vigil-health.timer vigil.service >/dev/null 2>&1 || true
fi
rm -f "$(r /etc/systemd/system/vigil.service)" "$(r /etc/systemd/system/vigil-health.service)" \
  "$(r /etc/systemd/system/vigil-health.timer)" "$(r /etc/systemd/system/multi-user.target.wants/vigil.service)" \
  "$(r /etc/systemd/system/timers.target.wants/vigil-health.timer)" "$(r /usr/local/bin/vigil)"
rm -rf "$(r /opt/vigil)"
if [ "$purge" = 1 ]; then
  rm -rf "$(r /etc/vigil)" "$(r /var/lib/vigil)"
  echo "uninstall: removed Vigil with its configuration and data"
else
  echo "uninstall: removed Vigil; kept /etc/vigil and /var/lib/vigil (--purge removes them)"
fi
