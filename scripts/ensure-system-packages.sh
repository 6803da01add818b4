#!/usr/bin/env bash
# Install missing OS packages the portal needs, by short name:
#   redis    -> redis-server      chromium -> /usr/bin/chromium
#   npm      -> npm (and Node)    venv     -> Python's venv module
#   oathtool -> oathtool (an independent TOTP implementation the 2FA tests check against)
# Uses apt-get (as root, or through sudo). Exits non-zero with a clear message
# when something is missing and cannot be installed.
set -euo pipefail

missing=()
for need in "$@"; do
  case "$need" in
    redis)    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) ;;
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    npm)      command -v npm >/dev/null 2>&1 || missing+=(npm) ;;
    oathtool) command -v oathtool >/dev/null 2>&1 || missing+=(oathtool) ;;
    venv)     python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv) ;;
    *) echo "ensure-system-packages: unknown need '$need'" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing OS packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "Missing ${missing[*]} and not root (no sudo): install them, then run make again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing ${missing[*]} and no apt-get here: install them with your package manager." >&2
  exit 1
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
