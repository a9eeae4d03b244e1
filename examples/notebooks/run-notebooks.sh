#!/usr/bin/env bash
# Runs every notebook here headless against the library built from this repository, as CI does:
#   bash examples/notebooks/run-notebooks.sh [output folder]
# It packs EfficientNet.MLNet into artifacts/packages (a fresh prerelease version, so no stale copy in the
# package cache is used), points each notebook's package source at that folder (#i needs an absolute path),
# and runs it with dotnet-repl (pinned in .config/dotnet-tools.json). Executed copies (with outputs and
# pictures) go to the output folder; the script fails if any cell throws.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$(mkdir -p "${1:-$repo/artifacts/notebooks}" && cd "${1:-$repo/artifacts/notebooks}" && pwd)"
feed="$repo/artifacts/packages"

rm -rf "$feed"
dotnet pack "$repo/src/EfficientNet.MLNet/EfficientNet.MLNet.csproj" -c Release -o "$feed" -p:Version="0.1.0-local.$(date +%s)" --nologo -v q
(cd "$repo" && dotnet tool restore > /dev/null)

status=0
for notebook in "$here"/*.ipynb; do
  name="$(basename "$notebook" .ipynb)"
  sed "s#../../artifacts/packages#$feed#" "$notebook" > "$out/$name.input.ipynb"
  start=$(date +%s)
  if (cd "$repo" && dotnet repl --run "$out/$name.input.ipynb" --exit-after-run --output-path "$out/$name.ipynb"); then
    echo "notebook $name: passed in $(( $(date +%s) - start )) s"
  else
    echo "notebook $name: FAILED (a cell threw; see $out/$name.ipynb)"; status=1
  fi
  rm -f "$out/$name.input.ipynb"
done
exit $status
