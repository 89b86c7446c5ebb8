/// What a header field means to a proxy, decided once while parsing so forwarding is a switch.
public enum HeaderKind: UInt8, Sendable {
    case other
    case host
    case contentLength
    case transferEncoding
    case connection
    /// Keep-Alive, Proxy-Connection, TE, Trailer: never forwarded.
    case hopByHop
    case expect
    case upgrade
    case xForwardedFor
    /// X-Forwarded-Proto and X-Forwarded-Host: replaced by the proxy's own.
    case xForwardedProtoOrHost
    case forwarded
    /// X-MS-CLIENT-PRINCIPAL*: identity the proxy alone may assert; a client's copy is always dropped.
    case identity
    case authorization

    @inline(__always)
    public static func classify(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> HeaderKind {
        // Compared a word at a time (WordScan.swift); only names of a known length are looked at.
        switch name.count {
        case 2: return bytes.equalsLowercase(name, "te") ? .hopByHop : .other
        case 4: return bytes.equalsLowercaseWords(name, "host") ? .host : .other
        case 6: return bytes.equalsLowercaseWords(name, "expect") ? .expect : .other
        case 7:
            if bytes.equalsLowercaseWords(name, "upgrade") { return .upgrade }
            return bytes.equalsLowercaseWords(name, "trailer") ? .hopByHop : .other
        case 9: return bytes.equalsLowercaseWords(name, "forwarded") ? .forwarded : .other
        case 10:
            if bytes.equalsLowercaseWords(name, "connection") { return .connection }
            return bytes.equalsLowercaseWords(name, "keep-alive") ? .hopByHop : .other
        case 13: return bytes.equalsLowercaseWords(name, "authorization") ? .authorization : .other
        case 14: return bytes.equalsLowercaseWords(name, "content-length") ? .contentLength : .other
        case 15: return bytes.equalsLowercaseWords(name, "x-forwarded-for") ? .xForwardedFor : .other
        case 16:
            if bytes.equalsLowercaseWords(name, "x-forwarded-host") { return .xForwardedProtoOrHost }
            return bytes.equalsLowercaseWords(name, "proxy-connection") ? .hopByHop : .other
        case 17:
            if bytes.equalsLowercaseWords(name, "transfer-encoding") { return .transferEncoding }
            return bytes.equalsLowercaseWords(name, "x-forwarded-proto") ? .xForwardedProtoOrHost : .other
        default:
            if name.count >= 21 && bytes.equalsLowercaseWords(name.lowerBound..<name.lowerBound + 21, "x-ms-client-principal") {
                return .identity
            }
            return .other
        }
    }
}

/// One header field as offsets into the buffer holding the message head; nothing is copied.
public struct HeaderField: Sendable {
    public var nameStart: Int32
    public var nameEnd: Int32
    public var valueStart: Int32
    public var valueEnd: Int32
    public var kind: HeaderKind

    @inline(__always) public var name: Range<Int> { Int(nameStart)..<Int(nameEnd) }
    @inline(__always) public var value: Range<Int> { Int(valueStart)..<Int(valueEnd) }
}
