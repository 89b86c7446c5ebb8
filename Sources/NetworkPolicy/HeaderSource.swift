/// How a front end hands request headers to the network layer without copying or allocating.
///
/// Generic (not an existential) on the request path, so the calls inline.
public protocol HeaderSource {
    /// Calls `body` with the value of every field named `lowercasedName`, in order; stops when
    /// `body` returns false.
    func forEachValue(named lowercasedName: String, _ body: (UnsafeRawBufferPointer) -> Bool)
}

/// Headers from plain strings, for `portcullis check --header` and tests.
public struct StaticHeaders: HeaderSource, Sendable {
    public var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)]) {
        self.fields = fields
    }

    public func forEachValue(named lowercasedName: String, _ body: (UnsafeRawBufferPointer) -> Bool) {
        for field in fields where field.name.utf8.count == lowercasedName.utf8.count
            && zip(field.name.utf8, lowercasedName.utf8).allSatisfy({ ($0 &- 65 < 26 ? $0 | 0x20 : $0) == $1 }) {
            var value = field.value
            let goOn = value.withUTF8 { body(UnsafeRawBufferPointer($0)) }
            if !goOn { return }
        }
    }
}
