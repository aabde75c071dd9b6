#!/usr/bin/env bash
# Debian packages the project needs beyond Python: headless Chromium (browser
# tests, HTML → PDF) and a CJK font so that Chinese renders in screenshots and
# PDFs.  Installed once; a no-op when present.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -i 'Noto Sans CJK' >/dev/null || need+=(fonts-noto-cjk)  # not -q: grep quitting early makes fc-list die of SIGPIPE, and pipefail says "missing"
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "hedui: missing Debian packages: ${need[*]} — install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "hedui: installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" fontconfig >/dev/null
