#!/usr/bin/env bash
# Install everything and run what CI runs: the static checks (scripts/lint.sh: ruff, mypy,
# ESLint), then the whole test suite: on SQLite, and on PostgreSQL too when
# PLEKWIJZER_TEST_DATABASE_URL is set or a PostgreSQL answers at 127.0.0.1:5432.
# PLEKWIJZER_SKIP_LINT=1 skips the static checks (e.g. while re-running one test).
source "$(dirname "$0")/_venv.sh"
if [ "${PLEKWIJZER_SKIP_LINT:-0}" != "1" ]; then
  bash scripts/lint.sh
fi
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Chromium installeren voor de browsertests (Debian-pakket chromium)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    echo "Let op: /usr/bin/chromium ontbreekt; de browsertests worden overgeslagen."
  fi
fi
if [ -z "${PLEKWIJZER_TEST_DATABASE_URL:-}" ]; then
  if .venv/bin/python - <<'PY' 2>/dev/null
import psycopg
psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2).close()
PY
  then
    export PLEKWIJZER_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test"
  fi
fi
echo "Tests op SQLite${PLEKWIJZER_TEST_DATABASE_URL:+ en PostgreSQL ($PLEKWIJZER_TEST_DATABASE_URL)}"
# Two workers (pytest-xdist): the suite is CPU-bound in one process and a machine here has two
# cores; each worker builds its own databases. PLEKWIJZER_TEST_WORKERS=0 runs in one process.
exec .venv/bin/python -m pytest -n "${PLEKWIJZER_TEST_WORKERS:-2}" "$@"
