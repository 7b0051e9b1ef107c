#!/usr/bin/env bash
# Install everything madoguchi needs into .venv (idempotent).
#   scripts/setup.sh          the app: Python packages + Leaflet assets from the npm registry
#   scripts/setup.sh --test   also the test tools, Debian Chromium and poppler-utils
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
[ "${1:-}" = "--test" ] && want_test=true

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if $want_test; then
    .venv/bin/python -m pip install --quiet -e '.[test]'
else
    .venv/bin/python -m pip install --quiet -e .
fi

# Debian packages: Japanese fonts for the printed files (BIZ UDゴシック: TrueType outlines,
# which every PDF viewer draws once embedded; Noto CJK for the screen images); npm (only if
# absent) for the Leaflet assets; Chromium for the browser test, poppler-utils (pdftoppm,
# pdffonts) for the PDF viewer tests.
packages=(fonts-morisawa-bizud-gothic fonts-noto-cjk)
command -v npm >/dev/null || packages+=(npm)
$want_test && packages+=(chromium poppler-utils)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: please install the Debian packages: ${missing[*]} (sudo apt-get install ...)" >&2
    fi
fi
if ! fc-list 2>/dev/null | grep -q "BIZ UDPGothic"; then
    echo "setup: BIZ UDゴシック is not installed (Debian: fonts-morisawa-bizud-gothic); the PDF" \
         "slide, handouts and leaflets cannot be made without a TrueType-outline Japanese" \
         "font (IPAexGothic also works: fonts-ipaexfont-gothic)" >&2
fi

# Leaflet and plugin assets are served by the app itself (no CDN): fetched with npm.
.venv/bin/python -m dashboard.vendor_assets
