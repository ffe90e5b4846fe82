#!/usr/bin/env bash
# The static checks CI runs (scripts/test.sh calls this before pytest; .pre-commit-config.yaml
# runs the same tools): ruff check, ruff format --check, mypy and ESLint for frontend/.
# Every check runs; the script exits non-zero when any of them failed.
# Tool versions come from pyproject.toml (dev extra, in .venv) and package-lock.json (node_modules).
source "$(dirname "$0")/_venv.sh"

# ESLint: install the locked versions into node_modules/ (repo root, not under the served
# frontend/), again only when package.json or package-lock.json changed since the last install.
if ! command -v npm >/dev/null; then
  echo "npm ontbreekt: installeer Node.js 20.19 of nieuwer met npm (nodig voor ESLint)." >&2
  exit 1
fi
npm_stamp=node_modules/.plekwijzer-installed
if [ ! -f "$npm_stamp" ] || [ package.json -nt "$npm_stamp" ] || [ package-lock.json -nt "$npm_stamp" ]; then
  echo "ESLint installeren in node_modules (npm ci, eenmalig)..."
  mkdir -p .venv
  log=.venv/npm-install.log
  if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
    cat "$log"
    echo "Installatie van ESLint mislukt; zie hierboven." >&2
    exit 1
  fi
  touch "$npm_stamp"
fi

failed=()
check() {
  local name="$1"
  shift
  echo "Controle: $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

check "ruff check" .venv/bin/ruff check .
# Which files the format check covers is set in pyproject.toml ([tool.ruff.format] exclude).
check "ruff format --check" .venv/bin/ruff format --check .
check "mypy" .venv/bin/mypy backend solver
check "eslint" node_modules/.bin/eslint .

if [ "${#failed[@]}" -gt 0 ]; then
  echo "Controles mislukt: ${failed[*]}" >&2
  exit 1
fi
echo "Alle controles geslaagd (ruff, mypy, eslint)."
