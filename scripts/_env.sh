# Shared by scripts/test and scripts/demo: find Python 3.13 (HA 2025.4 needs it) and make the
# project's virtual environment; _py314.sh adds the Python 3.14 root for HA 2026.x. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NEEDLE_VENV:-$ROOT/.venv}"
TRAIN_VENV="${NEEDLE_TRAIN_VENV:-$ROOT/.venv-train}"

find_python() {  # find_python 3.13 -> path of an interpreter of that version, or nothing
  local want="$1" cand
  for cand in "python$want" "$HOME/.pyenv/versions/$want"*/bin/python"$want" \
              /usr/bin/python"$want" /usr/local/bin/python"$want"; do
    for p in $(compgen -G "$cand" 2>/dev/null || command -v "$cand" 2>/dev/null || true); do
      if [ -x "$p" ] && "$p" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
        echo "$p"; return 0
      fi
    done
  done
  if command -v pyenv >/dev/null 2>&1; then
    p="$(pyenv root)/versions/$(pyenv versions --bare | grep "^$want" | tail -1)/bin/python$want"
    [ -x "$p" ] && { echo "$p"; return 0; }
  fi
  return 1
}

ensure_venv() {  # the HA + engine environment (Python 3.13)
  if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$ROOT/requirements_test.txt" "$VENV/.requirements"; then
    local py
    py="$(find_python 3.13)" || { echo "Python 3.13 not found (HA 2025.4 needs it)" >&2; exit 1; }
    echo "== Creating $VENV with $py"
    "$py" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q --only-binary=onnx,onnxruntime,tokenizers,sentencepiece \
      -r "$ROOT/requirements_test.txt"
    cp "$ROOT/requirements_test.txt" "$VENV/.requirements"
  fi
}

ensure_train_venv() {  # PyTorch for training (its CPU wheel is built for Python 3.11 here)
  if [ ! -x "$TRAIN_VENV/bin/python" ] || ! cmp -s "$ROOT/training/requirements.txt" "$TRAIN_VENV/.requirements"; then
    local py
    py="$(find_python 3.11)" || return 1
    echo "== Creating $TRAIN_VENV with $py"
    "$py" -m venv "$TRAIN_VENV"
    "$TRAIN_VENV/bin/pip" install -q -r "$ROOT/training/requirements.txt"
    cp "$ROOT/training/requirements.txt" "$TRAIN_VENV/.requirements"
  fi
}

ha_version() {  # ha_version PYTHON -> the homeassistant version that interpreter imports
  "$@" -c 'import homeassistant.const as c; print(c.__version__)'
}

source "$ROOT/scripts/_py314.sh"
