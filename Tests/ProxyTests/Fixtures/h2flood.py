#!/usr/bin/env python3
"""Misbehaving HTTP/2 clients for the proxy's flood tests (H2FloodTests.swift).

    h2flood.py PORT KIND [COUNT]

Connects to 127.0.0.1:PORT with the h2c prior-knowledge preface and sends one kind of flood
as hand-built frames (header blocks come from the `hpack` package that `h2` brings), bounded
in count (COUNT frames or rounds) and in time (a few seconds; the test adds `timeout 20`).
Meanwhile a reader thread parses what the proxy sends, unless the kind is one that never reads.
Prints one JSON object: the GOAWAY error code seen (or null), whether the proxy closed the
connection (EOF or reset), how many frames were sent, the frames received by type, the
RST_STREAM codes received, and the :status of each response.

Only ever talks to 127.0.0.1.
"""
import json
import socket
import struct
import sys
import threading
import time

from hpack import Decoder, Encoder

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
TYPE_NAMES = {DATA: "DATA", HEADERS: "HEADERS", PRIORITY: "PRIORITY", RST_STREAM: "RST_STREAM",
              SETTINGS: "SETTINGS", PUSH_PROMISE: "PUSH_PROMISE", PING: "PING", GOAWAY: "GOAWAY",
              WINDOW_UPDATE: "WINDOW_UPDATE", CONTINUATION: "CONTINUATION"}
DEADLINE = 12.0  # seconds for the whole run, inside the test's own `timeout 20`


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream & 0x7FFFFFFF) + payload


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def request_block(method="GET", path="/", extra=()):
    # A fresh encoder: the block only uses the static table and literals, so the same bytes are
    # a valid header block every time they are sent.
    return Encoder().encode([(":method", method), (":scheme", "http"), (":path", path),
                             (":authority", "127.0.0.1")] + list(extra))


class Reader(threading.Thread):
    """Parses the proxy's frames until EOF, a reset, or the deadline."""

    def __init__(self, sock, until):
        super().__init__(daemon=True)
        self.sock, self.until = sock, until
        self.goaway = None
        self.closed = False
        self.frames = {}
        self.resets = {}
        self.statuses = []
        self.decoder = Decoder()
        self.decoder.max_allowed_table_size = 65536

    def run(self):
        buf = b""
        self.sock.settimeout(0.2)
        while time.monotonic() < self.until:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                self.closed = True
                return
            if not chunk:
                self.closed = True
                return
            buf += chunk
            while len(buf) >= 9:
                length = int.from_bytes(buf[0:3], "big")
                if len(buf) < 9 + length:
                    break
                kind, flags = buf[3], buf[4]
                stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                payload = buf[9:9 + length]
                buf = buf[9 + length:]
                name = TYPE_NAMES.get(kind, str(kind))
                self.frames[name] = self.frames.get(name, 0) + 1
                if kind == GOAWAY and len(payload) >= 8:
                    self.goaway = int.from_bytes(payload[4:8], "big")
                elif kind == RST_STREAM and len(payload) == 4:
                    code = int.from_bytes(payload, "big")
                    self.resets[str(code)] = self.resets.get(str(code), 0) + 1
                elif kind == HEADERS:
                    try:
                        for key, value in self.decoder.decode(payload):
                            if key in (":status", b":status"):
                                self.statuses.append(int(value))
                    except Exception:  # trailers or a block we cannot read: not needed here
                        pass


