#!/usr/bin/env python3
"""One TLS 1.3 connection to a loopback listener whose bytes arrive in the awkward shapes.

    tls_flight.py PORT

The ClientHello goes in two sends with a pause between them, so the server's first handshake
step stops for want of bytes and only an EPOLLIN edge can move it on. Then the client's Finished
and two pipelined requests (three records, the second with Connection: close) go out in one
send, so the server reads them in one go: with OpenSSL's read-ahead the two requests sit in
OpenSSL's buffer when the handshake completes, where no further edge will announce them.

Prints "responses N" (N answers with status 200 read before the server closed) and exits 0, or
prints what went wrong and exits 1. Bounded: every socket wait has a 5 s timeout.
"""
import socket
import ssl
import sys
import time


def main():
    port = int(sys.argv[1])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def receive():
        data = sock.recv(65536)
        if not data:
            raise EOFError("the server closed the connection")
        incoming.write(data)

    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    sock.sendall(hello[:20])
    time.sleep(0.1)
    sock.sendall(hello[20:])
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            receive()
    # The Finished is waiting in `outgoing`; the requests join it there and leave together.
    tls.write(b"GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n")
    tls.write(b"GET /second HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    sock.sendall(outgoing.read())

    received = b""
    while True:
        try:
            chunk = tls.read(65536)
            if not chunk:  # close_notify
                break
            received += chunk
            continue
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            break
        try:
            receive()
        except EOFError:
            break
    print("responses", received.count(b"HTTP/1.1 200 "))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the test prints what happened
        print("failed:", type(error).__name__, error)
        sys.exit(1)
