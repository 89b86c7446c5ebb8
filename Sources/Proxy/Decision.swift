public import HTTP1

/// The outcome of a step of the request pipeline that stops the request, with what the client
/// gets and why. One place, ``LocalReply``, turns it into bytes.
public struct Decision: Sendable {
    public var status: Int
    /// Stable reason for the access log, e.g. `network_denied`, `token_expired`, `bad_chunk`.
    public var code: String
    /// Short plain-text body for the client.
    public var message: String
    /// Extra response header lines, each without CRLF (e.g. `WWW-Authenticate: Bearer`).
    public var headers: [String]

    public init(status: Int, code: String, message: String, headers: [String] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public init(_ error: HTTPError) {
        self.init(status: error.status, code: error.code.description, message: error.reason.description)
    }

    public static let upstreamUnavailable = Decision(status: 502, code: "upstream_unavailable", message: "upstream unavailable")
    public static let upstreamTimeout = Decision(status: 504, code: "upstream_timeout", message: "upstream timed out")
    public static let badUpstreamResponse = Decision(HTTPError(status: 502, code: "bad_upstream_response", reason: "upstream sent a malformed response"))
    public static let requestTimeout = Decision(status: 408, code: "request_header_timeout", message: "request header timeout")
    public static let http2Only = Decision(status: 505, code: "http2_only", message: "this listener speaks HTTP/2 only")
    public static let upstreamNeedsH2 = Decision(status: 505, code: "upstream_requires_h2",
                                                 message: "this service is reachable over HTTP/2 only")
    public static let shuttingDown = Decision(status: 503, code: "shutting_down", message: "shutting down")
}