class Flood:
    def __init__(self, port, kind, count, never_read=False, rcvbuf=None, reader=True):
        self.kind, self.count = kind, count
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.until = time.monotonic() + DEADLINE
        self.sent = 0
        self.send_failed = False
        self.stalled = False
        self.reader = Reader(self.sock, self.until) if reader and not never_read else None
        if self.reader:
            self.reader.start()
        else:
            self.sock.settimeout(3)
        self.write_lock = threading.Lock()

    def send(self, data, frames=1):
        """False once the proxy is gone (the flood stops there)."""
        if self.send_failed or time.monotonic() > self.until:
            return False
        try:
            with self.write_lock:
                self.sock.sendall(data)
        except socket.timeout:
            self.stalled = True  # the proxy stopped reading from us
            self.send_failed = True
            return False
        except OSError:
            self.send_failed = True
            return False
        self.sent += frames
        return True

    def batched(self, one, total, per_batch=200):
        """Sends `one` (a frame or frames) `total` times, `per_batch` at a time."""
        done = 0
        while done < total:
            n = min(per_batch, total - done)
            if not self.send(one * n, n):
                return
            done += n

    def finish(self, wait):
        """Waits (bounded) for the proxy to end the connection, then reports."""
        end = min(self.until, time.monotonic() + wait)
        if self.reader:
            self.reader.join(max(0.0, end - time.monotonic()))
            r = self.reader
            closed, goaway, frames, resets, statuses = r.closed, r.goaway, dict(r.frames), dict(r.resets), list(r.statuses)
        else:
            # Never read during the flood; now see whether the proxy is gone.
            closed, goaway, frames, resets, statuses = self.send_failed, None, {}, {}, []
            self.sock.settimeout(0.2)
            data = b""
            while time.monotonic() < end:
                try:
                    chunk = self.sock.recv(1 << 20)
                except socket.timeout:
                    continue
                except OSError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                data += chunk
            goaway = last_goaway(data)
        report = {"kind": self.kind, "sent": self.sent, "closed": closed, "goaway": goaway,
                  "frames": frames, "resets": resets, "statuses": statuses, "stalled": self.stalled}
        try:
            self.sock.close()
        except OSError:
            pass
        print(json.dumps(report))


def last_goaway(data):
    code, at = None, 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at:at + 3], "big")
        if data[at + 3] == GOAWAY and at + 9 + length <= len(data) and length >= 8:
            code = int.from_bytes(data[at + 13:at + 17], "big")
        at += 9 + length
    return code


def main():
    port, kind = int(sys.argv[1]), sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    if kind == "h2-client":
        return h2_client(port, count)
    never_read = kind in ("ping", "settings")
    f = Flood(port, kind, count, never_read=never_read, rcvbuf=4096 if never_read else None,
              reader=kind != "chatty-download")
    window_zero = kind == "zero-window"
    f.send(PREFACE + (settings((0x4, 0)) if window_zero else settings()), 0)

    if kind == "rapid-reset":
        # CVE-2023-44487: open a stream and cancel it at once, over and over.
        block = request_block()
        sid = 1
        while f.sent < count:
            batch = b""
            for _ in range(100):
                batch += frame(HEADERS, END_STREAM | END_HEADERS, sid, block) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
                sid += 2
            if not f.send(batch, 200):
                break
        f.finish(5)
    elif kind == "reset-cycles":
        # As many requests in flight as allowed (100), all cancelled, again and again.
        block = request_block()
        sid = 1
        for _ in range(count):
            ids = list(range(sid, sid + 200, 2))
            sid += 200
            if not f.send(b"".join(frame(HEADERS, END_STREAM | END_HEADERS, i, block) for i in ids), len(ids)):
                break
            time.sleep(0.5)  # let them reach the upstream
            if not f.send(b"".join(frame(RST_STREAM, 0, i, struct.pack(">I", 8)) for i in ids), len(ids)):
                break
        f.finish(5)
    elif kind == "continuation":
        # CVE-2024-27316 class: a header block that never ends.
        block = request_block()
        first = frame(HEADERS, 0, 1, block)
        if f.send(first):
            piece = Encoder().encode([("x-filler", "a" * 8)])
            f.batched(frame(CONTINUATION, 0, 1, piece), count)
        f.finish(5)
    elif kind == "settings":
        # Many SETTINGS frames, each owed an ACK, from a client that never reads.
        f.batched(settings((0x4, 65535)), count)
        f.finish(3)
    elif kind == "settings-entries":
        # One SETTINGS frame with far more entries than any client needs.
        f.send(settings(*[(0x4, 65535)] * count))
        f.finish(5)
    elif kind == "ping":
        # PINGs from a client that never reads the ACKs.
        f.batched(frame(PING, 0, 0, b"12345678"), count, per_batch=1000)
        f.finish(3)
    elif kind == "empty-data":
        # A request body that never moves: empty DATA frames without END_STREAM.
        block = request_block("POST", "/upload")
        if f.send(frame(HEADERS, END_HEADERS, 1, block)):
            f.batched(frame(DATA, 0, 1), count)
        f.finish(5)
    elif kind == "window-update":
        # WINDOW_UPDATE frames while the proxy sends nothing that needs them.
        f.batched(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1)), count)
        f.finish(5)
    elif kind == "priority":
        # PRIORITY frames on idle streams (RFC 7540 reprioritisation churn).
        frames = b"".join(frame(PRIORITY, 0, sid, struct.pack(">IB", 0, 15)) for sid in range(3, 403, 2))
        rounds = max(1, count // 200)
        for _ in range(rounds):
            if not f.send(frames, 200):
                break
        f.finish(5)
    elif kind == "zero-window":
        # Stream windows of 0, never opened: one small response and one large one wait forever.
        f.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block("GET", "/bytes/1000")))
        f.send(frame(HEADERS, END_STREAM | END_HEADERS, 3, request_block("GET", "/bytes/4000000")))
        f.finish(DEADLINE)
    elif kind == "eager":
        # Not a flood: COUNT requests sent before the proxy's SETTINGS could arrive. Those past
        # the stream limit are refused (REFUSED_STREAM, safe to retry), the rest answered.
        block = request_block()
        f.send(b"".join(frame(HEADERS, END_STREAM | END_HEADERS, sid, block) for sid in range(1, 2 * count, 2)), count)
        end = time.monotonic() + 5
        while time.monotonic() < end and len(f.reader.statuses) + sum(f.reader.resets.values()) < count:
            time.sleep(0.02)
        f.finish(0)
    elif kind == "chatty-download":
        # Not a flood: the most talkative well-behaved client. It downloads COUNT bytes and
        # gives the window back for every DATA frame, on the stream and on the connection.
        chatty_download(f, count)
    else:
        sys.exit("unknown kind " + kind)


