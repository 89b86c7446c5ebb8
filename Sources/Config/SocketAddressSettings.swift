#if canImport(Glibc)
import Glibc
#endif

/// A numeric `host:port` (`0.0.0.0:8080`, `[::1]:8080`) as written in the file, already validated.
public struct SocketAddressSettings: Sendable, Equatable, CustomStringConvertible {
    /// The numeric host without brackets.
    public let host: String
    public let port: UInt16
    public let isIPv6: Bool

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a numeric address and port; names are not accepted because a listener binds before
    /// anything could resolve them.
    public static func parse(_ text: String) -> SocketAddressSettings? {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = UInt16(portText) else { return nil }
        let hostString = String(host)
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, hostString, &v4) == 1 {
            return SocketAddressSettings(host: hostString, port: port, isIPv6: false)
        }
        if inet_pton(AF_INET6, hostString, &v6) == 1 {
            return SocketAddressSettings(host: hostString, port: port, isIPv6: true)
        }
        return nil
    }
}
