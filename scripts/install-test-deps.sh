#!/usr/bin/env bash
# System packages the test suite needs beyond the Python ones (`pip install -e '.[test]'`). Run as root on
# Debian/Ubuntu (CI does, from .ci/run); a package already installed is left alone.
set -euo pipefail

need=()
# the review page's browser test (tests/ui/test_browser.py): Debian's chromium and its WebDriver
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages for the tests: ${need[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "+ apt-get install ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
