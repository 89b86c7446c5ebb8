public import Config

/// Where the client address came from.
public enum ClientSource: Sendable, Equatable {
    /// The TCP peer (or the PROXY protocol source).
    case peer
    /// A forwarding header sent by a trusted proxy; `index` is the element's position in the
    /// header's list (all fields joined, counted from the left), so a front end can forward
    /// the list up to and including it.
    case header(index: Int)
}

public struct ResolvedClient: Sendable, Equatable {
    public let address: IPAddress
    public let source: ClientSource
}

/// Finds the client address the safe way: a forwarding header is read only when the peer is a
/// trusted proxy, and then walked from the right past trusted proxies, so a client can never
/// choose its own address by sending a header.
public final class ClientIPResolver: Sendable {
    private let trusted: PrefixTrie
    private let hasTrusted: Bool
    public let header: ClientIPSettings.Header
    public let trustedHops: Int?

    /// The walk stops after this many trusted hops: a longer chain of "trusted" addresses is more
    /// likely a client padding the header than a real path. A power of two: the ring of the
    /// last elements is indexed by masking.
    public static let maxHops = 16

    public init(_ settings: ClientIPSettings) throws(ConfigError) {
        var trie = PrefixTrie()
        for located in settings.trustedProxies {
            switch CIDR.parse(located.value) {
            case .success(let cidr): trie.insert(cidr, rank: 0, conditional: false)
            case .failure(.hostBitsSet(let suggestion)):
                throw located.error("host bits set in \(located.value); did you mean \(suggestion)?")
            case .failure(.prefixOutOfRange(let max)):
                throw located.error("the prefix length in '\(located.value)' is out of range 0-\(max)")
            case .failure(.unparsable):
                throw located.error("'\(located.value)' is not an address or CIDR")
            }
        }
        trie.finish()
        trusted = trie
        hasTrusted = !settings.trustedProxies.isEmpty
        header = settings.header
        trustedHops = settings.trustedHops
    }

    @inline(__always)
    public func isTrusted(_ address: IPAddress) -> Bool {
        trusted.lookup(address) { _ in false } != .max
    }

    /// The client for a request from `peer`.
    ///
    /// A malformed element stops the walk and the client is the last good hop seen (the element
    /// to its right, or the peer): everything left of garbage is unverifiable, and the last good
    /// hop is the nearest address a trusted proxy vouched for.
    public func resolve<H: HeaderSource>(peer: IPAddress, headers: H) -> ResolvedClient {
        let peerResult = ResolvedClient(address: peer, source: .peer)
        if hasTrusted {
            guard isTrusted(peer) else { return peerResult }
        } else if trustedHops == nil {
            return peerResult
        }
        // One pass parses every element as it comes and keeps the last `maxHops` (more could
        // never be reached) in a ring on the stack; then the walk goes right to left from the
        // last. A padded header costs one pass over its bytes, as counting them would. The
        // fields are found by kind where the source knows it (a parsed head does), so no header
        // name is compared. Nothing is allocated.
        return withUnsafeTemporaryAllocation(of: IPAddress.self, capacity: Self.maxHops) { ring in
            var total = 0
            // Bit i: ring slot i holds an address (the element there parsed). IPAddress is a
            // trivial type, so a slot is simply overwritten and nothing needs deinitializing.
            var parsed: UInt32 = 0
            headers.forEachValue(of: header) { value in
                forEachAddress(in: value) { address in
                    let slot = total & (Self.maxHops - 1)
                    if let address {
                        ring.initializeElement(at: slot, to: address)
                        parsed |= 1 << slot
                    } else {
                        parsed &= ~(1 << slot)
                    }
                    total += 1
                }
                return true
            }
            var result = peerResult
            var hops = 0
            var index = total - 1
            while index >= max(0, total - Self.maxHops) {
                let slot = index & (Self.maxHops - 1)
                guard parsed & (1 << slot) != 0 else { break }
                hops += 1
                result = ResolvedClient(address: ring[slot], source: .header(index: index))
                if let trustedHops {
                    if hops >= trustedHops { break }
                } else if !isTrusted(ring[slot]) {
                    break
                }
                index -= 1
            }
            return result
        }
    }

    /// Calls `body` with each element of one field value, parsed (nil: not an address): split at
    /// commas outside double quotes, OWS trimmed, empty ones skipped.
    @inline(__always)
    private func forEachAddress(in value: UnsafeRawBufferPointer, _ body: (IPAddress?) -> Void) {
        let count = value.count
        var start = 0
        while start <= count {
            var a = start
            while a < count, value[a] == 0x20 || value[a] == 0x09 { a += 1 }
            // X-Forwarded-For elements are nearly always bare IPv4: read it in the pass that looks
            // for the comma. Taken only when the address is the whole element (OWS, then a comma
            // or the end), where the split below would find that same element and parse it the
            // same way; anything else is left to the split.
            if header == .xForwardedFor, let (v4, next) = IPAddress.scanV4(value, a, count) {
                var e = next
                while e < count, value[e] == 0x20 || value[e] == 0x09 { e += 1 }
                if e == count || value[e] == UInt8(ascii: ",") {
                    body(IPAddress(v4: v4))
                    start = e + 1
                    continue
                }
            }
            var end = a
            var quoted = false
            while end < count {
                let b = value[end]
                if b == UInt8(ascii: "\"") { quoted.toggle() }
                if b == UInt8(ascii: ","), !quoted { break }
                end += 1
            }
            var z = end
            while z > a, value[z - 1] == 0x20 || value[z - 1] == 0x09 { z -= 1 }
            if a < z { body(parseElement(UnsafeRawBufferPointer(rebasing: value[a..<z]))) }
            start = end + 1
        }
    }

    /// An element of X-Forwarded-For (an address, maybe with port or brackets), or of Forwarded
    /// (`for=` parameter, maybe quoted; `unknown` and obfuscated identifiers are not addresses).
    private func parseElement(_ element: UnsafeRawBufferPointer) -> IPAddress? {
        guard header == .forwarded else { return IPAddress.parseHostPort(element) }
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
                return IPAddress.parseHostPort(UnsafeRawBufferPointer(rebasing: element[v..<w]))
            }
            start = end + 1
        }
        return nil
    }
}
