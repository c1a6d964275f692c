#!/usr/bin/env bash
# Side-by-side throughput and tunnel rate: tabi (Deno, Bun, Node) next to microsocks and Dante, with direct as the
# baseline, interleaved runs, socksbench from ../shared/bench. The full benchmark suite (issue 6) builds on this.
# Usage: bash bench/compare.sh [RUNS] [BYTES]        (needs: apt-get install microsocks dante-server)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BYTES=${2:-1073741824}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
gcc -O2 -pthread -o "$work/socksbench" ../shared/bench/socksbench.c
sb="$work/socksbench"
"$sb" sink 19000 & "$sb" echo 19001 &
microsocks -i 127.0.0.1 -p 19100 >/dev/null 2>&1 &
cat > "$work/danted.conf" <<CONF
logoutput: /dev/null
internal: 127.0.0.1 port = 19101
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
CONF
danted -f "$work/danted.conf" >/dev/null 2>&1 &
node_modules/.bin/deno run -A cli/main.ts serve --listen 127.0.0.1:19102 --quiet 2>/dev/null &
node_modules/.bin/bun cli/main.ts serve --listen 127.0.0.1:19103 --quiet 2>/dev/null &
node_modules/.bin/tsx cli/main.ts serve --listen 127.0.0.1:19104 --quiet 2>/dev/null &
sleep 3
declare -A proxies=([direct]=direct [microsocks]=127.0.0.1:19100 [dante]=127.0.0.1:19101 [tabi-deno]=127.0.0.1:19102 [tabi-bun]=127.0.0.1:19103 [tabi-node]=127.0.0.1:19104)
order=(direct microsocks dante tabi-deno tabi-bun tabi-node)
for run in $(seq 1 "$RUNS"); do
  for name in "${order[@]}"; do
    echo "run=$run server=$name $("$sb" tput "${proxies[$name]}" 127.0.0.1:19000 "$BYTES" 1)"
    echo "run=$run server=$name $("$sb" rate "${proxies[$name]}" 127.0.0.1:19001 16 3)"
  done
done
