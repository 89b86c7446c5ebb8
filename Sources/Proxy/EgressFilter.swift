import HTTP1

/// The egress chain's one step: which route the app's call is for (by the host it named,
/// ignoring case and port), and the token that route attaches. A host no route names gets
/// 403 (egress is default deny); a route whose token is unavailable gets 503 with the reason,
/// at once, never a wait.
final class EgressFilter: RequestFilter {
    let name = "egress"

    struct Route {
        /// Lower-case host name, no port.
        let host: [UInt8]
        /// The worker pool the route's calls go to.
        let target: Int
        let source: String?
        let scope: String
    }

    let routes: [Route]
    let tokens: (any OutboundTokens)?
    /// Per route: the last token seen and its header line, so a token that did not change
    /// (the usual case, for an hour) costs no new string per request.
    private var headers: [(token: String, line: String)]

    init(routes: [Route], tokens: (any OutboundTokens)?) {
        self.routes = routes
        self.tokens = tokens
        headers = Array(repeating: ("", ""), count: routes.count)
    }

    static let unknownHost = Decision(status: 403, code: "egress_unknown_host",
                                      message: "forbidden: no egress route for this host")

    func evaluate(_ request: inout RequestContext) -> FilterResult {
        let host = Self.hostWithoutPort(UnsafeRawBufferPointer(rebasing: request.bytes[request.head.host]))
        guard let index = routes.firstIndex(where: { Self.equalsLowercase(host, $0.host) }) else {
            return .stop(Self.unknownHost)
        }
        let route = routes[index]
        request.upstreamTarget = route.target
        request.logNote = "egress"
        guard let source = route.source else { return .continue }
        let answer = tokens?.bearer(source: source, scope: route.scope) ?? .unavailable("no token source '\(source)' is running")
        switch answer {
        case .token(let token):
            if headers[index].token != token { headers[index] = (token, "Authorization: Bearer " + token) }
            request.upstreamHeaders = [headers[index].line]
            return .continue
        case .unavailable(let reason):
            return .stop(Decision(status: 503, code: "egress_token_unavailable",
                                  message: "service unavailable: no token for \(route.scope) from '\(source)': \(reason)",
                                  headers: ["Retry-After: 5"]))
        }
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port` → the host part.
    static func hostWithoutPort(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return bytes }
            return UnsafeRawBufferPointer(rebasing: bytes[0...close])
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return bytes }
        return UnsafeRawBufferPointer(rebasing: bytes[0..<colon])
    }

    static func equalsLowercase(_ bytes: UnsafeRawBufferPointer, _ lowercased: [UInt8]) -> Bool {
        guard bytes.count == lowercased.count else { return false }
        for i in 0..<bytes.count {
            let b = bytes[i]
            if ((b &- 65) < 26 ? b | 0x20 : b) != lowercased[i] { return false }
        }
        return true
    }
}
