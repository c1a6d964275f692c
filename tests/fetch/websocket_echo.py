"""A WebSocket echo server from Debian's python3-websockets (nobody here wrote its protocol code), for the
socksWebSocket tests. It listens on 127.0.0.1 and ::1 at one port (a proxy may resolve `localhost` either way),
with TLS when given a certificate and key, and prints the port. Paths:
  /echo          echoes every message as it came (text as text, binary as binary), up to 2 MiB
  /close/CODE    closes at once with CODE and the reason "bye CODE"
  /protocol      echoes the chosen subprotocol ("chat" if offered) as one text message
  /fragments     pings (and says "pong" once the pong came back), then sends "fragmented message" in three text
                 fragments and the bytes i & 0xff for i in 0..299 in three binary fragments
Usage: /usr/bin/python3 websocket_echo.py [CERT KEY]
"""
import asyncio
import socket
import ssl
import sys

import websockets


async def handler(ws, path):
    if path.startswith("/close/"):
        code = int(path[len("/close/"):])
        await ws.close(code, f"bye {code}")
        return
    if path == "/protocol":
        await ws.send(ws.subprotocol or "")
        await ws.wait_closed()
        return
    if path == "/fragments":
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        await ws.send("pong")
        await ws.send(iter(["fragmented ", "mess", "age"]))
        data = bytes(i & 0xFF for i in range(300))
        await ws.send(iter([data[0:100], data[100:200], data[200:300]]))
        await ws.wait_closed()
        return
    async for message in ws:
        await ws.send(message)


async def main():
    context = None
    if len(sys.argv) == 3:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
    for _ in range(20):
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
        probe.close()
        try:
            server = await websockets.serve(
                handler, ["127.0.0.1", "::1"], port, ssl=context, max_size=2 * 1024 * 1024,
                subprotocols=["chat"], compression=None,
            )
            break
        except OSError:
            continue
    print(port, flush=True)
    async with server:
        await asyncio.Future()


asyncio.run(main())
