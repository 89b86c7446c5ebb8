import EventLoop
import HTTP1
import NetworkPolicy
import Transport

extension Worker {
    /// Writes the request head as the upstream must see it, for either client protocol:
    /// hop-by-hop fields out, framing re-stated by us, X-Forwarded-* set, identity from the
    /// pipeline in, client identity never.
    func encodeUpstreamHead(_ bytes: UnsafeRawBufferPointer, head: RequestHead, context: RequestContext,
                            secure: Bool, peer tlsPeer: PeerCertificate?, into out: IOBuffer) {
        // Origin-form (or OPTIONS `*`) always: an absolute-form target was split by the parser,
        // and the path and query the rules judged are exactly what the upstream gets.
        out.append(UnsafeRawBufferPointer(rebasing: bytes[head.methodRange]))
        out.append(byte: 0x20)
        out.append(UnsafeRawBufferPointer(rebasing: bytes[head.path]))
        out.append(UnsafeRawBufferPointer(rebasing: bytes[head.query]))
        out.append(" HTTP/1.1\r\n")
        // Host is always written here and the client's field never copied, so the upstream gets
        // exactly one whatever the client sent; head.host is the absolute-form authority when
        // there is one. With no host from the client (HTTP/1.0 without Host, or an empty Host),
        // HTTP/1.1 to the upstream still needs one: its own.
        // An egress call goes to the route's upstream, by its name: the host the app called is
        // only the route's key.
        out.append("Host: ")
        if head.host.isEmpty || context.egress {
            (pool(for: context.upstreamTarget)?.target.authority ?? []).withUnsafeBytes { out.append($0) }
        } else {
            out.append(UnsafeRawBufferPointer(rebasing: bytes[head.host]))
        }
        out.append("\r\n")
        if context.egress {
            encodeEgressFields(bytes, head: head, context: context, into: out)
            return
        }
        var forwardedFor = 0
        // Read once: the loop compares every field's name against it.
        let certificateHeader = settings.clientCertificateHeader
        for field in head.headers {
            switch field.kind {
            case .host, .contentLength, .transferEncoding, .connection, .hopByHop, .expect, .xForwardedProtoOrHost, .identity:
                continue
            case .upgrade where !head.upgrade:
                continue
            case .xForwardedFor:
                forwardedFor += 1
                continue
            default:
                if !head.nominated.isEmpty, head.isNominated(field, in: bytes) { continue }
                if field.name.count == certificateHeader.count,
                   Self.nameEquals(bytes, field.name, certificateHeader) { continue }
            }
            out.append(UnsafeRawBufferPointer(rebasing: bytes[Int(field.nameStart)..<Int(field.valueEnd)]))
            out.append("\r\n")
        }
        // Every X-Forwarded-For field becomes one list, in order, ending with the address that
        // decided. When that address came from the list itself (a trusted proxy's header), the
        // trusted hops to its right are dropped, so the decided client is the last element.
        out.append("X-Forwarded-For: ")
        if forwardedFor > 0 {
            var keep = Int.max
            if case .header(let index) = context.clientSource, forwardingHeaderIsXFF { keep = index }
            var position = 0
            for field in head.headers where field.kind == .xForwardedFor {
                forEachListElement(bytes, field.value) { element in
                    guard position < keep else { return false }
                    out.append(UnsafeRawBufferPointer(rebasing: bytes[element]))
                    out.append(", ")
                    position += 1
                    return true
                }
            }
        }
        appendAddress(context.client, to: out)
        out.append("\r\n")
        out.append(secure ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n")
        if let tlsPeer {
            // The verified leaf, as App Service forwards it; never a client's copy (dropped above).
            settings.clientCertificateHeader.withUnsafeBytes { out.append($0) }
            out.append(": ")
            var der = tlsPeer.base64DER
            der.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
            out.append("\r\n")
        }
        // An empty X-Forwarded-Host would claim the client asked for no host at all.
        if !head.host.isEmpty {
            out.append("X-Forwarded-Host: ")
            out.append(UnsafeRawBufferPointer(rebasing: bytes[head.host]))
            out.append("\r\n")
        }
        finishHead(head, context: context, into: out)
    }

    /// The rest of an egress call's head: the app's fields but for hop-by-hop ones, its own
    /// credentials for us or for the route (`Proxy-Authorization`, `Authorization`: the
    /// route's token replaces them) and any identity header; no X-Forwarded-*, which would
    /// only tell the callee about the caller's loopback.
    private func encodeEgressFields(_ bytes: UnsafeRawBufferPointer, head: RequestHead, context: RequestContext, into out: IOBuffer) {
        for field in head.headers {
            switch field.kind {
            case .host, .contentLength, .transferEncoding, .connection, .hopByHop, .expect, .xForwardedProtoOrHost,
                 .xForwardedFor, .forwarded, .identity, .authorization:
                continue
            case .upgrade where !head.upgrade:
                continue
            default:
                if !head.nominated.isEmpty, head.isNominated(field, in: bytes) { continue }
                if Self.nameEquals(bytes, field.name, Self.proxyAuthorization) { continue }
            }
            out.append(UnsafeRawBufferPointer(rebasing: bytes[Int(field.nameStart)..<Int(field.valueEnd)]))
            out.append("\r\n")
        }
        finishHead(head, context: context, into: out)
    }

    private static let proxyAuthorization = Array("proxy-authorization".utf8)

    /// Framing as we re-state it, the pipeline's own fields (identity, a route's token), and
    /// the end of the head.
    private func finishHead(_ head: RequestHead, context: RequestContext, into out: IOBuffer) {
        switch head.framing {
        case .contentLength(let n):
            out.append("Content-Length: ")
            out.append(decimal: n)
            out.append("\r\n")
        case .chunked:
            out.append("Transfer-Encoding: chunked\r\n")
        case .none, .untilClose:
            break
        }
        if head.upgrade { out.append("Connection: upgrade\r\n") }
        for var line in context.upstreamHeaders {
            line.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
            out.append("\r\n")
        }
        out.append("\r\n")
    }

    /// Case-insensitive comparison of a field name with a lower-case name.
    @inline(__always)
    static func nameEquals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercased: [UInt8]) -> Bool {
        guard range.count == lowercased.count else { return false }
        var i = 0
        for offset in range {
            let b = bytes[offset]
            if ((b &- 65) < 26 ? b | 0x20 : b) != lowercased[i] { return false }
            i += 1
        }
        return true
    }

    private func appendAddress(_ address: IPAddress, to out: IOBuffer) {
        out.reserve(46)
        let n = address.format(into: UnsafeMutableRawBufferPointer(start: out.base + out.writerIndex, count: out.writableBytes))
        out.advanceWriter(n)
    }
}
