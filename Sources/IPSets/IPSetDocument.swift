public import Config
public import NetworkPolicy
import Tokens

/// The documents a set is read from, parsed whole: one prefix that does not parse refuses the
/// document, since a partial set is worse than the last good one (an allow list that lost a
/// line refuses a caller; a deny list that lost one admits an attacker).
public enum IPSetDocument {
    /// Largest document taken, fetched or read: Azure's full Service Tags file is ~4 MB.
    public static let maxBytes = 16 << 20

    public struct Parsed: Sendable {
        public let prefixes: [CIDR]
        /// The document's version for the log, or empty.
        public let version: String
    }

    public static func parse(_ bytes: [UInt8], format: IPSetSettings.Format, tag: String?) -> Result<Parsed, IPSetError> {
        switch format {
        case .cidrList: cidrList(bytes)
        case .azureServiceTags: serviceTags(bytes, tag: tag ?? "")
        }
    }

    /// One prefix per line (a bare address is a single host); `#` to the end of the line is a
    /// comment; blank lines and surrounding spaces are ignored.
    public static func cidrList(_ bytes: [UInt8]) -> Result<Parsed, IPSetError> {
        var prefixes: [CIDR] = []
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var text = line[...]
            if let hash = text.firstIndex(of: UInt8(ascii: "#")) { text = text[..<hash] }
            let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            while let first = text.first, blank(first) { text = text.dropFirst() }
            while let last = text.last, blank(last) { text = text.dropLast() }
            guard !text.isEmpty else { continue }
            switch prefix(String(decoding: text, as: UTF8.self), at: "line \(index + 1)") {
            case .success(let cidr): prefixes.append(cidr)
            case .failure(let error): return .failure(error)
            }
        }
        return prefixes.isEmpty ? .failure(.empty) : .success(Parsed(prefixes: prefixes, version: ""))
    }

    /// Microsoft's Service Tags JSON (`ServiceTags_Public_*.json`, or the Service Tag Discovery
    /// API's answer): the `properties.addressPrefixes` of every `values[]` entry whose `name`
    /// is `tag`, IPv4 and IPv6 alike.
    public static func serviceTags(_ bytes: [UInt8], tag: String) -> Result<Parsed, IPSetError> {
        // Files saved by Windows tools may start with a UTF-8 byte order mark.
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        guard let document = JSONValue.parse(body, maxBytes: maxBytes) else { return .failure(.notJSON) }
        guard case .array(let values)? = document["values"] else { return .failure(.notServiceTags("no values[] list")) }
        var prefixes: [CIDR] = []
        var found = false
        var version = whole(document["changeNumber"]).map { "changeNumber \($0)" } ?? ""
        for (index, value) in values.enumerated() where value["name"]?.string == tag {
            found = true
            let path = "values[\(index)].properties.addressPrefixes"
            guard case .array(let entries)? = value["properties"]?["addressPrefixes"] else {
                return .failure(.notServiceTags("\(path) is missing"))
            }
            for (position, entry) in entries.enumerated() {
                guard let text = entry.string else { return .failure(.badPrefix(at: "\(path)[\(position)]", text: "\(entry.serialized)", reason: "is not a string")) }
                switch prefix(text, at: "\(path)[\(position)]") {
                case .success(let cidr): prefixes.append(cidr)
                case .failure(let error): return .failure(error)
                }
            }
            if let change = whole(value["properties"]?["changeNumber"]) {
                version += (version.isEmpty ? "" : ", ") + "\(tag) changeNumber \(change)"
            }
        }
        guard found else { return .failure(.tagNotFound(tag)) }
        return prefixes.isEmpty ? .failure(.empty) : .success(Parsed(prefixes: prefixes, version: version))
    }

    /// A version number for the log; nil for anything that is not a plain whole number.
    static func whole(_ value: JSONValue?) -> Int64? {
        guard let number = value?.number, number.isFinite, number == number.rounded(), abs(number) < 1e15 else { return nil }
        return Int64(number)
    }

    static func prefix(_ text: String, at position: String) -> Result<CIDR, IPSetError> {
        switch CIDR.parse(text) {
        case .success(let cidr): .success(cidr)
        case .failure(.unparsable): .failure(.badPrefix(at: position, text: text, reason: "is not a prefix such as 10.1.2.0/27 or 2001:db8::/48"))
        case .failure(.prefixOutOfRange(let max)): .failure(.badPrefix(at: position, text: text, reason: "has a prefix length out of range 0-\(max)"))
        case .failure(.hostBitsSet(let suggestion)): .failure(.badPrefix(at: position, text: text, reason: "has host bits set (did you mean \(suggestion)?)"))
        }
    }
}
