import EventLoop

/// What `portcullis probe` may ask: `http://host[:port][/path][?query]` with a numeric IPv4 or
/// IPv6 host or `localhost`. Names are not resolved: a probe must not depend on DNS.
struct ProbeTarget {
    /// The authority as written, for the Host header.
    let authority: String
    /// Tried in order; `localhost` is 127.0.0.1 and then ::1, whichever the server listens on.
    let addresses: [SocketAddress]
    /// Origin-form target: path and query.
    let target: String

    static func parse(_ url: String) throws(ProbeError) -> ProbeTarget {
        guard url.hasPrefix("http://") else {
            throw .badURL("'\(url)' is not http://host:port/path (https is not probed; the admin listener is plain HTTP)")
        }
        var rest = Substring(url.dropFirst(7))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<end]
        var target = String(rest[end...])
        if !target.hasPrefix("/") { target = "/" + target }
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badURL("the path has spaces or control characters; percent-encode them")
        }
        guard !authority.contains("@") else { throw .badURL("user information in the URL is not supported") }

        var host: Substring, portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .badURL("'\(authority)' has an unclosed '['") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { throw .badURL("'\(authority)' is not [address]:port") }
            portText = after.isEmpty ? nil : after.dropFirst()
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        var port: UInt16 = 80
        if let portText {
            guard let value = UInt16(portText), value > 0 else { throw .badURL("'\(portText)' is not a port (1-65535)") }
            port = value
        }
        let addresses: [SocketAddress]
        if host == "localhost" {
            addresses = [SocketAddress(host: "127.0.0.1", port: port), SocketAddress(host: "::1", port: port)].compactMap { $0 }
        } else if let address = SocketAddress(host: String(host), port: port) {
            addresses = [address]
        } else {
            throw .badURL("'\(host)' is not a numeric IPv4 or IPv6 address or localhost")
        }
        return ProbeTarget(authority: String(authority), addresses: addresses, target: target)
    }
}
