import Config
@testable import NetworkPolicy

// The client-address resolver and the address parsing it used before the single-pass rewrite
// (main at 0cfd1af), kept verbatim but for their names and for reaching the resolver's settings
// through `resolver`: the oracle ResolverDifferentialTests holds the new code to.

struct ReferenceResolver {
    let resolver: ClientIPResolver
    var hasTrusted: Bool
    var header: ClientIPSettings.Header { resolver.header }
    var trustedHops: Int? { resolver.trustedHops }

    func resolve<H: HeaderSource>(peer: IPAddress, headers: H) -> ResolvedClient {
        let peerResult = ResolvedClient(address: peer, source: .peer)
        if hasTrusted {
            guard resolver.isTrusted(peer) else { return peerResult }
        } else if trustedHops == nil {
            return peerResult
        }
        // Pass 1 counts the elements; pass 2 parses only the last `maxHops` (more could never be
        // reached) into stack storage; then the walk goes right to left. Nothing is allocated.
        var total = 0
        forEachElement(headers) { _ in total += 1; return true }
        if total == 0 { return peerResult }
        let window = min(total, 16)
        let first = total - window
        return withUnsafeTemporaryAllocation(of: IPAddress?.self, capacity: 16) { parsed in
            var position = 0
            forEachElement(headers) { element in
                if position >= first { parsed.initializeElement(at: position - first, to: parseElement(element)) }
                position += 1
                return true
            }
            defer { parsed.baseAddress?.deinitialize(count: window) }
            var result = peerResult
            var hops = 0
            var i = window - 1
            while i >= 0 {
                guard let address = parsed[i] else { break }
                hops += 1
                result = ResolvedClient(address: address, source: .header(index: first + i))
                if let trustedHops {
                    if hops >= trustedHops { break }
                } else if !resolver.isTrusted(address) {
                    break
                }
                i -= 1
            }
            return result
        }
    }

    private func forEachElement<H: HeaderSource>(_ headers: H, _ body: (UnsafeRawBufferPointer) -> Bool) {
        let name = header == .xForwardedFor ? "x-forwarded-for" : "forwarded"
        var stop = false
        headers.forEachValue(named: name) { value in
            var start = 0
            while start <= value.count && !stop {
                var end = start
                var quoted = false
                while end < value.count {
                    let b = value[end]
                    if b == UInt8(ascii: "\"") { quoted.toggle() }
                    if b == UInt8(ascii: ","), !quoted { break }
                    end += 1
                }
                var a = start, z = end
                while a < z, value[a] == 0x20 || value[a] == 0x09 { a += 1 }
                while z > a, value[z - 1] == 0x20 || value[z - 1] == 0x09 { z -= 1 }
                if a < z, !body(UnsafeRawBufferPointer(rebasing: value[a..<z])) { stop = true }
                start = end + 1
            }
            return !stop
        }
    }

    /// An element of X-Forwarded-For (an address, maybe with port or brackets), or of Forwarded
    /// (`for=` parameter, maybe quoted; `unknown` and obfuscated identifiers are not addresses).
    private func parseElement(_ element: UnsafeRawBufferPointer) -> IPAddress? {
        guard header == .forwarded else { return ReferenceAddress.parseHostPort(element) }
        var start = 0
        while start < element.count {
            var end = start
            var quoted = false
            while end < element.count {
                if element[end] == UInt8(ascii: "\"") { quoted.toggle() }
                if element[end] == UInt8(ascii: ";"), !quoted { break }
                end += 1
            }
            var a = start
            while a < end, element[a] == 0x20 { a += 1 }
            if end - a > 4, (element[a] | 0x20) == UInt8(ascii: "f"), (element[a + 1] | 0x20) == UInt8(ascii: "o"),
               (element[a + 2] | 0x20) == UInt8(ascii: "r"), element[a + 3] == UInt8(ascii: "=") {
                var v = a + 4, w = end
                while w > v, element[w - 1] == 0x20 { w -= 1 }
                if w - v >= 2, element[v] == UInt8(ascii: "\""), element[w - 1] == UInt8(ascii: "\"") { v += 1; w -= 1 }
                return ReferenceAddress.parseHostPort(UnsafeRawBufferPointer(rebasing: element[v..<w]))
            }
            start = end + 1
        }
        return nil
    }
}

