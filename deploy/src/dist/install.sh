#!/usr/bin/env bash
# Installs this Vigil release on a Debian, Ubuntu or JetPack device (run as root from the unpacked archive).
# Idempotent: running it again changes nothing that is already right, and never overwrites the configuration,
# the data or the accounts.
#
#   sudo ./install.sh [--root DIR] [--admin NAME] [--admin-password-file FILE] [--no-start]
#
#   --root DIR                  install into DIR as if it were / (images, tests); no systemctl calls
#   --admin NAME                name of the first admin of the operator page (default: admin)
#   --admin-password-file FILE  its password (first line); without it a random one is generated and printed once
#   --no-start                  install and enable, but do not start the service
#
# Layout: /opt/vigil/releases/<version>/ (this archive), /opt/vigil/current -> the release in use,
# /etc/vigil/vigil.yml (configuration; factory.yml beside it), /var/lib/vigil (samples, models, registry, journals,
# accounts, configuration snapshots), logs in the journal (journalctl -u vigil), /usr/local/bin/vigil,
# units vigil.service and vigil-health.timer.
set -euo pipefail
src="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
root=/; admin=admin; admin_pw_file=""; start=1; user=vigil
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --admin) admin="$2"; shift 2 ;;
    --admin-password-file) admin_pw_file="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
root="$(cd "$root" && pwd)"
r() { if [ "$root" = / ]; then echo "$1"; else echo "$root$1"; fi; }
say() { echo "install: $*"; }
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo ./install.sh)" >&2; exit 1; }
version="$(cat "$src/VERSION")"
(cd "$src" && sha256sum --quiet -c SHA256SUMS) || { echo "install.sh: the release files do not match SHA256SUMS; download the archive again" >&2; exit 1; }
if [ "$root" = / ]; then
  java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  if ! command -v "$java" >/dev/null 2>&1 || ! "$java" -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
    echo "install.sh: Vigil needs a Java 17+ runtime: apt-get install openjdk-17-jre-headless" >&2; exit 1
  fi
fi

# 1. the system user
prefix=(); [ "$root" = / ] || prefix=(--prefix "$root")
if ! grep -q "^$user:" "$(r /etc/passwd)" 2>/dev/null; then
  useradd "${prefix[@]}" --system --user-group --home-dir /var/lib/vigil --no-create-home --shell /usr/sbin/nologin \
    --comment "Vigil inspection service" "$user"
  say "created the system user $user"
fi
for g in video render; do
  if grep -q "^$g:" "$(r /etc/group)" 2>/dev/null && ! id -nG "$user" 2>/dev/null | grep -qw "$g"; then
    usermod "${prefix[@]}" -a -G "$g" "$user" 2>/dev/null || true
  fi
done
uid="$(awk -F: -v u="$user" '$1 == u {print $3}' "$(r /etc/passwd)")"
gid="$(awk -F: -v u="$user" '$1 == u {print $4}' "$(r /etc/passwd)")"

# 2. the release, beside earlier ones; current switched atomically
rel="$(r /opt/vigil/releases)/$version"
if [ -d "$rel" ] && cmp -s "$rel/SHA256SUMS" "$src/SHA256SUMS"; then
  say "release $version already in place"
else
  mkdir -p "$(r /opt/vigil/releases)"
  rm -rf "$rel.tmp"; cp -a "$src" "$rel.tmp"; chown -R 0:0 "$rel.tmp"; chmod -R go-w "$rel.tmp"
  rm -rf "$rel"; mv "$rel.tmp" "$rel"
  say "release $version in $rel"
fi
if [ "$(readlink "$(r /opt/vigil/current)" 2>/dev/null)" != "releases/$version" ]; then
  if [ -L "$(r /opt/vigil/current)" ]; then
    ln -sfn "$(readlink "$(r /opt/vigil/current)")" "$(r /opt/vigil/previous)"
  fi
  ln -sfn "releases/$version" "$(r /opt/vigil/current).new" && mv -Tf "$(r /opt/vigil/current).new" "$(r /opt/vigil/current)"
  say "/opt/vigil/current -> releases/$version"
fi
mkdir -p "$(r /usr/local/bin)"
ln -sfn /opt/vigil/current/bin/vigil "$(r /usr/local/bin/vigil)"

# 3. configuration (never overwritten) and data
install -d -m 0750 -o "$uid" -g "$gid" "$(r /etc/vigil)"
[ -f "$(r /etc/vigil/vigil.yml)" ] || { install -m 0640 -o "$uid" -g "$gid" "$src/etc/vigil.yml" "$(r /etc/vigil/vigil.yml)"; say "default configuration in /etc/vigil/vigil.yml"; }
install -m 0444 -o 0 -g 0 "$src/etc/factory.yml" "$(r /etc/vigil/factory.yml)"
install -d -m 0750 -o "$uid" -g "$gid" "$(r /var/lib/vigil)" "$(r /var/lib/vigil/inbox)" "$(r /var/lib/vigil/cache)"

# 4. the first admin (never a default password)
if [ ! -f "$(r /var/lib/vigil/accounts.json)" ]; then
  if [ -n "$admin_pw_file" ]; then
    pw="$(head -n1 "$admin_pw_file")"
  else
    pw="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
    generated=1
  fi
  printf '%s\n' "$pw" | HOME="$(r /var/lib/vigil)" "$rel/bin/vigil" user add --storage "$(r /var/lib/vigil)" \
    --role admin --password-stdin "$admin" >/dev/null
  chown "$uid:$gid" "$(r /var/lib/vigil/accounts.json)"; chmod 0600 "$(r /var/lib/vigil/accounts.json)"
  say "admin account '$admin' created for the operator page"
  if [ "${generated:-0}" = 1 ]; then
    echo "install: its password (shown once, write it down): $pw"
  fi
fi

# 5. units
install -d "$(r /etc/systemd/system)"
for u in vigil.service vigil-health.service vigil-health.timer; do
  install -m 0644 -o 0 -g 0 "$src/systemd/$u" "$(r /etc/systemd/system/$u)"
done
if [ "$root" = / ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable vigil.service vigil-health.timer >/dev/null
  if [ "$start" = 1 ]; then
    systemctl restart vigil.service
    systemctl start vigil-health.timer
    say "vigil.service started: journalctl -u vigil -f; http://$(hostname -f 2>/dev/null || hostname):8080/"
  fi
else
  mkdir -p "$(r /etc/systemd/system/multi-user.target.wants)" "$(r /etc/systemd/system/timers.target.wants)"
  ln -sfn /etc/systemd/system/vigil.service "$(r /etc/systemd/system/multi-user.target.wants/vigil.service)"
  ln -sfn /etc/systemd/system/vigil-health.timer "$(r /etc/systemd/system/timers.target.wants/vigil-health.timer)"
  say "units installed and enabled under $root (not started)"
fi
say "done: Vigil $version"
