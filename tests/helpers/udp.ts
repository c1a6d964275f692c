/** UDP ASSOCIATE from the test's side: a socket that queues what it receives, and the control connection's request. */
import type { Datagram, UdpSocket } from "../../lib/net/network.ts";
import { decodeSocks5MethodSelection, encodeSocks5Greeting } from "../../lib/wire/socks5_greeting.ts";
import { decodeSocks5Reply, encodeSocks5Request, type Socks5ReplyMessage } from "../../lib/wire/socks5_request.ts";
import { network, type RawClient, rawClient, type testServer } from "./net.ts";
import { concat } from "./bytes.ts";

/** A UDP socket on `hostname` that queues what it receives; `next` waits up to `ms` for the next datagram. */
export async function udpInbox(
  hostname = "127.0.0.1",
): Promise<{ socket: UdpSocket; next(ms?: number): Promise<Datagram | undefined> }> {
  const inbox: Datagram[] = [];
  const waiters: ((d: Datagram) => void)[] = [];
  const socket = await network.bindUdp({ hostname, port: 0 }, (d) => {
    const waiter = waiters.shift();
    if (waiter) waiter(d);
    else inbox.push(d);
  });
  const next = (ms = 2000) =>
    new Promise<Datagram | undefined>((resolve) => {
      const queued = inbox.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => resolve(undefined), ms);
      waiters.push((d) => {
        clearTimeout(timer);
        resolve(d);
      });
    });
  return { socket, next };
}

/** A SOCKS5 UDP ASSOCIATE (no authentication) for datagrams from 127.0.0.1:`clientPort`: its control and reply. */
export async function associate(
  server: Awaited<ReturnType<typeof testServer>>,
  clientPort: number,
): Promise<{ control: RawClient; reply: Socks5ReplyMessage }> {
  const control = await rawClient(server.endpoint);
  await control.send(concat(
    encodeSocks5Greeting({ methods: [0] }),
    encodeSocks5Request({
      command: 3,
      destination: { address: { type: "ipv4", host: "127.0.0.1" }, port: clientPort },
    }),
  ));
  await control.reader.read(decodeSocks5MethodSelection);
  const reply = await control.reader.read(decodeSocks5Reply);
  return { control, reply };
}
