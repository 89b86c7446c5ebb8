import HTTP1

/// One request as the routes see it: copied out of the connection's buffer once it is complete
/// (the dev issuer is not a hot path), header names lowercased, the query parsed strictly.
struct IssuerRequest: Sendable {
    let method: HTTPMethod
    let methodName: String
    /// The path without the query, as sent.
    let path: String
    let query: FormFields
    /// Names lowercased; a repeated header's values joined with commas, except the
    /// ``singletons``, which are refused when repeated.
    let headers: [String: String]
    let body: [UInt8]
    /// Whether the TCP peer is this machine (the admin call is only taken from it).
    let fromLoopback: Bool

    func header(_ name: String) -> String? { headers[name] }

    /// The path's segments between slashes (`/a/b` → `a`, `b`).
    var segments: [Substring] { path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0 } }

    /// Whether the body is a form (`application/x-www-form-urlencoded`, parameters allowed).
    var hasFormBody: Bool {
        guard let type = header("content-type") else { return false }
        let mediaType = type.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() }
        return mediaType == "application/x-www-form-urlencoded"
    }

    /// Headers that may appear once only.
    static let singletons: Set<String> = ["authorization", "content-type", "x-identity-header", "metadata", "client-request-id"]

    struct Invalid: Error {
        let reason: String
    }

    /// Copies the request out of `bytes` (head at its start, then `bodyLength` bytes).
    init(head: RequestHead, bytes: UnsafeRawBufferPointer, bodyLength: Int, fromLoopback: Bool) throws(Invalid) {
        method = head.method
        methodName = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.methodRange]), as: UTF8.self)
        path = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.path]), as: UTF8.self)
        let queryBytes = UnsafeRawBufferPointer(rebasing: bytes[head.query])
        do {
            query = try FormFields(parsing: queryBytes.isEmpty ? queryBytes : UnsafeRawBufferPointer(rebasing: queryBytes.dropFirst()))
        } catch {
            throw Invalid(reason: "malformed query: \(error.reason)")
        }
        var headers: [String: String] = [:]
        for field in head.headers {
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.name]), as: UTF8.self).lowercased()
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
            if let earlier = headers[name] {
                // Two credentials or two body types would be read differently by two servers.
                guard !Self.singletons.contains(name) else { throw Invalid(reason: "the header \(name) appears twice") }
                headers[name] = earlier + ", " + value
            } else {
                headers[name] = value
            }
        }
        self.headers = headers
        body = Array(UnsafeRawBufferPointer(rebasing: bytes[head.length..<(head.length + bodyLength)]))
        self.fromLoopback = fromLoopback
    }
}
