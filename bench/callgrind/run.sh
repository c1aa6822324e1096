#!/bin/bash
# Server instructions per operation, with callgrind: stable on a shared, noisy machine where
# throughput is not. Usage (from the repository, after npx tsc -p tsconfig.json):
#
#   bench/callgrind/run.sh <repo-dir> <server> <client> "<warm-up args>" "<measured args>" <ops>
#   bench/callgrind/run.sh . wynd connect-client "300 10" "1000 10" 1000
#   bench/callgrind/run.sh . wynd echo-client "500 100 16 32" "2000 100 16 32" 200000
#
# The server (<repo-dir>'s build, so two builds can be compared) runs under valgrind; the client
# warms it up, the counters are zeroed (callgrind_control -z), the client runs the measured part,
# the counters are dumped (-d); Ir of that dump ÷ <ops> is printed. Counts still depend a little on
# how reads happen to batch frames, so compare builds in the same conditions.
set -e
here=$(cd "$(dirname "$0")/../.." && pwd)/dist/bench/callgrind
dir=$(cd "$1" && pwd); srv=$2; client=$3; warm=$4; measured=$5; ops=$6
out=$(mktemp -d)
valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$out/cg" node "$here/server.js" "$dir" "$srv" >"$out/port" 2>"$out/err" &
pid=$!
for _ in $(seq 1 600); do [ -s "$out/port" ] && break; sleep 0.2; done
port=$(head -1 "$out/port")
node "$here/$client.js" "$port" $warm
callgrind_control -z $pid >/dev/null
node "$here/$client.js" "$port" $measured
callgrind_control -d $pid >/dev/null
kill -TERM $pid; wait $pid 2>/dev/null || true
ir=$(grep -h "^summary:\|^totals:" "$out/cg.1" | head -1 | awk '{print $2}')
echo "$dir $srv $client: $ir instructions, $((ir / ops)) per operation"
rm -rf "$out"
