# Sourced by the other scripts: make .venv with Python 3.11+ and install plekwijzer into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Reinstall only when the project file changed since the last install.
stamp=.venv/.plekwijzer-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "plekwijzer installeren in .venv (eenmalig, enkele minuten)..."
  log=.venv/install.log
  if ! { .venv/bin/python -m pip install --quiet --upgrade pip &&
         .venv/bin/python -m pip install --quiet -e ".[dev]"; } >"$log" 2>&1; then
    cat "$log"
    echo "Installatie mislukt; zie hierboven." >&2
    exit 1
  fi
  touch "$stamp"
fi
