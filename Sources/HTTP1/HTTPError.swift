/// Why a message was refused at the parser, with the status the client gets.
///
/// `code` is stable and goes into the access log; `reason` is the short text of the response body.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: StaticString
    public let reason: StaticString

    public init(status: Int, code: StaticString, reason: StaticString) {
        self.status = status
        self.code = code
        self.reason = reason
    }

    public static func == (a: HTTPError, b: HTTPError) -> Bool {
        a.status == b.status && a.code.description == b.code.description
    }

    public var description: String { "\(status) \(code): \(reason)" }

    static func bad(_ code: StaticString, _ reason: StaticString) -> HTTPError {
        HTTPError(status: 400, code: code, reason: reason)
    }

    public static let headersTooLarge = HTTPError(status: 431, code: "headers_too_large", reason: "request header fields too large")
    public static let tooManyHeaders = HTTPError(status: 431, code: "too_many_headers", reason: "too many header fields")
    public static let uriTooLong = HTTPError(status: 414, code: "uri_too_long", reason: "request target too long")
    public static let unknownCoding = HTTPError(status: 501, code: "unsupported_transfer_coding", reason: "transfer coding not implemented")
    public static let connectRefused = HTTPError(status: 405, code: "connect_refused", reason: "CONNECT is not allowed")
    public static let badVersion = HTTPError(status: 505, code: "version_not_supported", reason: "HTTP version not supported")
    public static let expectationFailed = HTTPError(status: 417, code: "expectation_failed", reason: "unsupported expectation")
}
