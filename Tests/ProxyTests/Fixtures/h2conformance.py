#!/usr/bin/env python3
"""HTTP/2 conformance cases in the spirit of h2spec, for H2ConformanceTests.swift.

    h2conformance.py PORT CASE
    h2conformance.py --list

Connects to 127.0.0.1:PORT with the h2c prior-knowledge preface, completes the SETTINGS
handshake the way h2spec does (our SETTINGS, theirs ACKed, ours ACKed), then sends one case's
hand-built frames (RFC 9113 and RFC 7541) and reads what the proxy answers until it ends the
connection, resets the stream the case is about, or the case's own wait runs out. When the
connection is still open after that, a PING tells whether it is still usable.

Prints one JSON object: the GOAWAY error code (or null), whether the proxy closed the
connection, the RST_STREAM codes by stream, the :status of responses by stream, the PING ACK
payloads received, and whether the connection answered a PING after the case ("alive").

Bounded: every case ends within DEADLINE seconds (the test adds `timeout 20`). Only ever talks
to 127.0.0.1.
"""
import json
import socket
import struct
import sys
import time

from hpack import Decoder, Encoder

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
TYPE_NAMES = {DATA: "DATA", HEADERS: "HEADERS", PRIORITY: "PRIORITY", RST_STREAM: "RST_STREAM",
              SETTINGS: "SETTINGS", PUSH_PROMISE: "PUSH_PROMISE", PING: "PING", GOAWAY: "GOAWAY",
              WINDOW_UPDATE: "WINDOW_UPDATE", CONTINUATION: "CONTINUATION"}
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE = 1, 2, 3, 4, 5
DEADLINE = 10.0  # seconds for the whole run, inside the test's own `timeout 20`
WAIT = 3.0       # how long a case waits for the proxy's answer
ALIVE = b"alive?!!"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", kind, flags, stream & 0x7FFFFFFF) + payload


def settings(*pairs, flags=0, stream=0):
    return frame(SETTINGS, flags, stream, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def u32(value):
    return struct.pack(">I", value)


def fields(method="GET", path="/conformance", extra=(), scheme="http"):
    """A request's header list; None drops a pseudo-header."""
    pseudo = [(":method", method), (":scheme", scheme), (":path", path), (":authority", "127.0.0.1")]
    return [(k, v) for k, v in pseudo if v is not None] + list(extra)


def block(headers):
    # A fresh encoder without Huffman: names go out exactly as given (upper case included), and
    # the bytes only use the static table and literals, so they are valid whenever sent.
    return Encoder().encode(headers, huffman=False)


def literal(name, value):
    """One 'literal header field without indexing, new name' (RFC 7541 §6.2.2), byte for byte."""
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def headers(stream, header_list=None, end_stream=True, raw=None):
    return frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), stream,
                 raw if raw is not None else block(header_list or fields()))


