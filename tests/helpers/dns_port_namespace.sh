#!/bin/sh
# Runs inside `unshare --net --mount`: a loopback-only network where tabi's DNS port is the system resolver.
# The proxy side sees a hosts file with the destination's name; the clients, in a nested mount namespace, see one
# without it, so their own lookups can only go to the DNS port, as the leaky rows of the survey do.
# Usage: dns_port_namespace.sh DIR TABI-COMMAND... (DIR holds hosts.server, hosts.client, resolv.conf, www/, client.sh)
set -eu
dir=$1
shift
ip link set lo up
mount --bind "$dir/hosts.server" /etc/hosts
mount --bind "$dir/resolv.conf" /etc/resolv.conf
python3 -m http.server 8080 --bind 127.0.0.1 --directory "$dir/www" >/dev/null 2>&1 &
web=$!
"$@" serve --listen 127.0.0.1:1080 --dns 127.0.0.1:53 --log json 2>"$dir/tabi.log" &
tabi=$!
i=0
until grep -q "listening on" "$dir/tabi.log" && curl -s -o /dev/null --noproxy '*' http://127.0.0.1:8080/; do
  i=$((i + 1))
  [ $i -lt 300 ] || { echo "tabi or the web server did not start" >&2; cat "$dir/tabi.log" >&2; exit 1; }
  sleep 0.1
done
status=0
unshare --mount --propagation private sh -c 'mount --bind "$1/hosts.client" /etc/hosts && sh "$1/client.sh"' \
  sh "$dir" >"$dir/client.out" 2>&1 || status=$?
kill -TERM "$tabi" "$web"
wait "$tabi" || true
exit $status
