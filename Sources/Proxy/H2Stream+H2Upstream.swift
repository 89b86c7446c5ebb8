import EventLoop
import HTTP1
import HTTP2

/// The stream's exchange when the upstream speaks HTTP/2 (`upstream.protocol: h2`): the request
/// goes out as a stream on the worker's shared upstream connection, fields and DATA pass through
/// (trailers included, which is what gRPC needs), and both windows move with the bytes.
extension H2Stream {
    /// Encodes the upstream request with the same rules as for HTTP/1.1 (hop-by-hop out,
    /// X-Forwarded-*, identity in, client identity never), then reads that head back as fields.
    func forwardOverH2(_ bytes: UnsafeRawBufferPointer, context: RequestContext) {
        pending.clear()
        worker.encodeUpstreamHead(bytes, head: head, context: context, secure: connection.transport.isTLS,
                                  peer: connection.tlsPeer, into: pending)
        let fields = Self.h2Fields(fromHTTP1Head: pending.readable, scheme: connection.transport.isTLS ? "https" : "http",
                                   trailers: wantsTrailers)
        pending.clear()  // from here on: request body bytes waiting for the upstream
        let upstreamConnection: H2UpstreamConnection
        do {
            upstreamConnection = try worker.h2UpstreamConnection()
        } catch {
            reject(.upstreamUnavailable)
            return
        }
        guard let id = upstreamConnection.open(self, fields: fields, body: !requestDone) else {
            reject(.upstreamUnavailable)
            return
        }
        h2Upstream = upstreamConnection
        h2UpstreamID = id
        record.forwarded()
        arm(.upstreamResponse, worker.settings.responseTimeoutMillis)
    }

    /// `Name: value` lines of an HTTP/1.1 head as HTTP/2 fields: the request line becomes the
    /// pseudo-fields, Host the authority; names are lower-cased; framing fields are dropped
    /// (HTTP/2 frames the body itself).
    static func h2Fields(fromHTTP1Head head: UnsafeRawBufferPointer, scheme: String, trailers: Bool) -> [(name: [UInt8], value: [UInt8])] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for i in 0..<head.count where i > 0 && head[i] == 0x0A && head[i - 1] == 0x0D {
            if i - 1 > start { lines.append(ArraySlice(head[start..<(i - 1)])) }
            start = i + 1
        }
        guard let requestLine = lines.first else { return [] }
        let parts = requestLine.split(separator: 0x20, maxSplits: 2)
        guard parts.count == 3 else { return [] }
        var fields: [(name: [UInt8], value: [UInt8])] = [
            (Array(":method".utf8), Array(parts[0])),
            (Array(":scheme".utf8), Array(scheme.utf8)),
        ]
        var regular: [(name: [UInt8], value: [UInt8])] = []
        var authority: [UInt8] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = line[line.startIndex..<colon].map { ($0 &- 65) < 26 ? $0 | 0x20 : $0 }
            var value = line[(colon + 1)...]
            while value.first == 0x20 || value.first == 0x09 { value = value.dropFirst() }
            switch String(decoding: name, as: UTF8.self) {
            case "host": authority = Array(value)
            case "transfer-encoding", "connection", "keep-alive", "proxy-connection", "upgrade", "te": continue
            default: regular.append((name, Array(value)))
            }
        }
        fields.append((Array(":authority".utf8), authority))
        fields.append((Array(":path".utf8), Array(parts[1])))
        if trailers { regular.append((Array("te".utf8), Array("trailers".utf8))) }
        return fields + regular
    }

    // MARK: Upstream events

    func upstreamField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool) {
        guard !finished else { return }
        if trailer {
            responseTrailers.append((Array(name), Array(value)))
        } else if name.elementsEqual(":status".utf8) {
            upstreamStatus = Int(String(decoding: value, as: UTF8.self)) ?? 502
        } else if name.first != UInt8(ascii: ":") {
            upstreamFields.append((Array(name), Array(value)))
        }
    }

    func upstreamFieldsComplete(endStream: Bool, trailer: Bool) {
        guard !finished else { return }
        if trailer {
            endResponse()
            return
        }
        responseStarted = true
        response.head.status = upstreamStatus
        arm(.transfer, worker.settings.idleMillis)
        connection.respond(id, status: upstreamStatus, fields: upstreamFields, body: !endStream)
        upstreamFields = []
        if endStream {
            responseEnded = true
            answered = true
            log(status: upstreamStatus, decision: "forwarded", reason: "allowed")
        }
        connection.flushSession()
    }

    func upstreamData(_ bytes: UnsafeRawBufferPointer) {
        guard !finished else { return }
        responseBuffer.append(bytes)
        record.bytesOut += UInt64(bytes.count)
        worker.loop.setDeadline(self, at: worker.loop.now + worker.settings.idleMillis)
        wakeResponse()
    }

    func upstreamEnded() {
        guard !finished else { return }
        endResponse()
    }

    private func endResponse() {
        responseEnded = true
        h2Upstream = nil
        // As for an HTTP/1.1 upstream: the timer stays until the stream ends, or a client with
        // no window would hold the stream forever.
        answered = true
        arm(.transfer, worker.settings.idleMillis)
        wakeResponse()
    }

    private func wakeResponse() {
        if deferred {
            deferred = false
            connection.resume(id)
        }
        connection.flushSession()
    }

    func upstreamStreamClosed(errorCode: UInt32) {
        guard !finished, h2Upstream != nil else { return }
        h2Upstream = nil
        if !responseStarted {
            fail(.upstreamUnavailable)
        } else if !responseEnded {
            log(status: upstreamStatus, decision: "aborted", reason: "upstream_reset")
            connection.reset(id, code: 2)
            connection.flushSession()
        }
    }

    /// The upstream's DATA provider asks for request body bytes.
    func upstreamRequestBody(into buffer: UnsafeMutableRawBufferPointer) -> H2BodyChunk {
        let count = min(buffer.count, pending.readableBytes)
        if count > 0, let base = buffer.baseAddress {
            base.copyMemory(from: pending.base + pending.readerIndex, byteCount: count)
            pending.consume(count)
            // The client's window comes back as the upstream takes its bytes; its connection
            // sends the WINDOW_UPDATE once this upstream write is done.
            connection.consume(id, count)
            h2Upstream?.wakeAfterFlush(connection)
            unconsumed = max(0, unconsumed - count)
        }
        if pending.isEmpty && requestDone { return .bytes(count: count, end: true, trailers: false) }
        if count == 0 {
            upstreamBodyDeferred = true
            return .later
        }
        return .bytes(count: count, end: false, trailers: false)
    }
}