class Peer:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.until = time.monotonic() + DEADLINE
        self.buf = b""
        self.decoder = Decoder()
        self.decoder.max_allowed_table_size = 65536
        self.goaway = None
        self.goaway_last = None
        self.closed = False
        self.frames = {}
        self.resets = {}
        self.statuses = {}
        self.ended = set()        # streams the proxy ended (END_STREAM or RST_STREAM)
        self.ping_acks = []
        self.server_settings = {}
        self.settings_acked = False
        self.got_settings = False

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def pump(self, done, wait=WAIT):
        """Reads frames until `done()` holds, the proxy ends the connection, or `wait` passes."""
        end = min(self.until, time.monotonic() + wait)
        self.sock.settimeout(0.1)
        while not done() and not self.closed and self.goaway is None and time.monotonic() < end:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            self.buf += chunk
            self.parse()
        if self.goaway is not None:
            # After GOAWAY the proxy closes: see that it does (bounded).
            self.wait_close(min(1.0, max(0.0, end - time.monotonic())) or 0.5)
        return done()

    def wait_close(self, wait):
        end = time.monotonic() + wait
        self.sock.settimeout(0.1)
        while not self.closed and time.monotonic() < end:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            self.buf += chunk
            self.parse()

    def parse(self):
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + length:
                return
            kind, flags = self.buf[3], self.buf[4]
            stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload, self.buf = self.buf[9:9 + length], self.buf[9 + length:]
            name = TYPE_NAMES.get(kind, str(kind))
            self.frames[name] = self.frames.get(name, 0) + 1
            if kind == GOAWAY and len(payload) >= 8:
                self.goaway_last = int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF
                self.goaway = int.from_bytes(payload[4:8], "big")
            elif kind == RST_STREAM and len(payload) == 4:
                self.resets[stream] = int.from_bytes(payload, "big")
                self.ended.add(stream)
            elif kind == HEADERS:
                try:
                    for key, value in self.decoder.decode(payload):
                        if key in (":status", b":status"):
                            self.statuses[stream] = int(value)
                except Exception:
                    pass
                if flags & END_STREAM:
                    self.ended.add(stream)
            elif kind == DATA:
                if length:
                    # Keep the windows open: responses here are small, but never stall one.
                    self.send(frame(WINDOW_UPDATE, 0, 0, u32(length)) + frame(WINDOW_UPDATE, 0, stream, u32(length)))
                if flags & END_STREAM:
                    self.ended.add(stream)
            elif kind == SETTINGS:
                if flags & ACK:
                    self.settings_acked = True
                else:
                    self.got_settings = True
                    for at in range(0, len(payload) - 5, 6):
                        key, value = struct.unpack(">HI", payload[at:at + 6])
                        self.server_settings[key] = value
                    self.send(settings(flags=ACK))
            elif kind == PING and flags & ACK:
                self.ping_acks.append(payload)
            elif kind == PING:
                self.send(frame(PING, ACK, 0, payload))

    def handshake(self):
        """h2spec's: our preface and SETTINGS, theirs (ACKed as they come), then our ACK."""
        self.send(PREFACE + settings())
        return self.pump(lambda: self.settings_acked and self.got_settings)

    def alive(self):
        """Whether the connection still works: a PING is answered."""
        if self.closed or self.goaway is not None:
            return False
        if not self.send(frame(PING, 0, 0, ALIVE)):
            return False
        return self.pump(lambda: ALIVE in self.ping_acks, wait=2.0)

    def report(self, case, **extra):
        out = {"case": case, "goaway": self.goaway, "goaway_last": self.goaway_last, "closed": self.closed,
               "resets": {str(k): v for k, v in self.resets.items()},
               "statuses": {str(k): v for k, v in self.statuses.items()},
               "ping_acks": [p.hex() for p in self.ping_acks], "frames": self.frames}
        out.update(extra)
        try:
            self.sock.close()
        except OSError:
            pass
        print(json.dumps(out))


# Each case sends its frames and returns the streams whose fate it is about: the run then reads
# until each of them has ended (response or RST_STREAM) or the connection did. An empty list:
# the connection's fate (GOAWAY or close); None: the case already read what it needed.


def connection_error(frames):
    def run(p):
        p.send(frames)
        return []
    return run


def on_stream(frames, stream=1):
    def run(p):
        p.send(frames)
        return [stream]
    return run


def data_on_closed_stream(p):
    # §5.1 closed: the whole exchange on stream 1 is over, then DATA arrives for it.
    p.send(headers(1))
    p.pump(lambda: 1 in p.ended)
    p.send(frame(DATA, END_STREAM, 1, b"late"))
    return [1]


def data_after_rst(p):
    # §5.1 closed: the client reset stream 1 itself, then sends DATA on it.
    p.send(headers(1, fields("POST"), end_stream=False) + frame(RST_STREAM, 0, 1, u32(8)))
    p.send(frame(DATA, END_STREAM, 1, b"late"))
    return [1]


def headers_after_rst(p):
    p.send(headers(1, fields("POST"), end_stream=False) + frame(RST_STREAM, 0, 1, u32(8)))
    p.send(headers(1))
    return [1]