def h2_client(port, total):
    """Not a flood: TOTAL requests by the `h2` library's client, 100 streams at a time."""
    import h2.config
    import h2.connection
    import h2.events

    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(0.5)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    started, done, statuses, streams = 0, 0, [], set()
    goaway, closed, until = None, False, time.monotonic() + DEADLINE
    while done < total and time.monotonic() < until and goaway is None:
        while started < total and len(streams) < 100:
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", "/r%d" % started),
                                    (":authority", "127.0.0.1")], end_stream=True)
            streams.add(sid)
            started += 1
        sock.sendall(conn.data_to_send())
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            closed = True
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                statuses.append(int(dict(event.headers)[":status"]))
            elif isinstance(event, h2.events.DataReceived):
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                streams.discard(event.stream_id)
                done += 1
            elif isinstance(event, h2.events.ConnectionTerminated):
                goaway = event.error_code
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    print(json.dumps({"kind": "h2-client", "sent": started, "closed": closed, "goaway": goaway, "frames": {},
                      "resets": {}, "statuses": statuses, "stalled": False}))


def chatty_download(f, size):
    f.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block("GET", "/bytes/%d" % size)))
    sock, buf, body, done = f.sock, b"", 0, False
    decoder, statuses, frames, goaway, closed = Decoder(), [], {}, None, False
    sock.settimeout(0.5)
    while not done and time.monotonic() < f.until:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        buf += chunk
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[0:3], "big"):
            length = int.from_bytes(buf[0:3], "big")
            kind, flags, stream = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            payload, buf = buf[9:9 + length], buf[9 + length:]
            name = TYPE_NAMES.get(kind, str(kind))
            frames[name] = frames.get(name, 0) + 1
            if kind == DATA:
                body += length
                if length:
                    f.send(frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", length))
                           + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", length)), 2)
                done = bool(flags & END_STREAM)
            elif kind == HEADERS:
                statuses += [int(v) for k, v in decoder.decode(payload) if k in (":status", b":status")]
            elif kind == GOAWAY:
                goaway = int.from_bytes(payload[4:8], "big")
            elif kind == SETTINGS and not flags & ACK:
                f.send(frame(SETTINGS, ACK, 0), 0)
    print(json.dumps({"kind": "chatty-download", "sent": f.sent, "closed": closed, "goaway": goaway, "frames": frames,
                      "resets": {}, "statuses": statuses, "stalled": False, "body": body}))


if __name__ == "__main__":
    main()
