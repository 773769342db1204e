#!/usr/bin/env bash
# One GPU training run inside one device command (at most ~9 minutes): continue from the
# shipped weights on the examples training/gpu_prepare.sh made, and bring back the best
# checkpoint, its state and curves through $OUT. Runs on the device machine, whose python3
# has PyTorch, sentencepiece and numpy; nothing is installed there.
#
#   device run: command "bash training/gpu_train.sh", timeout_s 570,
#               carry ["training/data/generated/gpu"]
#
# Settings (environment): NEEDLE_INIT (default the shipped stage), NEEDLE_STEPS (default 3000),
# NEEDLE_LR (1e-4), NEEDLE_BATCH_TOKENS (8192), NEEDLE_EVAL_EVERY (250),
# NEEDLE_MINUTES (7.5: leaves time to copy back),
# NEEDLE_DEVICE (cuda), PYTHON (python3). Then here: copy best.pkl to training/checkpoints/,
# export and evaluate it on real HA (training/README.md, "GPU").
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
DATA=training/data/generated/gpu
OUT="${OUT:-/tmp/needle-gpu-out}"
WORK="$(mktemp -d)"
mkdir -p "$OUT"
[ -f "$DATA/val.jsonl.gz" ] || { echo "no $DATA: run training/gpu_prepare.sh first" >&2; exit 2; }
for f in "$DATA"/*.jsonl.gz; do gunzip -c "$f" >"$WORK/$(basename "$f" .gz)"; done
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
PYTHONUNBUFFERED=1 "$PY" -m training.train \
  --train "$WORK"/train_*.jsonl --val "$WORK/val.jsonl" --spm training/data/tokenizer.model \
  --out "$WORK/run" --init "${NEEDLE_INIT:-training/checkpoints/stage12.pkl}" \
  --d-model 256 --heads 4 --kv-heads 2 --enc-layers 3 --dec-layers 2 --vocab 4096 \
  --steps "${NEEDLE_STEPS:-3000}" --lr "${NEEDLE_LR:-1e-4}" --warmup 20 \
  --batch-tokens "${NEEDLE_BATCH_TOKENS:-8192}" --eval-every "${NEEDLE_EVAL_EVERY:-250}" \
  --n-greedy 100 --seed 21 --device "${NEEDLE_DEVICE:-cuda}" \
  --max-minutes "${NEEDLE_MINUTES:-7.5}" 2>&1 | tee "$OUT/train.log"
# best by validation, and the last weights too: validation is not real Home Assistant
# (stage 7 lost on the suites while validation rose), so both come back to be evaluated
"$PY" -m training.npz_to_pkl "$WORK/run/last.npz" "$OUT/last.pkl"
cp "$WORK/run/best.pkl" "$WORK/run/state.json" "$OUT/"
cp "$WORK/run/curves.png" "$OUT/" 2>/dev/null || true
echo "brought back: $(ls "$OUT")"
