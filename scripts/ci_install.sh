#!/usr/bin/env bash
# System packages the tests need, installed only when missing (called by .ci/run, as root).
# - PostgreSQL server binaries (initdb, pg_ctl, postgres): tests/support/postgres_fixture.py starts a
#   throwaway cluster on loopback; without them the PostgreSQL tests fail (they never skip).
set -euo pipefail

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null && ! command -v initdb > /dev/null; then
    echo "ci_install: installing PostgreSQL (initdb not found)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql > /dev/null
    # the Debian package starts a cluster of its own; the tests run their own
    if command -v pg_ctlcluster > /dev/null; then
        for conf in /etc/postgresql/*/main; do
            [ -d "$conf" ] || continue
            version=$(basename "$(dirname "$conf")")
            pg_ctlcluster "$version" main stop 2> /dev/null || true
        done
    fi
fi
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || command -v initdb > /dev/null || {
    echo "ci_install: PostgreSQL is still missing after apt-get install" >&2
    exit 1
}
echo "ci_install: PostgreSQL $(ls /usr/lib/postgresql/ 2> /dev/null | sort -V | tail -1) ready"
