#!/bin/bash
# A browser through tabi serve's TLS port, inside a network namespace of its own (run under `unshare --net`): only
# loopback exists, so nothing the browser does in the background leaves the machine. Started by
# tests/cli/serve_tls_browsers_test.ts:
#   tls_browser.sh DIR BROWSER CA CERT KEY TABI-COMMAND...
# DIR holds site/index.html; the browser loads it from http://127.0.0.1:8000/ through the HTTPS proxy
# https://localhost:8443 (chromium: --proxy-server; firefox: a PAC file answering "HTTPS localhost:8443"), trusting
# CA through an NSS database of its own (certutil). tabi's JSON log is left in DIR/tabi.log, the page in DIR/page.
set -u
dir=$1 browser=$2 ca=$3 cert=$4 key=$5
shift 5
ip link set lo up
python3 -m http.server 8000 --bind 127.0.0.1 --directory "$dir/site" >/dev/null 2>&1 &
site=$!
DENO_NO_UPDATE_CHECK=1 "$@" serve --listen 127.0.0.1:8443 --tls-cert "$cert" --tls-key "$key" --tls-only --log json \
  2>"$dir/tabi.log" &
tabi=$!
for _ in $(seq 100); do
  grep -q "listening on" "$dir/tabi.log" 2>/dev/null && break
  sleep 0.1
done
export HOME=$dir XDG_CONFIG_HOME=$dir/.config XDG_CACHE_HOME=$dir/.cache
if [ "$browser" = chromium ]; then
  mkdir -p "$dir/.pki/nssdb"
  certutil -d "sql:$dir/.pki/nssdb" -N --empty-password
  certutil -d "sql:$dir/.pki/nssdb" -A -t "C,," -n "tabi test root" -i "$ca"
  timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$dir/profile" \
    --proxy-server=https://localhost:8443 --proxy-bypass-list='<-loopback>' \
    --dump-dom http://127.0.0.1:8000/ >"$dir/page" 2>"$dir/browser.log"
else
  profile=$dir/profile
  mkdir -p "$profile"
  certutil -d "sql:$profile" -N --empty-password
  certutil -d "sql:$profile" -A -t "C,," -n "tabi test root" -i "$ca"
  printf 'function FindProxyForURL(url, host) { return "HTTPS localhost:8443"; }\n' >"$dir/proxy.pac"
  cat >"$profile/user.js" <<PREFS
user_pref("network.proxy.type", 2);
user_pref("network.proxy.autoconfig_url", "file://$dir/proxy.pac");
user_pref("network.proxy.allow_hijacking_localhost", true);
user_pref("browser.shell.checkDefaultBrowser", false);
PREFS
  timeout 60 firefox-esr --headless --no-remote --profile "$profile" --screenshot "$dir/page.png" \
    http://127.0.0.1:8000/ >"$dir/browser.log" 2>&1
  [ -s "$dir/page.png" ] && echo screenshot >"$dir/page"
fi
kill "$tabi" "$site"
wait "$tabi"
