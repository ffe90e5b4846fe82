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
# The demo logs in with a password only: the second factor (TOTP) is OFF here, and said so.
# PLEKWIJZER_MFA_ROLES=admin,coordinator,crisis ./scripts/demo.sh turns it on as in production.
export PLEKWIJZER_MFA_ROLES="${PLEKWIJZER_MFA_ROLES-}"
if [ -z "$PLEKWIJZER_MFA_ROLES" ]; then
  echo "LET OP: tweestapsverificatie (TOTP) staat UIT in deze demo: inloggen gaat met alleen een wachtwoord."
  echo "        Aanzetten zoals in productie: PLEKWIJZER_MFA_ROLES=admin,coordinator,crisis ./scripts/demo.sh"
fi
echo "plekwijzer start op http://${HOST:-127.0.0.1}:${PORT:-8000}/ (stoppen met Ctrl+C)"
exec .venv/bin/plekwijzer serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
