#!/bin/sh
# PostgreSQL's first start (docker-entrypoint-initdb.d): the two roles of the stack.
# tally_owner owns the database and its schema and runs the migrations (the `migrate` service);
# tally_app is what the API, workers and beat connect as: it owns nothing, and `tally db upgrade`
# grants it only what the application needs (models/roles.py, TALLY_DB_APP_ROLE).
# Their passwords come from the `secrets` volume (deploy/init-secrets.sh).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v owner_password="$(cat /run/tally-secrets/owner)" -v app_password="$(cat /run/tally-secrets/app)" <<'SQL'
CREATE ROLE tally_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE tally_app LOGIN PASSWORD :'app_password';
ALTER DATABASE tally OWNER TO tally_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
