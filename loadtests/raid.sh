#!/bin/bash
# The raid scenario against a fresh server: ./loadtests/raid.sh on|raid|off REGULARS RAIDERS
# (T= the directory holding sogs-server, sogs-admin and sogs-loadtest; default target/debug).
# One raid run: $1 = on|off (detectors and raid detection), $2 regulars, $3 raiders.
set -e
T=${T:-target/debug}
D=$(mktemp -d)
export SOGS_SERVER_DATA_DIR=$D SOGS_SERVER_LISTEN=127.0.0.1:18714 SOGS_SERVER_BASE_URL=http://127.0.0.1:18714
export SOGS_METRICS_LISTEN=127.0.0.1:18715 SOGS_ROOMS_POST_RATE_LIMIT=0
export SOGS_ANTIRAID_RAID_NEW_USER_SECS=20 SOGS_ANTIRAID_RAID_WINDOW_SECS=60
# Regulars first polled 25 s before the raid: established for both detectors, as days-old
# members of a real room are (set SPARE=0 to judge everyone).
export SOGS_DETECTORS_FLOOD_SPARE_ESTABLISHED_SECS=${SPARE:-20}
if [ "$1" = raid ]; then export SOGS_DETECTORS_FLOOD_ENABLED=false; fi
if [ "$1" = off ]; then export SOGS_DETECTORS_FLOOD_ENABLED=false SOGS_ANTIRAID_RAID_NEW_POSTERS=0; fi
URL=$($T/sogs-admin room add lobby --name Lobby 2>&1 | grep -o 'http://[^ ]*lobby?public_key=[0-9a-f]*' | head -1)
$T/sogs-server > $D/server.log 2>&1 &
PID=$!
sleep 3
echo "detectors $1; uptime before: $(uptime)"
$T/sogs-loadtest raid --join-url "$URL" --regulars $2 --raiders $3 --raid-secs 60 --settle-secs 25 --poll-ms 2000 --post-secs 15 || true
echo "uptime after: $(uptime)"
kill $PID; wait $PID 2>/dev/null || true
rm -rf $D
