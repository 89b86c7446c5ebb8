/// A network prefix. IPv4 prefixes are held in the IPv4-mapped space (length + 96).
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    /// Prefix length in the 128-bit space.
    public let length: Int

    public init(address: IPAddress, length: Int) {
        self.address = address.masked(length)
        self.length = length
    }

    public func contains(_ other: IPAddress) -> Bool {
        other.sharesPrefix(address, length)
    }

    public var description: String {
        address.isIPv4 && length >= 96 ? "\(address)/\(length - 96)" : "\(address)/\(length)"
    }

    public enum ParseError: Error, Equatable {
        case unparsable
        case prefixOutOfRange(max: Int)
        case hostBitsSet(suggestion: String)
    }

    /// Parses `10.1.2.0/27`, `2001:db8::/48`, or a bare address (a host route). Host bits must
    /// be zero: `10.1.2.3/24` is almost always a typo for something narrower or wider.
    public static func parse(_ text: String) -> Result<CIDR, ParseError> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress.parse(String(parts[0])) else { return .failure(.unparsable) }
        let v4 = address.isIPv4 && !parts[0].contains(":")
        let maxLength = v4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), parts[1].count <= 3,
                  let value = Int(parts[1]) else { return .failure(.unparsable) }
            guard value <= maxLength else { return .failure(.prefixOutOfRange(max: maxLength)) }
            length = value
        }
        let full = v4 ? length + 96 : length
        let network = address.masked(full)
        guard network == address else {
            let suggestion = CIDR(address: network, length: full)
            return .failure(.hostBitsSet(suggestion: suggestion.description))
        }
        return .success(CIDR(address: network, length: full))
    }
}
