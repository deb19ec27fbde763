#!/usr/bin/env bash
# Docker engine + stand-in base images on a machine with no image registry (docs/runbook.md,
# "Containers without a registry"; adapted from the team's notes/containers-locally.md).
#   bash containers-locally.sh up     # install, start dockerd, build debian/python/postgres/node
#                                     # and mailhog stand-ins tagged with the upstream names
#   bash containers-locally.sh down   # stop that dockerd (by its pid), undo the optional NAT rule
# Env: CL_DIR (default /tmp/cl: data root, socket, logs), CL_NAT=1 (add one MASQUERADE rule so
# containers on bridge networks reach the package registries; otherwise build with --network host).
# Clients then need: export DOCKER_HOST=unix://$CL_DIR/docker.sock
set -euo pipefail
CL_DIR=${CL_DIR:-/tmp/cl}
export DOCKER_HOST=unix://$CL_DIR/docker.sock
DOCKER=/usr/bin/docker            # Debian's 20.10 CLI (matches the engine; has built-in BuildKit)
NAT_RULE=(POSTROUTING -s 172.16.0.0/12 ! -d 172.16.0.0/12 -j MASQUERADE)
t0=$SECONDS; log() { echo "[containers-locally +$((SECONDS - t0))s] $*"; }

mirror() {   # the Debian mirror apt already uses here
  local u
  u=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  [ -n "$u" ] || u=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  echo "${u%/}"
}

up() {
  mkdir -p "$CL_DIR"
  if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
    log "apt-get install docker.io docker-compose debootstrap"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io docker-compose debootstrap >/dev/null
  fi
  if ! $DOCKER info >/dev/null 2>&1; then
    log "starting dockerd (log: $CL_DIR/dockerd.log)"
    nohup dockerd --iptables=false --ip6tables=false --data-root "$CL_DIR/root" --exec-root "$CL_DIR/exec" \
      -H "$DOCKER_HOST" --pidfile "$CL_DIR/dockerd.pid" >"$CL_DIR/dockerd.log" 2>&1 &
    for _ in $(seq 60); do $DOCKER info >/dev/null 2>&1 && break; sleep 0.5; done
    $DOCKER info >/dev/null
  fi
  if [ "${CL_NAT:-0}" = 1 ] && ! iptables -t nat -C "${NAT_RULE[@]}" 2>/dev/null; then
    iptables -t nat -A "${NAT_RULE[@]}"; log "NAT rule added"
  fi
  $DOCKER image inspect debian:bookworm-slim >/dev/null 2>&1 || base_image
  build python:3.11-slim python_ctx; build postgres:15-alpine postgres_ctx; build node:18-alpine node_ctx
  build mailhog/mailhog:latest mailhog_ctx
  log "ready: export DOCKER_HOST=$DOCKER_HOST"
}

