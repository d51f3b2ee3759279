#!/usr/bin/env bash
# make install: the Debian packages the project needs beyond Python wheels. WeasyPrint (the
# transfer report's PDF) needs Pango. Installed with apt-get when missing and run as root (CI);
# otherwise say what to install: the reports are then published without their PDF.
set -euo pipefail
missing=()
ldconfig -p | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0)
ldconfig -p | grep -q 'libpangoft2-1.0.so' || missing+=(libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi . || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing ${missing[*]} (for PDF reports)"
  apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null \
    || { apt-get update > /dev/null && apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null; }
else
  echo "note: PDF reports need ${missing[*]} (Debian: sudo apt-get install ${missing[*]}); until then" \
       "reports are published as JSON, CSV and HTML only" >&2
fi
