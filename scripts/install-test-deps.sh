#!/bin/sh
# System packages the test suite needs beside Python: PostgreSQL's server binaries (the multi-instance daemon
# tests start a throwaway cluster) and, for the review page's browser test, Debian's chromium with its driver.
# Used by the README's test command and by .ci/run, so both install the same things. It does nothing when
# everything is present; it needs root (or sudo) and apt-get only when something is missing.
set -eu

missing=""
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing="$missing postgresql"
fi
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"

[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing$missing and no apt-get here; install them with your package manager" >&2
  exit 3
fi
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "install-test-deps: missing$missing; run this script as root (apt-get needs it)" >&2
  exit 3
fi
echo "+ installing Debian packages:$missing" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086  # the package list is meant to split into words
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
