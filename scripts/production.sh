#!/usr/bin/env bash
# The production shape of docker-compose.yml without Docker: the local PostgreSQL, several
# `plekwijzer serve` replicas and nginx as the one entry point, terminating TLS on
# https://${HOST}:${PORT}/ (plain HTTP on ${HTTP_PORT} only redirects there), as
# deploy/nginx-compose.conf does.
#
#   ./scripts/production.sh            # 2 replicas on PostgreSQL, nginx on 8443 (and 8000 → 8443)
#   REPLICAS=3 PORT=9443 ./scripts/production.sh --demo    # also load the demo data
#
# Settings: PLEKWIJZER_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/plekwijzer;
# the database is created when missing), PLEKWIJZER_SECRET_KEY (default: one generated once and
# kept in .plekwijzer-secret), PLEKWIJZER_TLS_DIR (a folder with fullchain.pem and privkey.pem,
# as for docker-compose; default: a self-signed certificate for HOST made with openssl in
# .production/certs, valid 30 days and made again when it runs out), REPLICAS (2),
# PORT (8443, HTTPS), HTTP_PORT (8000, redirects to HTTPS), HOST (127.0.0.1), FIRST_API_PORT (8101).
# Stops everything it started on Ctrl+C or when one part ends.
source "$(dirname "$0")/_venv.sh"

REPLICAS="${REPLICAS:-2}"
PORT="${PORT:-8443}"
HTTP_PORT="${HTTP_PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
FIRST_API_PORT="${FIRST_API_PORT:-8101}"
RUN_DIR="$ROOT/.production"
export PLEKWIJZER_ENVIRONMENT=production
export PLEKWIJZER_DATABASE_URL="${PLEKWIJZER_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/plekwijzer}"
# nginx on this machine is the one proxy: its X-Forwarded-For names the client (login limits).
export PLEKWIJZER_TRUSTED_PROXIES="${PLEKWIJZER_TRUSTED_PROXIES:-127.0.0.1}"
# Every request reaches the replicas through nginx's TLS: Strict-Transport-Security on every answer.
export PLEKWIJZER_HSTS=true

if [ -z "${PLEKWIJZER_SECRET_KEY:-}" ]; then
  if [ ! -s .plekwijzer-secret ]; then
    (umask 077; .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > .plekwijzer-secret)
  fi
  PLEKWIJZER_SECRET_KEY="$(cat .plekwijzer-secret)"
fi
export PLEKWIJZER_SECRET_KEY

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "nginx installeren (Debian-pakket nginx)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx) >/dev/null
  else
    echo "nginx ontbreekt; installeer het (apt-get install nginx) en start opnieuw." >&2
    exit 1
  fi
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

# The certificate nginx serves: the configured one, else a self-signed one for this host.
if [ -n "${PLEKWIJZER_TLS_DIR:-}" ]; then
  CERT_DIR="$(cd "$PLEKWIJZER_TLS_DIR" && pwd)"
  for file in fullchain.pem privkey.pem; do
    if [ ! -r "$CERT_DIR/$file" ]; then
      echo "PLEKWIJZER_TLS_DIR: $file ontbreekt of is niet leesbaar in $CERT_DIR." >&2
      exit 1
    fi
  done
else
  CERT_DIR="$RUN_DIR/certs"
  mkdir -p "$CERT_DIR"
  # Made again when missing, within a day of running out, or made for another HOST.
  if ! openssl x509 -in "$CERT_DIR/fullchain.pem" -noout -checkend 86400 >/dev/null 2>&1 ||
     [ "$(cat "$CERT_DIR/host" 2>/dev/null)" != "$HOST" ]; then
    if [[ "$HOST" =~ ^[0-9.]+$|: ]]; then san="IP:$HOST"; else san="DNS:$HOST"; fi
    (umask 077; openssl req -x509 -newkey rsa:3072 -nodes -days 30 -subj "/CN=$HOST" \
      -addext "subjectAltName=$san,DNS:localhost,IP:127.0.0.1" \
      -keyout "$CERT_DIR/privkey.pem" -out "$CERT_DIR/fullchain.pem" 2>/dev/null)
    echo "$HOST" > "$CERT_DIR/host"
    echo "Zelfondertekend certificaat voor $HOST gemaakt in $CERT_DIR (30 dagen; browsers waarschuwen ervoor)."
    echo "Zet PLEKWIJZER_TLS_DIR op een map met fullchain.pem en privkey.pem van een echte uitgever."
  fi
