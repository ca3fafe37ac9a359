#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript, and
# spark.worker.resource.gpu.discoveryScript on standalone): prints the JSON Spark expects,
#   {"name": "gpu", "addresses": ["0", "1", ...]}
# one address per CUDA device nvidia-smi lists (CUDA_VISIBLE_DEVICES, when set, is respected by
# listing its entries instead). No GPU, or no nvidia-smi: an empty address list.
set -uo pipefail
addrs=()
if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
  IFS=',' read -r -a addrs <<< "$CUDA_VISIBLE_DEVICES"
elif command -v nvidia-smi >/dev/null 2>&1; then
  while read -r i; do [ -n "$i" ] && addrs+=("$i"); done < <(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null)
fi
out=""
for a in "${addrs[@]}"; do out+="${out:+, }\"${a// /}\""; done
printf '{"name": "gpu", "addresses": [%s]}\n' "$out"
