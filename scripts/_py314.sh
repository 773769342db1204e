# Python 3.14 for the Home Assistant 2026.x end of the supported range. Sourced by _env.sh.
#
# No Python >= 3.14.2 exists on these machines and none can be downloaded except through the
# package registries, so we build a minimal Debian sid root (debootstrap, from the same Debian
# mirror the host's apt uses) that has python3.14, and make HA's venv inside it. Everything is
# cached under $NEEDLE_CACHE (default ~/.cache/needle) and reused by later runs; the repository is
# bind-mounted at /repo inside the root for each command (in a private mount namespace, so no mount
# outlives the command).
NEEDLE_CACHE="${NEEDLE_CACHE:-$HOME/.cache/needle}"
SID_ROOT="${NEEDLE_SID_ROOT:-$NEEDLE_CACHE/sid-root}"
HA_NEW_VENV=/opt/venv-ha  # inside $SID_ROOT

_py314_fail() {
  echo "!! Cannot provide Python 3.14 for Home Assistant 2026.x: $*" >&2
  echo "!! (needs root, debootstrap and Debian's sid suite; see README 'Supported versions')" >&2
  return 1
}

_debian_mirror() {  # the Debian mirror the host's apt already uses (deb822 or one-line sources)
  local m
  m="$(grep -hoE '^URIs: *[^ ]+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | sed 's/^URIs: *//')"
  [ -n "$m" ] || m="$(grep -hoE '^deb +[^ ]+/debian/? ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')"
  echo "$m"
}

in_sid() {  # in_sid CMD... : run CMD inside the sid root, the repository at /repo, cwd /repo
  unshare --mount --propagation private -- bash -c '
    set -e; R="$1"; REPO="$2"; shift 2
    mount --bind /proc "$R/proc"; mount --rbind /dev "$R/dev"; mount --bind /sys "$R/sys"
    mkdir -p "$R/repo" "$R/shared"; mount --bind "$REPO" "$R/repo"
    [ -d "$REPO/../shared" ] && mount --bind "$REPO/../shared" "$R/shared"
    mount -t tmpfs tmpfs "$R/tmp"
    cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
    exec chroot "$R" /usr/bin/env -i HOME=/root PATH=/opt/venv-ha/bin:/usr/bin:/bin LANG=C.UTF-8 \
      TZ=UTC CI="${CI:-}" bash -c "cd /repo && exec \"\$@\"" _ "$@"
  ' _ "$SID_ROOT" "$ROOT" "$@"
}

ensure_sid_root() {  # debootstrap the root once (a few minutes); marker file says it is complete
  [ -f "$SID_ROOT/.needle-root-ok" ] && return 0
  [ "$(id -u)" = 0 ] || { _py314_fail "not root"; return 1; }
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "== Installing debootstrap"
    { apt-get update -qq && apt-get install -y -qq debootstrap; } >/dev/null 2>&1 \
      || { _py314_fail "apt-get could not install debootstrap"; return 1; }
  fi
  local mirror; mirror="$(_debian_mirror)"
  [ -n "$mirror" ] || { _py314_fail "no Debian mirror in /etc/apt sources"; return 1; }
  echo "== Building a Debian sid root with python3.14 in $SID_ROOT (first run only, a few minutes)"
  rm -rf "$SID_ROOT"; mkdir -p "$(dirname "$SID_ROOT")"
  if ! debootstrap --variant=minbase \
      --include=python3.14,python3.14-venv,python3.14-dev,g++,ca-certificates \
      sid "$SID_ROOT" "$mirror" >"$NEEDLE_CACHE/debootstrap.log" 2>&1; then
    tail -5 "$NEEDLE_CACHE/debootstrap.log" >&2
    _py314_fail "debootstrap failed (log: $NEEDLE_CACHE/debootstrap.log)"; return 1
  fi
  cp -L /etc/ssl/certs/ca-certificates.crt "$SID_ROOT/etc/ssl/certs/ca-certificates.crt" 2>/dev/null || true
  [ -d /etc/pip ] && cp -r /etc/pip "$SID_ROOT/etc/" 2>/dev/null || true
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$SID_ROOT/etc/pip.conf" || true
  touch "$SID_ROOT/.needle-root-ok"
}

# HA 2026.11 replaced httpx with httpx2 and aliases `httpx` to it when homeassistant is imported;
# the plugin (made for 2026.10) imports respx, hence httpx, before that, and HA refuses to start.
# A .pth file in the test venv makes the alias at interpreter start, as HA's own would; and
# scripts/ha2026_plugin_fix.py mends the plugin's one import that 2026.11 moved.
ensure_new_venv() {  # HA 2026.11 + pytest-homeassistant-custom-component inside the sid root
  local stamp="$SID_ROOT$HA_NEW_VENV/.requirements"
  ensure_sid_root || return 1
  # (bin/python links to /usr/bin/python3.14 of the root: test the venv, not the link, from here)
  if [ ! -f "$SID_ROOT$HA_NEW_VENV/pyvenv.cfg" ] \
      || ! cat "$ROOT"/requirements_test_ha2026*.txt | cmp -s - "$stamp"; then
    echo "== Creating the HA 2026.x venv (Python 3.14, inside $SID_ROOT; first run only, minutes)"
    in_sid bash -c "python3.14 -m venv --clear $HA_NEW_VENV && $HA_NEW_VENV/bin/pip install -q --upgrade pip \
      && $HA_NEW_VENV/bin/pip install -q -r requirements_test_ha2026.txt \
      && $HA_NEW_VENV/bin/pip install -q --no-deps -r requirements_test_ha2026_plugin.txt \
      && echo 'import httpx2; httpx2.alias_httpx()' \
         >$HA_NEW_VENV/lib/python3.14/site-packages/needle-httpx2-alias.pth \
      && $HA_NEW_VENV/bin/python scripts/ha2026_plugin_fix.py" \
      || { _py314_fail "pip could not install requirements_test_ha2026*.txt"; return 1; }
    cat "$ROOT"/requirements_test_ha2026*.txt >"$stamp"
  fi
}
