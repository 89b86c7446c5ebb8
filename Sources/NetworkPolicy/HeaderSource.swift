public import Config

/// How a front end hands request headers to the network layer without copying or allocating.
///
/// Generic (not an existential) on the request path, so the calls inline.
public protocol HeaderSource {
    /// Calls `body` with the value of every field named `lowercasedName`, in order; stops when
    /// `body` returns false.
    func forEachValue(named lowercasedName: String, _ body: (UnsafeRawBufferPointer) -> Bool)

    /// The same for the forwarding header the client address is read from: every field named
    /// `header.rawValue`, in order. A source that already knows which fields those are (a parsed
    /// request head classifies X-Forwarded-For and Forwarded as it reads them) answers without
    /// comparing names; the default compares names.
    func forEachValue(of header: ClientIPSettings.Header, _ body: (UnsafeRawBufferPointer) -> Bool)
}

extension HeaderSource {
    public func forEachValue(of header: ClientIPSettings.Header, _ body: (UnsafeRawBufferPointer) -> Bool) {
        forEachValue(named: header.rawValue, body)
    }
}

/// Headers from plain strings, for `portcullis check --header` and tests.
public struct StaticHeaders: HeaderSource, Sendable {
    public var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)]) {
        self.fields = fields
    }

    public func forEachValue(named lowercasedName: String, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var wanted = lowercasedName
        wanted.withUTF8 { wanted in
            for field in fields {
                var name = field.name, value = field.value
                // Compared as bytes: a String's own comparison is Unicode-aware and far slower.
                let matches = name.withUTF8 { name in
                    name.count == wanted.count && zip(name, wanted).allSatisfy { ($0 &- 65 < 26 ? $0 | 0x20 : $0) == $1 }
                }
                if matches, !value.withUTF8({ body(UnsafeRawBufferPointer($0)) }) { return }
            }
        }
    }
}
