import HTTP1

import EventLoop

/// Writes a body for an HTTP/1.1 hop, either way: the request to the upstream, the response to
/// an HTTP/1.1 client. Bytes are re-chunked, or passed as they are when a length (or the
/// close) delimits them; trailer fields go on only when they may travel as trailers.
enum HTTP1BodyWriter {
    static func write(_ event: UpstreamResponse.BodyEvent, chunked: Bool, to out: IOBuffer) {
        switch event {
        case .data(let bytes):
            guard chunked else {
                out.append(bytes)
                return
            }
            out.append(hex: UInt64(bytes.count))
            out.append("\r\n")
            out.append(bytes)
            out.append("\r\n")
        case .end(let trailers):
            guard chunked else { return }
            out.append("0\r\n")
            forEachForwardableTrailer(trailers) { line, _, _ in
                out.append(UnsafeRawBufferPointer(rebasing: trailers[line]))
            }
            out.append("\r\n")
        }
    }

    /// Framing, routing and authentication fields are dropped from trailers (RFC 9110 §6.5.1),
    /// whichever way the message goes.
    /// Calls `body` with the ranges of each forwardable field line of `bytes` (field lines
    /// each ending in CRLF): the whole line with its CRLF, the name, the value without its
    /// leading whitespace.
    static func forEachForwardableTrailer(_ bytes: UnsafeRawBufferPointer,
                                   _ body: (_ line: Range<Int>, _ name: Range<Int>, _ value: Range<Int>) -> Void) {
        var p = 0
        let end = bytes.count
        while p < end {
            var e = p
            while e + 1 < end, !(bytes[e] == 0x0D && bytes[e + 1] == 0x0A) { e += 1 }
            var colon = p
            while colon < e, bytes[colon] != UInt8(ascii: ":") { colon += 1 }
            if colon < e, HeaderKind.classifyName(bytes, p..<colon) == .other {
                var v = colon + 1
                while v < e, bytes[v] == 0x20 || bytes[v] == 0x09 { v += 1 }
                body(p..<min(e + 2, end), p..<colon, v..<e)
            }
            p = e + 2
        }
    }
}
