/// An IPv4 or IPv6 address as 128 bits; IPv4 is held IPv4-mapped (`::ffff:a.b.c.d`), so one
/// trie serves both families and a mapped client matches IPv4 rules.
public struct IPAddress: Hashable, Sendable, Comparable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(v4: UInt32) {
        high = 0
        low = 0xFFFF_0000_0000 | UInt64(v4)
    }

    /// From network-order bytes: 4 (IPv4) or 16 (IPv6), as the kernel gives them.
    public init?(bytes: UnsafeRawBufferPointer) {
        switch bytes.count {
        case 4:
            self.init(v4: UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
        case 16:
            var h: UInt64 = 0, l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
            for i in 8..<16 { l = l << 8 | UInt64(bytes[i]) }
            self.init(high: h, low: l)
        default:
            return nil
        }
    }

    public var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }

    /// Bit `index` (0 = most significant) of the 128.
    @inline(__always)
    func bit(_ index: Int) -> Int {
        index < 64 ? Int(truncatingIfNeeded: high >> UInt64(63 - index)) & 1 : Int(truncatingIfNeeded: low >> UInt64(127 - index)) & 1
    }

    /// The address with every bit after the first `length` cleared.
    @inline(__always)
    func masked(_ length: Int) -> IPAddress {
        if length <= 0 { return IPAddress(high: 0, low: 0) }
        if length >= 128 { return self }
        if length <= 64 {
            return IPAddress(high: length == 64 ? high : high & ~(UInt64.max >> UInt64(length)), low: 0)
        }
        return IPAddress(high: high, low: low & ~(UInt64.max >> UInt64(length - 64)))
    }

    /// Whether the first `length` bits equal those of `other`.
    @inline(__always)
    func sharesPrefix(_ other: IPAddress, _ length: Int) -> Bool {
        if length <= 0 { return true }
        if length <= 64 {
            let mask = length == 64 ? UInt64.max : ~(UInt64.max >> UInt64(length))
            return (high ^ other.high) & mask == 0
        }
        guard high == other.high else { return false }
        let mask = length >= 128 ? UInt64.max : ~(UInt64.max >> UInt64(length - 64))
        return (low ^ other.low) & mask == 0
    }

    /// Length of the common prefix with `other` (0...128).
    @inline(__always)
    func commonPrefixLength(_ other: IPAddress) -> Int {
        let h = high ^ other.high
        if h != 0 { return h.leadingZeroBitCount }
        return 64 + (low ^ other.low).leadingZeroBitCount
    }
}

extension IPAddress: CustomStringConvertible {
    public var description: String {
        var storage = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &storage) { raw in
            let n = format(into: raw)
            return String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<n]), as: UTF8.self)
        }
    }

    /// Writes the address as text into `out` (at least 45 bytes) without allocating; returns the
    /// length. IPv4-mapped addresses are written as plain IPv4; IPv6 in RFC 5952 form.
    public func format(into out: UnsafeMutableRawBufferPointer) -> Int {
        var n = 0
        func put(_ b: UInt8) { out[n] = b; n += 1 }
        func decimal(_ v: UInt8) {
            if v >= 100 { put(48 + v / 100) }
            if v >= 10 { put(48 + v / 10 % 10) }
            put(48 + v % 10)
        }
        if isIPv4 {
            let v = UInt32(truncatingIfNeeded: low)
            decimal(UInt8(v >> 24)); put(46)
            decimal(UInt8(v >> 16 & 0xFF)); put(46)
            decimal(UInt8(v >> 8 & 0xFF)); put(46)
            decimal(UInt8(v & 0xFF))
            return n
        }
        var groups = (UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0))
        withUnsafeMutableBytes(of: &groups) { g in
            for i in 0..<4 {
                g.storeBytes(of: UInt16(truncatingIfNeeded: high >> UInt64(48 - 16 * i)), toByteOffset: 2 * i, as: UInt16.self)
                g.storeBytes(of: UInt16(truncatingIfNeeded: low >> UInt64(48 - 16 * i)), toByteOffset: 8 + 2 * i, as: UInt16.self)
            }
        }
        return withUnsafeBytes(of: groups) { g in
            func group(_ i: Int) -> UInt16 { g.load(fromByteOffset: 2 * i, as: UInt16.self) }
            // The longest run (length ≥ 2) of zero groups becomes "::".
            var bestStart = -1, bestLength = 0, i = 0
            while i < 8 {
                if group(i) == 0 {
                    var j = i
                    while j < 8 && group(j) == 0 { j += 1 }
                    if j - i > bestLength && j - i >= 2 { bestStart = i; bestLength = j - i }
                    i = j
                } else {
                    i += 1
                }
            }
            let hex: StaticString = "0123456789abcdef"
            i = 0
            while i < 8 {
                if i == bestStart {
                    put(58); put(58)
                    i += bestLength
                    continue
                }
                if i > 0 && i != bestStart + bestLength { put(58) }
                let v = group(i)
                var started = false
                for shift in stride(from: 12, through: 0, by: -4) {
                    let d = Int(v >> UInt16(shift) & 0xF)
                    if d != 0 || started || shift == 0 { put(hex.utf8Start[d]); started = true }
                }
                i += 1
            }
            return n
        }
    }
}
