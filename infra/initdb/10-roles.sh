#!/bin/sh
# Runs once when the PostGIS container creates its database: the app's login role.
set -eu
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" <<SQL
CREATE ROLE codeliver_rw NOLOGIN;
CREATE ROLE codeliver_app LOGIN PASSWORD '${CODELIVER_APP_PASSWORD}' IN ROLE codeliver_rw;
SQL