base_image() {
  local R=$CL_DIR/rootfs M; M=$(mirror)
  log "debootstrap bookworm from $M"
  rm -rf "$R"; debootstrap --variant=minbase bookworm "$R" "$M" >"$CL_DIR/debootstrap.log" 2>&1
  rm -f "$R/etc/apt/sources.list"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: %s-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$M" "$M" >"$R/etc/apt/sources.list.d/debian.sources"
  printf 'Acquire::Check-Valid-Until "false";\nAcquire::Languages "none";\nAcquire::GzipIndexes "true";\n' >"$R/etc/apt/apt.conf.d/90local"
  cat >"$R/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' >"$R/etc/dpkg/dpkg.cfg.d/docker"
  # TLS to the registries is re-signed by a private CA here: give images the host's extra CAs;
  # any later 'apt-get install ca-certificates' merges them into /etc/ssl/certs/ca-certificates.crt
  mkdir -p "$R/usr/local/share/ca-certificates"; cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/" 2>/dev/null || true
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/usr/share/man/* "$R"/usr/share/info/*
  find "$R/usr/share/doc" -mindepth 2 ! -name copyright -type f -delete; find "$R/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  : >"$R/etc/resolv.conf"; : >"$R/etc/hostname"
  tar -C "$R" -c . | $DOCKER import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$R"; log "imported debian:bookworm-slim"
}

build() {   # build TAG from the context that function $2 writes, unless TAG exists
  $DOCKER image inspect "$1" >/dev/null 2>&1 && return 0
  local ctx=$CL_DIR/ctx/${1%%:*}; rm -rf "$ctx"; mkdir -p "$ctx"; "$2" "$ctx"
  log "building $1"; $DOCKER build -q --force-rm --network host -t "$1" "$ctx" >/dev/null; log "built $1"
}

python_ctx() { cat >"$1/Dockerfile" <<'EOF'
# stand-in for python:3.11-slim: Debian's Python 3.11.2 and pip 23 (system-wide pip allowed, as upstream)
FROM debian:bookworm-slim
ENV LANG=C.UTF-8 PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip ca-certificates \
 && ln -s /usr/bin/python3 /usr/local/bin/python && ln -s /usr/bin/pip3 /usr/local/bin/pip && rm -rf /var/lib/apt/lists/*
CMD ["python3"]
EOF
}

node_ctx() { cat >"$1/Dockerfile" <<'EOF'
# stand-in for node:18-alpine: Debian's Node 18 + npm 9 (no yarn/corepack, no apk)
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm ca-certificates && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/sh --create-home node
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
}

mailhog_ctx() {   # SMTP on 1025, MailHog's JSON API (/api/v2/messages) and a list page on 8025
  cat >"$1/Dockerfile" <<'EOF'
# stand-in for mailhog/mailhog: aiosmtpd + the subset of MailHog's HTTP API that tests read
FROM python:3.11-slim
RUN pip install --no-cache-dir aiosmtpd==1.4.6 && useradd --uid 1000 --create-home mailhog
COPY mailhog.py /usr/local/bin/mailhog.py
USER mailhog
EXPOSE 1025 8025
ENTRYPOINT ["python3", "/usr/local/bin/mailhog.py"]
EOF
  cat >"$1/mailhog.py" <<'EOF'
"""MailHog stand-in: keeps mail in memory; GET /api/v2/messages like MailHog, DELETE /api/v1/messages."""
import email, email.policy, json, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from aiosmtpd.controller import Controller

MESSAGES, LOCK = [], threading.Lock()

class Handler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content.decode("utf-8", "replace")
        msg = email.message_from_string(raw, policy=email.policy.default)
        headers = {k: [str(v) for v in msg.get_all(k, [])] for k in dict.fromkeys(msg.keys())}
        body = msg.get_body(preferencelist=("plain", "html"))
        item = {"ID": uuid.uuid4().hex, "Created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "Raw": {"From": envelope.mail_from, "To": list(envelope.rcpt_tos), "Data": raw},
                "Content": {"Headers": headers, "Body": body.get_content() if body else ""}}
        with LOCK:
            MESSAGES.insert(0, item)
        return "250 OK"

class Web(BaseHTTPRequestHandler):
    def _send(self, code, body, kind="application/json"):
        data = body.encode()
        self.send_response(code); self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def do_GET(self):
        with LOCK:
            items = list(MESSAGES)
        if self.path.startswith("/api/v2/messages"):
            self._send(200, json.dumps({"total": len(items), "count": len(items), "start": 0, "items": items}))
        elif self.path == "/":
            rows = "".join(f"<li>{i['Content']['Headers'].get('Subject', [''])[0]}</li>" for i in items)
            self._send(200, f"<h1>MailHog (stand-in)</h1><ul>{rows}</ul>", "text/html")
        else:
            self._send(404, "{}")
    def do_DELETE(self):
        with LOCK:
            MESSAGES.clear()
        self._send(200, "{}")
    def log_message(self, *args):
        pass

Controller(Handler(), hostname="0.0.0.0", port=1025).start()
ThreadingHTTPServer(("0.0.0.0", 8025), Web).serve_forever()
EOF
}

postgres_ctx() { cat >"$1/Dockerfile" <<'EOF'
# stand-in for postgres:15-alpine: Debian's postgresql-15, a reduced copy of the official entrypoint
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-common \
 && sed -ri 's/#?(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf \
 && apt-get install -y --no-install-recommends postgresql-15 gosu && rm -rf /var/lib/apt/lists/* \
 && sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/15/postgresql.conf.sample \
 && mkdir -p /docker-entrypoint-initdb.d /var/run/postgresql && chown postgres: /var/run/postgresql && chmod 3777 /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
COPY docker-entrypoint.sh /usr/local/bin/
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
EOF
  cat >"$1/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# POSTGRES_USER/PASSWORD/DB/INITDB_ARGS/HOST_AUTH_METHOD and /docker-entrypoint-initdb.d (*.sql, *.sql.gz, *.sh)
set -eu
[ "${1#-}" != "$1" ] && set -- postgres "$@"
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
  exec gosu postgres "$0" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    echo "error: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)" >&2; exit 1; fi
  pw=$(mktemp); printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pw"
  initdb --username="$POSTGRES_USER" --pwfile="$pw" --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" ${POSTGRES_INITDB_ARGS:-}
  rm -f "$pw"; echo "host all all all $POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -w start -o "-c listen_addresses='' -p 5432"
  export PGUSER="$POSTGRES_USER" PGPASSWORD="${POSTGRES_PASSWORD:-}"
  [ "$POSTGRES_DB" != postgres ] && psql -v ON_ERROR_STOP=1 --dbname postgres -c "CREATE DATABASE \"$POSTGRES_DB\";"
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; . "$f" ;;
      *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "running $f"; gunzip -c "$f" | psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop; unset PGPASSWORD
  echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
EOF
  chmod +x "$1/docker-entrypoint.sh"
}

down() {
  if [ -s "$CL_DIR/dockerd.pid" ]; then
    local pid; pid=$(cat "$CL_DIR/dockerd.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      log "dockerd $pid stopped"
    fi
  fi
  # dockerd leaves its default netns bind-mounted; unmount so that rm -rf "$CL_DIR" works
  grep -oE " $CL_DIR/exec/netns/[^ ]+" /proc/mounts | xargs -r umount 2>/dev/null || true
  if ! pgrep -x dockerd >/dev/null; then   # no other engine: drop what dockerd leaves behind
    ip link del docker0 2>/dev/null || true; rmdir /run/docker/plugins /run/docker 2>/dev/null || true
  fi
  iptables -t nat -D "${NAT_RULE[@]}" 2>/dev/null && log "NAT rule removed" || true
}

case "${1:-up}" in up) up ;; down) down ;; *) echo "usage: $0 up|down" >&2; exit 2 ;; esac
