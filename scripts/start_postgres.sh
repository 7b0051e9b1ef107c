#!/usr/bin/env bash
# Start a local PostgreSQL server for the saved-scenario tests (installing Debian's
# postgresql first when absent) and create their role and database. Idempotent.
# Prints the SQLAlchemy URL of that database on stdout, for MADOGUCHI_TEST_PG_URL:
#   export MADOGUCHI_TEST_PG_URL="$(scripts/start_postgres.sh)"
set -euo pipefail

role=madoguchi
password=madoguchi
database=madoguchi_test

# the server binaries, not only the client (psql) that some machines come with
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || ! command -v pg_lsclusters >/dev/null; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
if [ -z "$(pg_lsclusters --no-header)" ]; then
    pg_createcluster "$(ls /usr/lib/postgresql | sort -n | tail -1)" main >&2
fi
read -r version cluster port _ < <(pg_lsclusters --no-header | head -1)
pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1 || pg_ctlcluster "$version" "$cluster" start >&2

as_postgres() { runuser -u postgres -- psql --port "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }
for _ in $(seq 30); do as_postgres -c "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
if [ -z "$(as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" ]; then
    as_postgres -c "CREATE ROLE $role LOGIN PASSWORD '$password'" >&2
fi
if [ -z "$(as_postgres -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]; then
    as_postgres -c "CREATE DATABASE $database OWNER $role" >&2
fi
echo "postgresql+psycopg2://$role:$password@127.0.0.1:$port/$database"
