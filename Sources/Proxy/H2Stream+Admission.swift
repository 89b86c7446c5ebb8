import EventLoop
import HTTP1
import HTTP2
import NetworkPolicy
import Transport

/// How an HTTP/2 stream's request becomes admissible: its fields are written out as the
/// HTTP/1.1 head they mean, parsed by the same strict parser, and run through the pipeline; a
/// refusal is answered on this stream only (gRPC requests in gRPC's own terms).
extension H2Stream {
    // MARK: Request head

    func header(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard !finished else { return }
        if name.first == UInt8(ascii: ":") {
            switch String(decoding: name, as: UTF8.self) {
            case ":method": method = Array(value)
            case ":path": path = Array(value)
            case ":authority": authority = Array(value)
            default: break  // :scheme; nghttp2 has checked the set
            }
            return
        }
        startFields()
        if name.elementsEqual("cookie".utf8) {
            // RFC 9113 §8.2.3: split cookies are joined for an HTTP/1.1 hop.
            if !cookies.isEmpty { cookies += Array("; ".utf8) }
            cookies += Array(value)
            return
        }
        // :authority wins over a Host field (RFC 9113 §8.3.1); one Host reaches the parser.
        if name.elementsEqual("host".utf8) && !authority.isEmpty { return }
        if name.elementsEqual("content-type".utf8) && value.starts(with: "application/grpc".utf8) { isGRPC = true }
        if name.elementsEqual("te".utf8) && value.elementsEqual("trailers".utf8) { wantsTrailers = true }
        headBytes.append(name)
        headBytes.append(": ")
        headBytes.append(value)
        headBytes.append("\r\n")
    }

    /// Writes the request line and Host once the pseudo-header fields are all in.
    private func startFields() {
        guard !fieldsStarted else { return }
        fieldsStarted = true
        method.withUnsafeBytes { headBytes.append($0) }
        headBytes.append(byte: 0x20)
        path.withUnsafeBytes { headBytes.append($0) }
        headBytes.append(" HTTP/1.1\r\n")
        if !authority.isEmpty {
            headBytes.append("host: ")
            authority.withUnsafeBytes { headBytes.append($0) }
            headBytes.append("\r\n")
        }
    }

    func headersComplete(endStream: Bool) {
        guard !finished else { return }
        startFields()
        if !cookies.isEmpty {
            headBytes.append("cookie: ")
            cookies.withUnsafeBytes { headBytes.append($0) }
            headBytes.append("\r\n")
        }
        requestDone = endStream
        // A body without a declared length goes upstream chunked.
        requestChunked = !endStream && !hasContentLength()
        if requestChunked { headBytes.append("transfer-encoding: chunked\r\n") }
        headBytes.append("\r\n")
        record.bytesIn = UInt64(headBytes.readableBytes)
        var parser = RequestParser(limits: worker.settings.requestLimits)
        do {
            guard try parser.parse(headBytes.readable, into: &head) else {
                reject(Decision(status: 400, code: "bad_request", message: "malformed request"))
                return
            }
            // As for HTTP/1.1: judged and forwarded in its normal spelling, logged as sent (`path`).
            record.pathNormalized = try head.normalizePath(in: headBytes.mutableReadable)
        } catch {
            reject(Decision(error))
            return
        }
        admit()
    }

    private func hasContentLength() -> Bool {
        let bytes = headBytes.readable
        var lineStart = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<i])
            if line.count > 15, line.starts(with: "content-length:".utf8) { return true }
            lineStart = i + 1
        }
        return false
    }

    // MARK: Admission

    private func admit() {
        let bytes = headBytes.readable
        var context = RequestContext(bytes: bytes, head: head, peer: connection.peerIP)
        context.tlsPeer = connection.tlsPeer
        context.requestsClientCertificates = connection.requestsClientCertificates
        let result = worker.pipeline.run(&context)
        if case .stop = result { record.judged(context, admitted: false) } else { record.judged(context, admitted: true) }
        switch result {
        case .stop(let decision):
            reject(decision)
        case .continue where worker.settings.upstreamIsH2:
            forwardOverH2(bytes, context: context)
        case .continue:
            pending.clear()
            worker.encodeUpstreamHead(bytes, head: head, context: context, secure: connection.transport.isTLS,
                                      peer: connection.tlsPeer, into: pending)
            attachUpstream()
        }
    }

    /// A refusal on this stream only: HTTP status and text, or for gRPC a trailers-only answer.
    func reject(_ decision: Decision) {
        var fields: [(name: [UInt8], value: [UInt8])]
        var status = decision.status
        let message = Array(decision.message.utf8)
        if isGRPC {
            status = 200
            fields = [(Array("content-type".utf8), Array("application/grpc".utf8)),
                      (Array("grpc-status".utf8), Array(String(Self.grpcStatus(for: decision.status)).utf8)),
                      (Array("grpc-message".utf8), Self.percentEncoded(message))]
            connection.respond(id, status: status, fields: fields, body: false)
        } else {
            fields = [(Array("content-type".utf8), Array("text/plain; charset=utf-8".utf8)),
                      (Array("content-length".utf8), Array(String(message.count + 1).utf8)),
                      (Array("cache-control".utf8), Array("no-store".utf8))]
            for header in decision.headers {
                guard let colon = header.firstIndex(of: ":") else { continue }
                let name = header[..<colon].lowercased()
                let value = header[header.index(after: colon)...].drop(while: { $0 == " " })
                fields.append((Array(name.utf8), Array(value.utf8)))
            }
            responseBuffer.clear()
            message.withUnsafeBytes { responseBuffer.append($0) }
            responseBuffer.append(byte: 0x0A)
            responseEnded = true
            connection.respond(id, status: status, fields: fields, body: true)
        }
        record.bytesOut = UInt64(message.count + 1)
        log(status: status, decision: "rejected", reason: decision.code)
        closeUpstream(reusable: false)
        requestDone = true
        answered = true
        arm(.transfer, worker.settings.idleMillis)
    }

    /// gRPC's codes for the proxy's refusals, as Envoy answers them.
    static func grpcStatus(for status: Int) -> Int {
        switch status {
        case 401: 16          // UNAUTHENTICATED
        case 403: 7           // PERMISSION_DENIED
        case 502, 503, 504: 14  // UNAVAILABLE
        case 400, 405, 413, 414, 431: 13  // INTERNAL: the request could not be read
        default: 2            // UNKNOWN
        }
    }

    static func percentEncoded(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes {
            if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "%") {
                out.append(b)
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return out
    }
}