def too_many_streams(p):
    # §5.1.2: the limit the proxy announced, plus one. Every stream stays open (no END_STREAM).
    limit = p.server_settings.get(MAX_CONCURRENT_STREAMS, 100)
    p.send(b"".join(headers(1 + 2 * i, fields("POST"), end_stream=False) for i in range(limit + 1)))
    return [1 + 2 * limit]


def settings_window_overflow(p):
    # §6.9.2: a stream's send window at 2^31-1, then SETTINGS_INITIAL_WINDOW_SIZE one higher.
    p.send(headers(1, fields("POST"), end_stream=False)
           + frame(WINDOW_UPDATE, 0, 1, u32(0x7FFFFFFF - 65535))
           + settings((INITIAL_WINDOW_SIZE, 65536)))
    return []


def ping_ack(p):
    p.send(frame(PING, 0, 0, b"h2spec\x00\x01"))
    p.pump(lambda: b"h2spec\x00\x01" in p.ping_acks)
    return None


def goaway_from_client(p):
    # §6.8: the client is going away; the request it already sent is still answered.
    p.send(headers(1) + frame(GOAWAY, 0, 0, u32(0) + u32(0)))
    return [1]


def unknown_frame(p):
    # §5.5: an unknown type is ignored, on the connection and on a stream, before and inside
    # an exchange.
    p.send(frame(0x20, 0xFF, 0, b"ignore me") + headers(1, fields("POST"), end_stream=False)
           + frame(0x21, 0, 1, b"and me") + frame(DATA, END_STREAM, 1, b"body"))
    return [1]


def unknown_setting(p):
    # §6.5.2: an unknown setting is ignored (and the frame ACKed).
    p.settings_acked = False
    p.send(settings((0xFF, 1)) + headers(1))
    p.pump(lambda: p.settings_acked)
    return [1]


def trailers_on_an_earlier_stream(p):
    # §5.1.1's rule is about new streams: HEADERS (trailers) on an open lower stream is fine.
    p.send(headers(1, fields("POST"), end_stream=False) + frame(DATA, 0, 1, b"body") + headers(3)
           + headers(1, [("x-trailer", "1")]))
    return [1, 3]


def te_trailers(p):
    # §8.2.2: `te: trailers` is the one TE value a request may carry (a control case).
    p.send(headers(1, fields(extra=[("te", "trailers")])))
    return [1]


def well_formed_post(p):
    # A control case: content-length matching the DATA sent.
    p.send(headers(1, fields("POST", extra=[("content-length", "4")]), end_stream=False)
           + frame(DATA, END_STREAM, 1, b"body"))
    return [1]


def malformed(header_list=None, raw=None, data=None, end_stream=None):
    """A request the proxy must reset (PROTOCOL_ERROR) and never forward."""
    def run(p):
        out = headers(1, header_list, end_stream=(data is None) if end_stream is None else end_stream, raw=raw)
        if data is not None:
            out += frame(DATA, END_STREAM, 1, data)
        p.send(out)
        return [1]
    return run


MARK = ("x-case", "malformed")  # never reaches the backend if the proxy is right
PSEUDO = [(":method", "GET"), (":scheme", "http"), (":path", "/conformance"), (":authority", "127.0.0.1")]
# GET http /, static table only, and :authority as a literal without indexing (RFC 7541 C.2.2).
STATIC_GET = b"\x82\x86\x84\x01\x09127.0.0.1"
BIG = "v" * 16000

