#!/usr/bin/env bash
# Install everything the test-suite needs, then run all of it:
#   lint (ruff), types (mypy --strict on all four packages), the full suite on this Python,
#   the core suite again on Python 3.9 and 3.13 (via pyenv when present), and the Flask
#   integration on Flask 2.3, the oldest the flask extra allows.
# Exits non-zero on any failure. CI runs exactly this (see .ci/run).
#
# scripts/test.sh --quick [pytest args]: the inner loop, in about a minute, on the
# existing .venv: lint, types, and tests/core, django, flask, asgi and testing without
# the tests that start real server processes (marker `servers`), `slow` or `browser`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
step() { printf '\n==> %s\n' "$*"; }

if [ "${1:-}" = "--quick" ]; then
  shift
  [ -x .venv/bin/python ] || { "$PYTHON" -m venv .venv && .venv/bin/python -m pip install -q -e '.[all,dev]'; }
  step "ruff"
  .venv/bin/ruff check .
  step "mypy --strict"
  .venv/bin/mypy
  step "core and integration tests (quick: no real servers, slow or browser tests)"
  exec .venv/bin/python -m pytest -q -m "not servers and not slow and not browser" \
    tests/core tests/django tests/flask tests/asgi tests/testing "$@"
fi

step "a C compiler (uWSGI builds from source for the deployment tests)"
if ! command -v cc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential) \
      >/tmp/ripples-apt.log 2>&1 || { cat /tmp/ripples-apt.log; exit 1; }
  else
    echo "no C compiler: installing uWSGI will fail (apt-get install build-essential)" >&2
  fi
fi

step "virtual environment .venv ($($PYTHON --version))"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -U pip
.venv/bin/python -m pip install -q -e '.[all,dev]'
.venv/bin/python -m pip install -q -e '.[docs]'

step "headless Chromium for the inspector page tests"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
      >/tmp/ripples-apt.log 2>&1 || { cat /tmp/ripples-apt.log; exit 1; }
  elif [ -n "${CI:-}" ]; then
    echo "chromium is required in CI and could not be installed" >&2; exit 1
  else
    echo "chromium not found: the browser tests will be skipped (apt-get install chromium)"
  fi
fi

step "redis-server for the Celery tests (a real broker)"
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) \
      >/tmp/ripples-apt.log 2>&1 || { cat /tmp/ripples-apt.log; exit 1; }
  elif [ -n "${CI:-}" ]; then
    echo "redis-server is required in CI and could not be installed" >&2; exit 1
  else
    echo "redis-server not found: the Celery tests will be skipped (apt-get install redis-server)"
  fi
fi

step "ruff"
.venv/bin/ruff check .

step "mypy --strict"
.venv/bin/mypy

step "docs: mkdocs build --strict (a broken link or reference fails)"
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir site  # not --quiet: it hides the warnings strict counts

step "test-suite on $(.venv/bin/python --version)"
.venv/bin/python -m pytest "$@"

for version in 3.9 3.13; do
  interpreter=""
  if command -v pyenv >/dev/null 2>&1; then
    prefix=$(ls -d "$(pyenv root)/versions/$version".* 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$prefix" ] && interpreter="$prefix/bin/python$version"
  fi
  [ -z "$interpreter" ] && interpreter=$(command -v "python$version" || true)
  if [ -z "$interpreter" ]; then
    if [ -n "${CI:-}" ]; then echo "Python $version is required in CI" >&2; exit 1; fi
    echo "Python $version not found: skipping its core run"; continue
  fi
  step "core suite on $($interpreter --version)"
  venv=".venv-$version"
  [ -x "$venv/bin/python" ] || "$interpreter" -m venv "$venv"
  "$venv/bin/python" -m pip install -q -U pip
  "$venv/bin/python" -m pip install -q -e . pytest "hypothesis>=6.100"
  "$venv/bin/python" -m pytest tests/core -q
done

# The oldest Flask the flask extra allows: its stream_with_context enters the request
# context in the view and leaves it in the body, which the newest Flask no longer does.
step "Flask integration on Flask 2.3 (the oldest supported)"
[ -x .venv-flask23/bin/python ] || "$PYTHON" -m venv .venv-flask23
.venv-flask23/bin/python -m pip install -q -U pip
.venv-flask23/bin/python -m pip install -q -e '.[flask]' 'Flask==2.3.3' 'Werkzeug<3' pytest \
  "hypothesis>=6.100" gunicorn psutil
.venv-flask23/bin/python -m pytest tests/flask -q -p no:cacheprovider
