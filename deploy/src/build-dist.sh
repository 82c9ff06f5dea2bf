#!/usr/bin/env bash
# Builds the distribution archives: vigil-<version>-linux-x86_64.tar.gz and vigil-<version>-linux-aarch64.tar.gz.
# Each holds bin/ (vigil, vigil-healthcheck), lib/ (the service's jars, with only that platform's native libraries),
# etc/ (default configuration, factory snapshot), systemd/ (units), install.sh / upgrade.sh / uninstall.sh, licences
# of the bundled dependencies, and SHA256SUMS over every file. Run by the deploy module's build (Maven, before its
# tests); usable alone:
#   deploy/src/build-dist.sh VERSION DEPS_DIR AARCH64_TORCH_JAR OUT_DIR
set -euo pipefail
version="$1"; deps="$2"; torch_aarch64="$3"; out="$4"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v zip >/dev/null || { echo "build-dist: 'zip' is needed to strip other platforms' native libraries (apt-get install zip)" >&2; exit 1; }
mkdir -p "$out"

# what a platform keeps inside the jars that carry native libraries for many platforms
keep_pattern() {
  case "$1" in
    linux-x86_64) echo 'nu/pattern/opencv/linux/x86_64/|ai/onnxruntime/native/linux-x64/|com/sun/jna/linux-x86-64/|jnilib/linux-x86_64/cpu/' ;;
    linux-aarch64) echo 'nu/pattern/opencv/linux/ARMv8/|ai/onnxruntime/native/linux-aarch64/|com/sun/jna/linux-aarch64/|jnilib/linux-aarch64/cpu/' ;;
  esac
}
native_pattern='^(nu/pattern/opencv/(linux|osx|windows)/|ai/onnxruntime/native/[^/]+/|com/sun/jna/[^/]+/.*jnidispatch|jnilib/)'

for platform in linux-x86_64 linux-aarch64; do
  name="vigil-$version-$platform"
  stage="$out/stage/$name"
  rm -rf "$stage"
  mkdir -p "$stage/lib" "$stage/LICENSES"
  for jar in "$deps"/*.jar; do
    base="$(basename "$jar")"
    case "$base" in
      pytorch-native-cpu-*-linux-x86_64.jar) [ "$platform" = linux-x86_64 ] || continue ;;
    esac
    cp "$jar" "$stage/lib/$base"
    drop="$(unzip -Z1 "$jar" | grep -E "$native_pattern" | grep -vE "^($(keep_pattern "$platform"))" | grep -v '/$' || true)"
    if [ -n "$drop" ]; then
      # shellcheck disable=SC2086
      printf '%s\n' "$drop" | zip -q -d "$stage/lib/$base" -@ >/dev/null
    fi
    # the licence files a jar carries
    for l in $(unzip -Z1 "$jar" | grep -iE '^META-INF/(LICENSE|NOTICE|COPYING)[^/]*$' || true); do
      unzip -p "$jar" "$l" > "$stage/LICENSES/${base%.jar}--$(basename "$l")"
    done
  done
  if [ "$platform" = linux-aarch64 ]; then
    cp "$torch_aarch64" "$stage/lib/"
  fi
  "$here/third-party.sh" "$stage/lib" > "$stage/LICENSES/THIRD-PARTY.txt"
  cp -r "$here/dist/." "$stage/"
  echo "$version" > "$stage/VERSION"
  echo "$platform" > "$stage/PLATFORM"
  chmod 0755 "$stage/bin/"* "$stage/install.sh" "$stage/upgrade.sh" "$stage/uninstall.sh"
  (cd "$stage" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
  tar -C "$out/stage" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz.tmp" "$name"
  mv "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"
  echo "build-dist: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1))"
done
rm -rf "$out/stage"
