#!/usr/bin/env bash
# Installs Debian's headless Chromium for the viewer/report browser tests when it is missing.
# Playwright drives it with executable_path=/usr/bin/chromium (its own browser download is not
# used: never `playwright install`). Safe to call more than once; a no-op when Chromium is there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ci_chromium: /usr/bin/chromium is missing and apt-get is not available" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
