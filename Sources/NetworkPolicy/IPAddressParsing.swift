extension IPAddress {
    /// Parses a bare address from bytes: dotted IPv4 (no leading zeros, which some stacks read
    /// as octal) or IPv6 text, including `::` and an IPv4 tail. Zone ids are refused: an address
    /// with `%eth0` names an interface, not a client.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> IPAddress? {
        if bytes.isEmpty || bytes.count > 45 { return nil }
        var hasColon = false
        for b in bytes where b == UInt8(ascii: ":") { hasColon = true; break }
        if !hasColon {
            return parseV4(bytes, 0, bytes.count).map { IPAddress(v4: $0) }
        }
        return parseV6(bytes)
    }

    public static func parse(_ text: String) -> IPAddress? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses an address as it appears in forwarding headers: `1.2.3.4`, `1.2.3.4:80`,
    /// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`. Anything else is not an address.
    public static func parseHostPort(_ bytes: UnsafeRawBufferPointer) -> IPAddress? {
        // The common case first: a bare IPv4 address. Any ":", "[" or "]" makes this fail.
        if let v4 = parseV4(bytes, 0, bytes.count) { return IPAddress(v4: v4) }
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
        // IPv6; or, with no colon, nothing (IPv4 was tried first), which `parse` finds too.
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
        guard let (value, next) = scanV4(bytes, start, end), next == end else { return nil }
        return value
    }

    /// Reads a dotted IPv4 address at `start`: four octets of one to three digits, each at most
    /// 255 and without a leading zero, joined by dots. Returns it and the index just past it,
    /// where other bytes may follow (the caller decides which may); nil if no address starts here.
    @inline(__always)
    static func scanV4(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> (value: UInt32, next: Int)? {
        var result: UInt32 = 0
        var i = start
        for octet in 0..<4 {
            if octet > 0 {
                guard i < end, bytes[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
            let digitStart = i
            var value: UInt32 = 0
            // A fourth digit ends the octet unread: it then stands where a dot or the end of the
            // address must be, which the next step (or the caller) refuses.
            while i < end, i - digitStart < 3, bytes[i] &- 48 < 10 {
                value = value * 10 + UInt32(bytes[i] &- 48)
                i += 1
            }
            let digits = i - digitStart
            guard digits > 0, value <= 255, !(digits > 1 && bytes[digitStart] == UInt8(ascii: "0")) else { return nil }
            result = result << 8 | value
        }
        return (result, i)
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