CASES = {
    # §4.2 frame size
    "data-larger-than-max-frame-size": connection_error(
        headers(1, fields("POST"), end_stream=False) + frame(DATA, END_STREAM, 1, b"x" * 16385)),
    "headers-larger-than-max-frame-size": connection_error(
        frame(HEADERS, END_STREAM | END_HEADERS, 1, block(fields(extra=[("x-a", BIG[:8200]), ("x-b", BIG[:8200])])))),
    # §5.1 stream states
    "data-on-idle-stream": connection_error(frame(DATA, END_STREAM, 1, b"idle")),
    "data-on-closed-stream": data_on_closed_stream,
    "data-after-client-reset": data_after_rst,
    "headers-after-client-reset": headers_after_rst,
    "data-on-half-closed-remote-stream": on_stream(headers(1) + frame(DATA, END_STREAM, 1, b"late")),
    # §5.1.1 stream identifiers
    "headers-on-even-stream": connection_error(headers(2)),
    # Stream 5 opened, then HEADERS on stream 3 (a lower id, never used).
    "decreasing-stream-id": connection_error(headers(5, fields(path="/five")) + headers(3, fields(extra=[MARK]))),
    "trailers-on-an-earlier-stream": trailers_on_an_earlier_stream,
    # §5.1.2 stream concurrency
    "more-streams-than-max-concurrent": too_many_streams,
    # §5.5 extensions
    "unknown-frame-type-ignored": unknown_frame,
    # §6.3 PRIORITY
    "priority-on-stream-zero": connection_error(frame(PRIORITY, 0, 0, u32(1) + b"\x0f")),
    "priority-bad-length": on_stream(frame(PRIORITY, 0, 1, u32(0) + b"\x0f\x00")),
    # §6.4 RST_STREAM
    "rst-stream-on-idle-stream": connection_error(frame(RST_STREAM, 0, 1, u32(8))),
    "rst-stream-on-stream-zero": connection_error(frame(RST_STREAM, 0, 0, u32(8))),
    "rst-stream-bad-length": connection_error(headers(1, fields("POST"), end_stream=False) + frame(RST_STREAM, 0, 1, u32(8) + b"\x00")),
    # §6.5 SETTINGS
    "settings-bad-length": connection_error(frame(SETTINGS, 0, 0, b"\x00\x03\x00")),
    "settings-ack-with-payload": connection_error(frame(SETTINGS, ACK, 0, b"\x00\x03\x00\x00\x00\x64")),
    "settings-on-a-stream": connection_error(settings((MAX_CONCURRENT_STREAMS, 100), stream=1)),
    "settings-enable-push-2": connection_error(settings((ENABLE_PUSH, 2))),
    "settings-initial-window-above-max": connection_error(settings((INITIAL_WINDOW_SIZE, 0x80000000))),
    "settings-max-frame-size-below-min": connection_error(settings((MAX_FRAME_SIZE, 16383))),
    "settings-max-frame-size-above-max": connection_error(settings((MAX_FRAME_SIZE, 1 << 24))),
    "settings-unknown-id-ignored": unknown_setting,
    # §6.7 PING
    "ping-acked-with-same-payload": ping_ack,
    "ping-bad-length": connection_error(frame(PING, 0, 0, b"1234567")),
    "ping-on-a-stream": connection_error(frame(PING, 0, 1, b"12345678")),
    # §6.8 GOAWAY
    "goaway-from-client": goaway_from_client,
    "goaway-on-a-stream": connection_error(frame(GOAWAY, 0, 1, u32(0) + u32(0))),
    # §6.9 WINDOW_UPDATE
    "window-update-zero-on-connection": connection_error(frame(WINDOW_UPDATE, 0, 0, u32(0))),
    "window-update-zero-on-stream": on_stream(headers(1, fields("POST"), end_stream=False) + frame(WINDOW_UPDATE, 0, 1, u32(0))),
    "window-update-bad-length": connection_error(frame(WINDOW_UPDATE, 0, 0, u32(1) + b"\x00")),
    "window-overflow-on-connection": connection_error(frame(WINDOW_UPDATE, 0, 0, u32(0x7FFFFFFF)) * 2),
    "window-overflow-on-stream": on_stream(headers(1, fields("POST"), end_stream=False) + frame(WINDOW_UPDATE, 0, 1, u32(0x7FFFFFFF)) * 2),
    "settings-initial-window-overflows-stream": settings_window_overflow,
    # §6.10 CONTINUATION
    "header-block-interrupted": connection_error(frame(HEADERS, END_STREAM, 1, block(fields())) + frame(PING, 0, 0, b"12345678")),
    "continuation-without-headers": connection_error(headers(1) + frame(CONTINUATION, END_HEADERS, 1, block([("x-a", "b")]))),
    # §8.1, §8.2, §8.3 malformed requests: stream error PROTOCOL_ERROR, nothing forwarded
    "missing-method": malformed(fields(method=None, extra=[MARK])),
    "missing-path": malformed(fields(path=None, extra=[MARK])),
    "missing-scheme": malformed(fields(scheme=None, extra=[MARK])),
    "empty-path": malformed(fields(path="", extra=[MARK])),
    "uppercase-header-name": malformed(raw=block(fields(extra=[MARK])) + literal("X-Upper", "1")),
    "connection-keep-alive": malformed(fields(extra=[MARK, ("connection", "keep-alive")])),
    "keep-alive-header": malformed(fields(extra=[MARK, ("keep-alive", "timeout=5")])),
    "proxy-connection-header": malformed(fields(extra=[MARK, ("proxy-connection", "keep-alive")])),
    "transfer-encoding-chunked": malformed(fields("POST", extra=[MARK, ("transfer-encoding", "chunked")]), data=b"4\r\nbody\r\n0\r\n\r\n"),
    "upgrade-header": malformed(fields(extra=[MARK, ("upgrade", "websocket")])),
    "te-other-than-trailers": malformed(fields(extra=[MARK, ("te", "gzip")])),
    "pseudo-header-after-regular": malformed(raw=block([(":method", "GET"), (":scheme", "http"), (":authority", "127.0.0.1"), MARK, (":path", "/conformance")])),
    "duplicate-method": malformed(raw=block([(":method", "GET")] + PSEUDO + [MARK])),
    "duplicate-path": malformed(raw=block(PSEUDO + [(":path", "/b"), MARK])),
    "unknown-pseudo-header": malformed(raw=block(PSEUDO + [(":foo", "bar"), MARK])),
    "response-pseudo-header-in-request": malformed(raw=block(PSEUDO + [(":status", "200"), MARK])),
    "content-length-above-data": malformed(fields("POST", extra=[MARK, ("content-length", "10")]), data=b"short"),
    "content-length-below-data": malformed(fields("POST", extra=[MARK, ("content-length", "2")]), data=b"longer"),
    "content-length-with-no-data": malformed(fields("POST", extra=[MARK, ("content-length", "4")]), end_stream=True),
    # Control cases: well-formed requests are served.
    "te-trailers-allowed": te_trailers,
    "content-length-matching-data": well_formed_post,
    # RFC 7541 HPACK: COMPRESSION_ERROR, a connection error (RFC 9113 §4.3)
    "hpack-static-table-request": on_stream(frame(HEADERS, END_STREAM | END_HEADERS, 1, STATIC_GET)),  # control
    "hpack-invalid-index": connection_error(frame(HEADERS, END_STREAM | END_HEADERS, 1, STATIC_GET + b"\xbe")),  # 62: table empty
    "hpack-index-zero": connection_error(frame(HEADERS, END_STREAM | END_HEADERS, 1, STATIC_GET + b"\x80")),
    "hpack-table-size-update-after-field": connection_error(frame(HEADERS, END_STREAM | END_HEADERS, 1, STATIC_GET + b"\x20")),
    "hpack-table-size-update-above-setting": connection_error(frame(HEADERS, END_STREAM | END_HEADERS, 1, b"\x3f\xe2\x1f" + STATIC_GET)),  # 4097 > 4096
}


def main():
    if sys.argv[1] == "--list":
        print("\n".join(CASES))
        return
    port, case = int(sys.argv[1]), sys.argv[2]
    if case not in CASES:
        sys.exit("unknown case " + case)
    p = Peer(port)
    if not p.handshake():
        p.report(case, handshake=False, alive=False)
        return
    watched = CASES[case](p)
    if watched is not None:
        p.pump(lambda: all(s in p.ended for s in watched) and (watched or p.closed or p.goaway is not None))
    p.report(case, handshake=True, alive=p.alive())


if __name__ == "__main__":
    main()
