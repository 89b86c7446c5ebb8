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
    /// likely a client padding the header than a real path, and each step costs a pass.
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
        // Pass 1 counts the elements; pass 2 parses only the last `maxHops` (more could never be
        // reached) into stack storage; then the walk goes right to left. Nothing is allocated.
        var total = 0
        forEachElement(headers) { _ in total += 1; return true }
        if total == 0 { return peerResult }
        let window = min(total, Self.maxHops)
        let first = total - window
        return withUnsafeTemporaryAllocation(of: IPAddress?.self, capacity: Self.maxHops) { parsed in
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
                } else if !isTrusted(address) {
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
