#!/usr/bin/env bash
# Lists the bundled jars with the licence their Maven POM declares (from the local Maven repository), one per line.
set -euo pipefail
lib="$1"
repo="${MAVEN_REPO:-$HOME/.m2/repository}"
echo "Third-party components bundled in lib/ and the licences their POMs declare."
echo "Licence texts a jar carries are in this folder as <jar>--LICENSE*."
echo
for jar in "$lib"/*.jar; do
  base="$(basename "$jar" .jar)"
  pom="$(find "$repo" -name "$base.pom" -o -name "${base%-linux-*}.pom" 2>/dev/null | head -1)"
  lic=""
  if [ -n "$pom" ]; then
    lic="$(tr -d '\n' < "$pom" | grep -o '<licenses>.*</licenses>' | grep -o '<name>[^<]*</name>' | sed 's/<[^>]*>//g' | paste -sd ';' - || true)"
  fi
  printf '%-60s %s\n' "$base" "${lic:-see the POM of the component or its META-INF licence file}"
done
