#!/usr/bin/env bash
# Install, load the Twente demo data into SQLite and start plekwijzer on http://127.0.0.1:8000
source "$(dirname "$0")/_venv.sh"
export PLEKWIJZER_DATABASE_URL="${PLEKWIJZER_DATABASE_URL:-sqlite:///./plekwijzer.db}"
.venv/bin/plekwijzer db upgrade
.venv/bin/plekwijzer demo
POSTCODES="${PLEKWIJZER_POSTCODES:-../shared/data/4pp.csv}"
if [ -f "$POSTCODES" ]; then
  .venv/bin/plekwijzer import-postcodes "$POSTCODES"
else
  echo "Geen postcodebestand gevonden ($POSTCODES): postcodes van verwijzingen worden niet omgezet."
  echo "Laad ze later met: .venv/bin/plekwijzer import-postcodes PAD/NAAR/4pp.csv"
fi
echo "plekwijzer start op http://${HOST:-127.0.0.1}:${PORT:-8000}/ (stoppen met Ctrl+C)"
exec .venv/bin/plekwijzer serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
