#!/usr/bin/env bash
# Scores a list of image paths on a Slurm cluster: a job array of SHARDS tasks (each `efficientnet predict` on one
# contiguous shard, CPUS threads each, at most THROTTLE at once), then a merge job that runs only if every task
# succeeded (--dependency=afterok) and writes RESULTS with every listed path exactly once, in the list's order.
# Tasks are requeued by Slurm when a node fails (--requeue). When a task fails, the merge never runs and nothing is
# written: run this again with the same OUT and only the missing shards are scored (done shards are skipped).
# Prints the two job ids: "array <id>" and "merge <id>".
#
# Usage: submit-scoring.sh MODEL.zip LIST.txt OUT RESULTS.jsonl SHARDS [CPUS [THROTTLE]] [-- more predict options]
# EFFICIENTNET: the command on the nodes (default "efficientnet"); sbatch options such as --partition via SBATCH_* variables.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 5 ]; then sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
model=$(realpath "$1") list=$(realpath "$2") out=$(realpath -m "$3") results=$(realpath -m "$4") shards=$5
shift 5
cpus=1 throttle=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then cpus=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then throttle="%$1"; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
case "$shards$cpus" in *[!0-9]*) echo "submit-scoring: SHARDS and CPUS must be positive numbers" >&2; exit 2;; esac
[ -f "$model" ] || { echo "submit-scoring: the model '$model' does not exist" >&2; exit 2; }
[ -f "$list" ] || { echo "submit-scoring: the list '$list' does not exist" >&2; exit 2; }
mkdir -p "$out/logs"
array=$(sbatch --parsable --array="0-$((shards - 1))$throttle" --cpus-per-task="$cpus" \
  --output="$out/logs/score-%A_%a.out" "$here/score-array.sbatch" "$model" "$list" "$out" "$shards" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --output="$out/logs/merge-%j.out" "$here/merge.sbatch" "$list" "$out" "$shards" "$results")
merge=${merge%%;*}
echo "array $array"
echo "merge $merge"
