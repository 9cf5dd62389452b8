#!/usr/bin/env bash
# Runs ../shared/bench/peer.sh: PostGraphile v4 and v5, the raw SQL ceiling and
# the hub, one after another on one throwaway cluster loaded with the hub's own
# migrations and demo data at scale 10, all under the hub's row-level security
# as the regional council of Hauts-de-France (partner 21, role genhub_detail).
#   bench/peer/run.sh [-d SECONDS] [-c CONNECTIONS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peer=${PEER_SH:-$root/../shared/bench/peer.sh}
go build -o /tmp/genhub-peer "$root/cmd/genhub"
key=$(/tmp/genhub-peer keys demo | awk '$1 == "region-hauts-de-france" { print $3 }')
exec "$peer" "$@" \
  --load '/tmp/genhub-peer migrate && /tmp/genhub-peer seed -scale 10' \
  --peer-schema hub --peer-role genhub_detail --peer-setting genhub.partner=21 \
  --peer-query v4 "$here/postgraphile-v4.graphql" --peer-query v5 "$here/postgraphile-v5.graphql" \
  --raw-sql "$here/raw.sql" \
  --target hub http://127.0.0.1:5678/graphql "$here/hub.graphql" \
  --start hub "GENHUB_RATE=1000000 GENHUB_BURST=1000000 GENHUB_COST_PER_MINUTE=1000000000000 exec /tmp/genhub-peer serve -listen 127.0.0.1:5678 -demo=false -migrate=false -bench-default-key $key"
