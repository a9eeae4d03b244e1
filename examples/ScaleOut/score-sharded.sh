#!/usr/bin/env bash
# Sharded batch scoring with the efficientnet command: splits a list of image paths (one a line) into N contiguous
# shards, scores each in its own `efficientnet predict` process with cores/N threads, and merges their JSON lines in
# the list's order. Every listed file gets exactly one line (unreadable ones an "error" line, with --skip-unreadable).
# Any failing shard fails the run, and no merged file is written (the shards' own logs are printed).
#
# Usage: score-sharded.sh MODEL.zip LIST.txt RESULTS.jsonl [SHARDS] [-- more predict options, e.g. --top 0 --skip-unreadable]
# EFFICIENTNET: the command (default "efficientnet"; e.g. "dotnet src/EfficientNet.MLNet.Cli/bin/Release/net10.0/EfficientNet.MLNet.Cli.dll").
# The same shards map onto other engines: see "Outgrowing one machine" in the README.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2
fi
model=$1 list=$2 results=$3
shift 3
shards=$(nproc)
if [ $# -gt 0 ] && [ "$1" != "--" ]; then shards=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
case "$shards" in ''|*[!0-9]*|0) echo "score-sharded: SHARDS must be a positive number; got '$shards'" >&2; exit 2;; esac
[ -f "$model" ] || { echo "score-sharded: the model '$model' does not exist" >&2; exit 2; }
[ -f "$list" ] || { echo "score-sharded: the list '$list' does not exist" >&2; exit 2; }
read -ra command <<< "${EFFICIENTNET:-efficientnet}"
threads=$(( $(nproc) / shards )); [ "$threads" -ge 1 ] || threads=1

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# The paths alone (comments and blank lines dropped), as predict reads them.
grep -v -E '^[[:space:]]*(#|$)' "$list" > "$work/paths.txt" || true
total=$(wc -l < "$work/paths.txt")
[ "$total" -gt 0 ] || { echo "score-sharded: the list '$list' has no paths" >&2; exit 2; }
split -n "l/$shards" -d -a 4 "$work/paths.txt" "$work/shard-"

started=$(date +%s%N)
pids=(); names=()
for shard in "$work"/shard-????; do
  [ -s "$shard" ] || continue   # more shards than paths
  "${command[@]}" predict --model "$model" --list "$shard" --output "$shard.jsonl" --threads "$threads" "$@" > "$shard.log" 2>&1 &
  pids+=($!); names+=("$shard")
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed=1; echo "score-sharded: shard $i ($(wc -l < "${names[$i]}") images) failed:" >&2; cat "${names[$i]}.log" >&2
  fi
done
[ "$failed" = 0 ] || exit 1

# Merge in shard order (the list's order), then check that every path has exactly its one line.
for shard in "${names[@]}"; do cat "$shard.jsonl"; done > "$work/merged.jsonl"
lines=$(wc -l < "$work/merged.jsonl")
if [ "$lines" != "$total" ]; then echo "score-sharded: $lines result lines for $total listed images" >&2; exit 1; fi
mkdir -p "$(dirname "$results")"
cp "$work/merged.jsonl" "$results.tmp" && mv "$results.tmp" "$results"
elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
echo "score-sharded: $total images in ${#names[@]} shards of $threads threads each in $((elapsed / 1000)).$(printf %03d $((elapsed % 1000))) s: $results"
