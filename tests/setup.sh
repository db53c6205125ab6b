#!/usr/bin/env bash
# Installs what the test suite needs, from a clean checkout: Debian's chromium for the
# browser tests (Playwright drives it; it never downloads a browser of its own) and the
# project with its test extra in .venv. README.md and .ci/run run this same command.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "tests/setup.sh: installing Debian's chromium for the browser tests" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null
  else
    echo "tests/setup.sh: no apt-get here; install chromium as /usr/bin/chromium or the browser tests fail" >&2
  fi
fi

# Debian's PostgreSQL for the tests that run on both backends (tests/pg_server.py starts a
# throwaway server in a temp folder; it is never enabled as a system service here).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${SOCIAL_WATCH_TEST_PG:-}" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "tests/setup.sh: installing Debian's postgresql for the PostgreSQL tests" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  else
    echo "tests/setup.sh: no apt-get here; install PostgreSQL or set SOCIAL_WATCH_TEST_PG, or the PostgreSQL tests fail" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
