#!/usr/bin/env bash
# Prepare a GPU training run (here, on the CPU machine): generate fresh examples with the
# integration's prompt builder, drop evaluation and held-out sentences, gzip them where the
# device tool can carry them (git-ignored; 30,000 examples are ~5 MB gzipped).
#
#   bash training/gpu_prepare.sh SEED [SEED ...]     e.g. bash training/gpu_prepare.sh 701 702 703
#
# Then, with the device tool: run(command="bash training/gpu_train.sh", timeout_s=570,
# carry=["training/data/generated/gpu"]); training/README.md, "GPU".
source "$(dirname "$0")/../scripts/_env.sh"
cd "$ROOT"
[ $# -ge 1 ] || { echo "usage: $0 SEED [SEED ...]" >&2; exit 2; }
ensure_venv
OUT_DIR=training/data/generated/gpu
N="${NEEDLE_GPU_EXAMPLES:-30000}"
rm -rf "$OUT_DIR" && mkdir -p "$OUT_DIR"
SUITES=(eval)
[ -d ../shared/eval ] && SUITES+=(../shared/eval)
make_one() {  # make_one SEED N NAME
  local raw="$OUT_DIR/$3.raw.jsonl"
  "$VENV/bin/python" -m training.generate --n "$2" --out "$raw" --seed "$1" \
    --spm training/data/tokenizer.model --questions >/dev/null
  "$VENV/bin/python" -m training.filter_eval "$raw" "$OUT_DIR/$3.jsonl" --suites "${SUITES[@]}" \
    --heldout training/heldout/heldout.jsonl
  rm -f "$raw" && gzip -f "$OUT_DIR/$3.jsonl"
}
make_one 9907 400 val
for seed in "$@"; do make_one "$seed" "$N" "train_$seed"; done
du -sh "$OUT_DIR"
