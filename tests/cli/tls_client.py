"""A TLS client for tabi's TLS tests, written with Python's ssl module (OpenSSL), not tabi's code.

usage: [PROXY_HEADER="PROXY TCP4 ..."] tls_client.py HOST PORT CAFILE MODE [ARG...]
  issuer                              handshake; print "<TLS version> <issuer CN> <ALPN>"
  socks5 MAXVER USER PASS DHOST DPORT  SOCKS5 inside TLS (RFC 1929 when USER is not "-"), CONNECT DHOST:DPORT,
                                      send an HTTP/1.0 GET, print the TLS version, then the reply bytes
  nonsense                            handshake, send bytes no protocol knows, print what came back until the end
"""
import os
import socket
import ssl
import struct
import sys

host, port, cafile, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
args = sys.argv[5:]
context = ssl.create_default_context(cafile=cafile)
context.set_alpn_protocols(["http/1.1"])
if mode == "socks5" and args[0] == "1.2":
    context.maximum_version = ssl.TLSVersion.TLSv1_2
raw = socket.create_connection((host, port), timeout=10)
# A PROXY protocol header in the clear before the ClientHello, as a balancer in front of tabi sends it.
if os.environ.get("PROXY_HEADER"):
    raw.sendall(os.environ["PROXY_HEADER"].encode() + b"\r\n")
tls = context.wrap_socket(raw, server_hostname="localhost")


def read_all():
    data = b""
    while True:
        chunk = tls.recv(65536)
        if not chunk:
            return data
        data += chunk


def exact(n):
    data = b""
    while len(data) < n:
        chunk = tls.recv(n - len(data))
        if not chunk:
            raise SystemExit("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


if mode == "issuer":
    issuer = dict(x[0] for x in tls.getpeercert()["issuer"])["commonName"]
    print(tls.version(), issuer, tls.selected_alpn_protocol())
elif mode == "socks5":
    _, user, password, dhost, dport = args
    method = 0x00 if user == "-" else 0x02
    tls.sendall(bytes([5, 1, method]))
    assert exact(2) == bytes([5, method]), "method refused"
    if method == 0x02:
        u, p = user.encode(), password.encode()
        tls.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
        status = exact(2)
        if status[1] != 0:
            raise SystemExit("RFC 1929 refused: %r" % status)
    name = dhost.encode()
    tls.sendall(bytes([5, 1, 0, 3, len(name)]) + name + struct.pack(">H", int(dport)))
    reply = exact(4)
    if reply[1] != 0:
        raise SystemExit("CONNECT refused: %r" % reply)
    exact({1: 4, 4: 16}.get(reply[3], 0) or exact(1)[0])
    exact(2)
    tls.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    sys.stdout.write(tls.version() + "\n")
    sys.stdout.flush()
    sys.stdout.buffer.write(read_all())
elif mode == "nonsense":
    tls.sendall(b"\x07\x00\xffnot a protocol\r\n\r\n")
    sys.stdout.buffer.write(read_all())
else:
    raise SystemExit("unknown mode " + mode)
