# Sourced by the recipe scripts: train one run of an ablation (resuming an unfinished one, keeping a
# finished one), then score it on Set5/Set14/B100 once.
#   train NAME ARGS...    uses $root, $runs, $THREADS, the array `common` (arguments of every run)
#                         and the scale given in `common` (--scale S, default 2)
train() {
  local name="$1"; shift
  local scale=2 i
  for ((i = 0; i < ${#common[@]}; i++)); do [ "${common[i]}" = --scale ] && scale="${common[i + 1]}"; done
  local resume=(); [ -f "$runs/$name/checkpoint.pt" ] && resume=(--resume)
  if ! grep -qs '"done": true' "$runs/$name/log.jsonl"; then
    "$root/scripts/py" -m scales_train.train "${common[@]}" "$@" --out "$runs/$name" "${resume[@]}" >>"$runs/$name.log" 2>&1
  fi
  [ -f "$runs/$name.eval.json" ] || "$root/scripts/py" -m scales_train.eval --model "$runs/$name/checkpoint.pt" \
    --scale "$scale" --json "$runs/$name.eval.json" --threads "$THREADS" >/dev/null
}
