/**
 * Happy Eyeballs (RFC 8305) with real sockets, inside a network namespace of the test's own (`unshare --net
 * --mount`): a name whose first address silently drops packets (a veth neighbour that answers nothing: the SYN
 * leaves and nothing comes back) and whose second works, both ways round (the IPv6 address dropped, then the IPv4
 * one). With the connect timeout at 60 s, `tabi serve`'s direct route reaches the working address within the
 * attempt delay, the log says which address won, and no attempt is left half-open (no SYN-SENT socket remains);
 * `tabi connect` reaches a first proxy given by that name the same way. The old one-after-another connect waited
 * for the whole connect timeout here.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { requirePeer } from "../helpers/peers.ts";
import { cliCommand, run } from "../helpers/process.ts";

/** One way round: the name's addresses (dropped one first, as the resolver orders them) and where tabi listens. */
interface Case {
  readonly dropped: string;
  readonly working: string;
  /** /etc/gai.conf in the namespace: glibc sorts IPv6 first by default; this puts IPv4 first when needed. */
  readonly gaiConf: string;
  readonly listen: string;
}

const SETUP = `
set -e
ip link set lo up
# A veth pair whose far end owns neither address: packets to the dropped addresses leave and are never answered.
ip link add v0 type veth peer name v1
ip link set v0 up
ip link set v1 up
ip addr add 198.51.100.1/24 dev v0
ip -6 addr add 2001:db8::1/64 dev v0 nodad
ip neigh add 198.51.100.2 lladdr 02:00:00:00:00:02 dev v0
ip -6 neigh add 2001:db8::2 lladdr 02:00:00:00:00:02 dev v0
`;

async function raceIn(wayRound: Case): Promise<string> {
  for (const tool of ["unshare", "ip", "mount", "ss", "curl", "python3"]) requirePeer(tool);
  const dir = mkdtempSync(join(tmpdir(), "tabi-he-"));
  try {
    writeFileSync(join(dir, "hosts"), `${wayRound.dropped} he.test\n${wayRound.working} he.test\n`);
    writeFileSync(join(dir, "gai.conf"), wayRound.gaiConf);
    writeFileSync(join(dir, "index.html"), "he-page-marker\n");
    const [command, args] = cliCommand();
    const tabi = [command, ...args].map((a) => `'${a}'`).join(" ");
    const script = `${SETUP}
mount --bind '${dir}/hosts' /etc/hosts
mount --bind '${dir}/gai.conf' /etc/gai.conf
echo "ORDER $(getent ahosts he.test | awk '/STREAM/ {print $1}' | tr '\\n' ' ')"
python3 -m http.server 18090 --bind :: --directory '${dir}' 2> /dev/null &
PAGE=$!
${tabi} serve --listen ${wayRound.listen} --connect-timeout 60 2> '${dir}/tabi.log' &
TABI=$!
for i in $(seq 1 150); do
  (exec 3<>/dev/tcp/${
      wayRound.listen.replace(/^\[|\]:18080$|:18080$/g, "")
    }/18080) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/18090) 2>/dev/null && break
  sleep 0.2
done
echo "CURL $(curl -s -o '${dir}/page' --max-time 20 -w '%{http_code} %{time_total}' --socks5-hostname '${wayRound.listen}' http://he.test:18090/index.html || true)"
echo "PAGE $(cat '${dir}/page' 2>/dev/null)"
echo "SYNSENT $(ss -Htn state syn-sent | wc -l)"
printf 'GET /index.html HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' | timeout 20 ${tabi} connect --timeout 60 --proxy socks5h://he.test:18080 127.0.0.1 18090 > '${dir}/connect.out' 2>&1 || true
echo "CONNECT $(grep -c he-page-marker '${dir}/connect.out')"
echo "SYNSENT2 $(ss -Htn state syn-sent | wc -l)"
kill $PAGE $TABI
wait $TABI || true
cat '${dir}/tabi.log'
`;
    const result = await run("unshare", ["--net", "--mount", "bash", "-c", script], { timeoutMs: 150_000 });
    return `${new TextDecoder().decode(result.stdout)}\n${result.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function check(out: string, wayRound: Case): void {
  const order = /^ORDER (.*)$/m.exec(out)?.[1]?.trim().split(" ");
  assert.deepEqual(order, [wayRound.dropped, wayRound.working], `the resolver puts the dropped address first\n${out}`);
  const curl = /^CURL (\d+) ([\d.]+)$/m.exec(out);
  assert.ok(curl, out);
  assert.equal(curl[1], "200", out);
  // RFC 8305: the second address after the 250 ms attempt delay, not after the 60 s connect timeout.
  assert.ok(Number(curl[2]) < 1, `the page came in ${curl[2]} s\n${out}`);
  assert.match(out, /^PAGE he-page-marker$/m);
  const working = wayRound.working.includes(":") ? `[${wayRound.working}]` : wayRound.working;
  assert.match(
    out,
    new RegExp(
      `command=connect destination=he\\.test:18090 .*connected=${
        working.replace(/[.[\]]/g, "\\$&")
      }:18090 .*outcome=ok`,
    ),
  );
  // The loser was aborted: nothing left trying to connect to the dropped address.
  assert.match(out, /^SYNSENT 0$/m, out);
  // `tabi connect` to a first proxy given by name: the same race, on the client side.
  assert.match(out, /^CONNECT 1$/m, out);
  assert.match(out, /^SYNSENT2 0$/m, out);
}

describe("Happy Eyeballs in a network namespace where one family drops packets", () => {
  it("the IPv6 address drops: the IPv4 one wins within the attempt delay", async () => {
    const wayRound = { dropped: "2001:db8::2", working: "127.0.0.1", gaiConf: "", listen: "127.0.0.1:18080" };
    check(await raceIn(wayRound), wayRound);
  });

  it("the IPv4 address drops: the IPv6 one wins within the attempt delay", async () => {
    const wayRound = {
      dropped: "198.51.100.2",
      working: "::1",
      gaiConf: "precedence ::ffff:0:0/96 100\nprecedence ::1/128 50\nprecedence ::/0 40\n",
      listen: "[::1]:18080",
    };
    check(await raceIn(wayRound), wayRound);
  });
});