enum ReferenceAddress {
    /// Parses a bare address from bytes: dotted IPv4 (no leading zeros, which some stacks read
    /// as octal) or IPv6 text, including `::` and an IPv4 tail. Zone ids are refused: an address
    /// with `%eth0` names an interface, not a client.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> IPAddress? {
        if bytes.isEmpty || bytes.count > 45 { return nil }
        var hasColon = false
        for b in bytes where b == UInt8(ascii: ":") { hasColon = true; break }
        if !hasColon {
            return parseV4(bytes, 0, bytes.count).map { IPAddress(v4: $0) }
        }
        return parseV6(bytes)
    }

    static func parse(_ text: String) -> IPAddress? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses an address as it appears in forwarding headers: `1.2.3.4`, `1.2.3.4:80`,
    /// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`. Anything else is not an address.
    static func parseHostPort(_ bytes: UnsafeRawBufferPointer) -> IPAddress? {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            let rest = close + 1
            if rest < bytes.count {
                guard bytes[rest] == UInt8(ascii: ":"), isPort(bytes, rest + 1, bytes.count) else { return nil }
            }
            return parseV6(UnsafeRawBufferPointer(rebasing: bytes[1..<close]))
        }
        var colons = 0, lastColon = -1
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: ":") { colons += 1; lastColon = i }
        if colons == 1 {
            guard isPort(bytes, lastColon + 1, bytes.count) else { return nil }
            return parseV4(bytes, 0, lastColon).map { IPAddress(v4: $0) }
        }
        return parse(bytes)
    }

    private static func isPort(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        guard end > start, end - start <= 5 else { return false }
        var value = 0
        for i in start..<end {
            let d = bytes[i] &- 48
            guard d < 10 else { return false }
            value = value * 10 + Int(d)
        }
        return value <= 65_535
    }

    static func parseV4(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> UInt32? {
        var result: UInt32 = 0
        var octets = 0
        var i = start
        while i < end {
            var value: UInt32 = 0
            let digitStart = i
            while i < end, bytes[i] &- 48 < 10 {
                value = value * 10 + UInt32(bytes[i] &- 48)
                i += 1
                if i - digitStart > 3 { return nil }
            }
            let digits = i - digitStart
            guard digits > 0, value <= 255, !(digits > 1 && bytes[digitStart] == UInt8(ascii: "0")) else { return nil }
            result = result << 8 | value
            octets += 1
            if i < end {
                guard bytes[i] == UInt8(ascii: "."), octets < 4 else { return nil }
                i += 1
                guard i < end else { return nil }
            }
        }
        return octets == 4 ? result : nil
    }

    static func parseV6(_ bytes: UnsafeRawBufferPointer) -> IPAddress? {
        var groups = (UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0))
        var count = 0
        var gap = -1
        let n = bytes.count
        var i = 0
        let ok: Bool = withUnsafeMutableBytes(of: &groups) { g in
            func set(_ index: Int, _ value: UInt16) { g.storeBytes(of: value, toByteOffset: 2 * index, as: UInt16.self) }
            if n >= 2, bytes[0] == UInt8(ascii: ":") {
                guard bytes[1] == UInt8(ascii: ":") else { return false }
                gap = 0
                i = 2
                if i == n { return true }
            }
            while i < n {
                // An IPv4 tail takes the last two groups.
                var j = i
                var sawDot = false
                while j < n, bytes[j] != UInt8(ascii: ":") { if bytes[j] == UInt8(ascii: ".") { sawDot = true }; j += 1 }
                if sawDot {
                    guard j == n, count <= 6, let v4 = parseV4(bytes, i, n) else { return false }
                    set(count, UInt16(v4 >> 16)); set(count + 1, UInt16(v4 & 0xFFFF))
                    count += 2
                    return true
                }
                guard j > i, j - i <= 4, count < 8 else { return false }
                var value: UInt16 = 0
                for k in i..<j {
                    let b = bytes[k]
                    let d: UInt8
                    if b &- 48 < 10 { d = b &- 48 } else if (b | 0x20) &- 97 < 6 { d = (b | 0x20) &- 87 } else { return false }
                    value = value << 4 | UInt16(d)
                }
                set(count, value)
                count += 1
                i = j
                if i == n { return true }
                i += 1  // the colon
                if i < n, bytes[i] == UInt8(ascii: ":") {
                    guard gap < 0 else { return false }
                    gap = count
                    i += 1
                    if i == n { return true }
                } else if i == n {
                    return false  // trailing single colon
                }
            }
            return true
        }
        guard ok else { return nil }
        if gap < 0 {
            guard count == 8 else { return nil }
        } else {
            guard count < 8 else { return nil }
        }
        return withUnsafeBytes(of: groups) { g in
            func group(_ index: Int) -> UInt64 { UInt64(g.load(fromByteOffset: 2 * index, as: UInt16.self)) }
            var high: UInt64 = 0, low: UInt64 = 0
            let fill = 8 - count
            for position in 0..<8 {
                let value: UInt64
                if gap < 0 {
                    value = group(position)
                } else if position < gap {
                    value = group(position)
                } else if position < gap + fill {
                    value = 0
                } else {
                    value = group(position - fill)
                }
                if position < 4 { high = high << 16 | value } else { low = low << 16 | value }
            }
            return IPAddress(high: high, low: low)
        }
    }
}