fi

# The database itself, when the server answers but it does not exist yet.
.venv/bin/python - <<'PY'
import os
import psycopg
from sqlalchemy.engine import make_url

url = make_url(os.environ["PLEKWIJZER_DATABASE_URL"])
if url.get_backend_name() == "postgresql":
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{url.database}"')
            print(f"Database {url.database} aangemaakt")
PY
.venv/bin/plekwijzer db upgrade
if [ "${1:-}" = "--demo" ]; then
  .venv/bin/plekwijzer demo
fi

mkdir -p "$RUN_DIR/logs" "$RUN_DIR/tmp" "$RUN_DIR/certs"
pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

upstreams=""
for i in $(seq 0 $((REPLICAS - 1))); do
  api_port=$((FIRST_API_PORT + i))
  .venv/bin/plekwijzer serve --host 127.0.0.1 --port "$api_port" --log-level warning \
    >"$RUN_DIR/logs/api-$api_port.log" 2>&1 &
  pids+=($!)
  upstreams+="    server 127.0.0.1:$api_port max_fails=3 fail_timeout=5s;"$'\n'
done

cat > "$RUN_DIR/nginx.conf" <<NGINX
# Written by scripts/production.sh; the same proxy rules as deploy/nginx-compose.conf.
worker_processes 1;
daemon off;
pid $RUN_DIR/nginx.pid;
error_log $RUN_DIR/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $RUN_DIR/tmp/body;
    proxy_temp_path $RUN_DIR/tmp/proxy;
    fastcgi_temp_path $RUN_DIR/tmp/fastcgi;
    uwsgi_temp_path $RUN_DIR/tmp/uwsgi;
    scgi_temp_path $RUN_DIR/tmp/scgi;
    upstream plekwijzer_api {
$upstreams        keepalive 32;
    }
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      '';
    }
    # Plain HTTP only redirects to HTTPS: no youth data over an unencrypted connection.
    server {
        listen $HOST:$HTTP_PORT;
        server_tokens off;
        location / {
            return 301 https://\$host:$PORT\$request_uri;
        }
    }
    server {
        # (Debian's nginx 1.22 has no "http2 on;" yet: the listen parameter works on both.)
        listen $HOST:$PORT ssl http2;
        server_tokens off;
        client_max_body_size 2m;
        ssl_certificate $CERT_DIR/fullchain.pem;
        ssl_certificate_key $CERT_DIR/privkey.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:TLS:10m;
        ssl_session_timeout 1d;
        ssl_session_tickets off;
        location / {
            proxy_pass http://plekwijzer_api;
            proxy_http_version 1.1;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 1h;
            proxy_next_upstream error timeout http_502 http_503;
        }
    }
}
NGINX

# Wait for every replica before opening the entry point.
for i in $(seq 0 $((REPLICAS - 1))); do
  api_port=$((FIRST_API_PORT + i))
  for _ in $(seq 1 240); do
    if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$api_port/healthz', timeout=1)" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
done
"$NGINX" -c "$RUN_DIR/nginx.conf" -p "$RUN_DIR" &
pids+=($!)
echo "plekwijzer draait: $REPLICAS API-processen achter nginx op https://$HOST:$PORT/ (http://$HOST:$HTTP_PORT/ verwijst daarheen; stoppen met Ctrl+C)"
echo "Logbestanden: $RUN_DIR/logs"
# Ends when any part ends; the trap then stops the rest.
wait -n "${pids[@]}"
