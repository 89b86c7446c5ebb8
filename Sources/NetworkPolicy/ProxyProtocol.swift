/// The PROXY protocol header (v1 text, v2 binary) an L4 load balancer puts before the stream,
/// parsed from bytes. Pure: the front end feeds bytes and acts on the result.
public enum ProxyProtocol {
    public enum Result: Equatable, Sendable {
        case needMoreBytes
        /// `consumed` bytes were the header; `source` is the client (nil for LOCAL/UNKNOWN,
        /// where the TCP peer stands).
        case done(consumed: Int, source: IPAddress?)
        case invalid(String)
    }

    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result {
        guard let first = bytes.first else { return .needMoreBytes }
        if first == 0x0D { return parseV2(bytes) }
        if first == UInt8(ascii: "P") { return parseV1(bytes) }
        return .invalid("not a PROXY protocol header")
    }

    static func parseV1(_ bytes: UnsafeRawBufferPointer) -> Result {
        let prefix = Array("PROXY ".utf8)
        for (i, b) in prefix.enumerated() where i < bytes.count && bytes[i] != b {
            return .invalid("not a PROXY protocol header")
        }
        // The v1 line is at most 107 bytes including CRLF.
        var lf = -1
        for i in 0..<min(bytes.count, 107) where bytes[i] == 0x0A { lf = i; break }
        guard lf >= 0 else { return bytes.count >= 107 ? .invalid("PROXY v1 line too long") : .needMoreBytes }
        guard lf >= 1, bytes[lf - 1] == 0x0D else { return .invalid("PROXY v1 line must end in CRLF") }
        let line = UnsafeRawBufferPointer(rebasing: bytes[6..<lf - 1])
        var fields: [Range<Int>] = []
        var start = 0
        for i in 0...line.count where i == line.count || line[i] == 0x20 {
            guard i > start else { return .invalid("malformed PROXY v1 line") }
            fields.append(start..<i)
            start = i + 1
        }
        func text(_ r: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: line[r]) }
        guard let proto = fields.first else { return .invalid("malformed PROXY v1 line") }
        if text(proto).elementsEqual("UNKNOWN".utf8) { return .done(consumed: lf + 1, source: nil) }
        let isV4 = text(proto).elementsEqual("TCP4".utf8)
        guard isV4 || text(proto).elementsEqual("TCP6".utf8), fields.count == 5 else {
            return .invalid("malformed PROXY v1 line")
        }
        guard let source = IPAddress.parse(text(fields[1])), let destination = IPAddress.parse(text(fields[2])),
              source.isIPv4 == isV4, destination.isIPv4 == isV4,
              validPort(text(fields[3])), validPort(text(fields[4])) else {
            return .invalid("bad address or port in PROXY v1 line")
        }
        return .done(consumed: lf + 1, source: source)
    }

    private static func validPort(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 5, !(bytes.count > 1 && bytes[0] == 48) else { return false }
        var value = 0
        for b in bytes {
            guard b &- 48 < 10 else { return false }
            value = value * 10 + Int(b &- 48)
        }
        return value <= 65_535
    }

    static func parseV2(_ bytes: UnsafeRawBufferPointer) -> Result {
        for (i, b) in v2Signature.enumerated() where i < bytes.count && bytes[i] != b {
            return .invalid("not a PROXY protocol header")
        }
        guard bytes.count >= 16 else { return .needMoreBytes }
        let versionCommand = bytes[12]
        guard versionCommand >> 4 == 2 else { return .invalid("unsupported PROXY protocol version") }
        let command = versionCommand & 0x0F
        guard command <= 1 else { return .invalid("unknown PROXY v2 command") }
        let familyProtocol = bytes[13]
        let length = Int(bytes[14]) << 8 | Int(bytes[15])
        guard bytes.count >= 16 + length else { return .needMoreBytes }
        let total = 16 + length
        // LOCAL: a health check from the balancer itself; the TCP peer stands.
        if command == 0 { return .done(consumed: total, source: nil) }
        switch familyProtocol {
        case 0x11:  // TCP over IPv4
            guard length >= 12 else { return .invalid("PROXY v2 address block too short") }
            return .done(consumed: total, source: IPAddress(bytes: UnsafeRawBufferPointer(rebasing: bytes[16..<20])))
        case 0x21:  // TCP over IPv6
            guard length >= 36 else { return .invalid("PROXY v2 address block too short") }
            return .done(consumed: total, source: IPAddress(bytes: UnsafeRawBufferPointer(rebasing: bytes[16..<32])))
        case 0x00:
            return .done(consumed: total, source: nil)
        default:
            return .invalid("unsupported PROXY v2 address family or transport")
        }
    }
}
