#!/bin/bash
# CI stand-in for the official postgres image's entrypoint: on an empty $PGDATA, initdb with
# POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB and password logins over the network; then run.
set -euo pipefail
mkdir -p "$PGDATA"
chown -R postgres:postgres "$PGDATA"
chmod 0700 "$PGDATA"
as_postgres() { runuser -u postgres -- "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
  chown postgres /tmp/pwfile
  as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f /tmp/pwfile
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_postgres pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
  if [ "${POSTGRES_DB:-$POSTGRES_USER}" != postgres ]; then
    as_postgres psql -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -qc "CREATE DATABASE \"${POSTGRES_DB:-$POSTGRES_USER}\""
  fi
  as_postgres pg_ctl -D "$PGDATA" -w stop >/dev/null
fi
mkdir -p /var/run/postgresql && chown postgres /var/run/postgresql
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*'
