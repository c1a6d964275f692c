"""A TCP relay that answers each client's SOCKS5 greeting with 05 01 (GSS-API) the moment it connects, relays to
the server, and drops the server's own first two bytes (its method selection, checked to be 05 01 too).

curl 7.88 forgets that it offered GSS-API unless the method selection is already waiting when it first reads;
answering at accept time, from native code, wins that race most of the time. Prints its port, then serves.
"""
import socket
import sys
import threading

target = ("127.0.0.1", int(sys.argv[1]))
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)


def pump(source, sink, skip):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if skip:
                head, data = data[:skip], data[skip:]
                if head != b"\x05\x01"[2 - skip:2 - skip + len(head)]:
                    print("server chose", head.hex(), flush=True)
                skip -= len(head)
            if data:
                sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client):
    try:
        server = socket.create_connection(target)
    except OSError:
        client.close()
        return
    a = threading.Thread(target=pump, args=(client, server, 0))
    b = threading.Thread(target=pump, args=(server, client, 2))
    a.start()
    b.start()
    a.join()
    b.join()
    client.close()
    server.close()


while True:
    connection, _ = listener.accept()
    # At once, before anything else: curl reads right after sending its greeting.
    connection.sendall(b"\x05\x01")
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
