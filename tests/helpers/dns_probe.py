"""Sends a DNS port the bad input a careful DNS server must survive, over UDP and TCP, and prints what came back
as one JSON object. Usage: dns_probe.py PORT (127.0.0.1). Standard library only."""
import json
import socket
import struct
import sys

PORT = int(sys.argv[1])
ADDR = ("127.0.0.1", PORT)


def header(ident, flags=0x0100, qd=1):
    return struct.pack(">HHHHHH", ident, flags, qd, 0, 0, 0)


def question(name=b"\x01a\x03org\x00", qtype=1, qclass=1):
    return name + struct.pack(">HH", qtype, qclass)


def rcode(message):
    return message[3] & 0x0F


def udp(messages):
    """Sends each message, then one good query (ID 0xBEEF); returns the rcodes by ID of all answers up to the good one."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    for m in messages:
        s.sendto(m, ADDR)
    s.sendto(header(0xBEEF) + question(), ADDR)
    seen = {}
    while True:
        data, _ = s.recvfrom(4096)
        ident = struct.unpack(">H", data[:2])[0]
        seen[hex(ident)] = rcode(data)
        if ident == 0xBEEF:
            return seen


def tcp_exchange(payload):
    """Sends raw bytes on a fresh TCP connection; returns the frames received until the server closes."""
    s = socket.create_connection(ADDR, timeout=20)
    s.sendall(payload)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    frames = []
    while len(data) >= 2:
        n = struct.unpack(">H", data[:2])[0]
        frames.append(rcode(data[2 : 2 + n]))
        data = data[2 + n :]
    return frames


def frame(message):
    return struct.pack(">H", len(message)) + message


out = {}
long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"
out["udp"] = udp(
    [
        header(1) + b"\x05ab",  # truncated label
        header(2) + b"\xc0\x0c" + struct.pack(">HH", 1, 1),  # a name pointing at itself
        header(3) + question(long_name),  # a name over 255 octets
        header(4, qd=2) + question() + question(),  # two questions
        header(5) + question(qclass=3),  # class CH
        header(6, flags=0x1100) + question(),  # opcode 2 (STATUS)
        header(7, flags=0x8100) + question(),  # a response: dropped
        b"\x00\x08\x01",  # a runt: dropped
        header(9) + question(qtype=15),  # MX
    ]
)
# A prefix shorter than a header: the server hangs up without an answer.
out["tcp_short_prefix"] = tcp_exchange(b"\x00\x05hello")
# Two queries in one write, then a prefix that promises more than ever comes: two answers, then the idle timeout.
out["tcp_pipelined_then_lying"] = tcp_exchange(
    frame(header(10) + question()) + frame(header(11) + question(qtype=28)) + b"\x01\x00" + b"x" * 20
)
print(json.dumps(out))
