"""A DNS recorder for the DNS-leak test: listens on UDP and TCP port 53 of the address given, writes every question
it gets as one line ("name qtype") to the log file given, and answers each one NXDOMAIN (nothing useful, and no
timeout to wait for). Prints "ready" once both sockets listen.

Usage: python3 dns_recorder.py ADDRESS LOGFILE
"""
import socket
import struct
import sys
import threading

address, log_path = sys.argv[1], sys.argv[2]
log = open(log_path, "a", buffering=1)
lock = threading.Lock()


def answer(message):
    """Records the question of `message` and returns an NXDOMAIN reply to it (None when it is not a query)."""
    if len(message) < 12:
        return None
    at, labels = 12, []
    while at < len(message) and message[at] != 0:
        length = message[at]
        labels.append(message[at + 1:at + 1 + length].decode("latin-1"))
        at += 1 + length
    qtype = struct.unpack("!H", message[at + 1:at + 3])[0] if at + 3 <= len(message) else 0
    with lock:
        log.write(f"{'.'.join(labels)} {qtype}\n")
    # QR, the query's RD, RA, RCODE 3 (NXDOMAIN, RFC 1035 section 4.1.1); the question echoed, no records.
    flags = 0x8000 | (struct.unpack("!H", message[2:4])[0] & 0x0100) | 0x0080 | 3
    return message[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + message[12:at + 5]


def serve_udp(sock):
    while True:
        message, peer = sock.recvfrom(4096)
        reply = answer(message)
        if reply is not None:
            sock.sendto(reply, peer)


def serve_tcp_client(conn):
    with conn:
        while True:
            head = conn.recv(2, socket.MSG_WAITALL)
            if len(head) < 2:
                return
            message = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
            reply = answer(message)
            if reply is None:
                return
            conn.sendall(struct.pack("!H", len(reply)) + reply)


def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_client, args=(conn,), daemon=True).start()


udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((address, 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((address, 53))
tcp.listen(16)
threading.Thread(target=serve_udp, args=(udp,), daemon=True).start()
threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
print("ready", flush=True)
# Runs until its parent closes stdin (or kills it).
sys.stdin.read()
