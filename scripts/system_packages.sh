#!/usr/bin/env bash
# The Debian packages the project needs beyond Python wheels, installed with apt-get where they
# are missing and this runs as root (CI); otherwise it says what to install.
#   scripts/system_packages.sh            Pango, for WeasyPrint (the transfer report's PDF)
#   scripts/system_packages.sh --browser  also Chromium, for the browser tests (make test)
set -euo pipefail
missing=()
ldconfig -p | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0)
ldconfig -p | grep -q 'libpangoft2-1.0.so' || missing+=(libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi . || missing+=(fonts-dejavu-core)
if [ "${1:-}" = "--browser" ] && ! command -v chromium > /dev/null; then
  missing+=(chromium)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing ${missing[*]} with apt-get"
  apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null 2>&1 \
    || { apt-get update > /dev/null && apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null; }
else
  echo "note: not root, so not installing ${missing[*]} (Debian: sudo apt-get install ${missing[*]});" \
       "until then PDF reports are left out and the browser tests are skipped, each saying so" >&2
fi
