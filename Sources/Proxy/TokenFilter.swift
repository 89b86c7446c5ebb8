import Config
import EventLoop
import HTTP1
import Tokens

/// Pipeline steps 4–7: excluded paths, the bearer token, its validation (cache first), and the
/// authorization checks. Identity headers for the upstream come from the validated token only;
/// the client's own copies were already dropped by the HTTP layer whatever happens here.
final class TokenFilter: RequestFilter {
    let name = "token"
    let validator: TokenValidator
    /// Replaced on this worker's loop when new keys are published; read without a lock.
    var keys: KeySnapshot
    /// Asks for an early key fetch when a token names an unknown kid (rate-limited there).
    let refresher: (@Sendable (_ issuer: String, _ kid: String?) -> Void)?
    let allowAnonymous: Bool
    let exactPaths: Set<[UInt8]>
    let prefixes: [[UInt8]]
    /// What a token gets when its issuer has no usable keys (`auth.keys.keys_unavailable_action`).
    let keysUnavailable: Decision
    /// `auth.mode: dry_run`.
    let dryRun: Bool

    init(validator: TokenValidator, keys: KeySnapshot, settings: AuthSettings, refresher: (@Sendable (_ issuer: String, _ kid: String?) -> Void)?) {
        self.validator = validator
        self.keys = keys
        self.refresher = refresher
        allowAnonymous = settings.unauthenticatedAction == .allowAnonymous
        exactPaths = Set(settings.excludedPaths.filter { !$0.hasSuffix("/*") }.map { Array($0.utf8) })
        prefixes = settings.excludedPaths.filter { $0.hasSuffix("/*") }.map { Array($0.dropLast().utf8) }
        keysUnavailable = settings.keys.keysUnavailableAction == .reject ? Self.rejectUnjudged : Self.retryLater
        dryRun = settings.mode == .dryRun
    }

    static let missing = Decision(status: 401, code: "token_missing", message: "unauthorized: a bearer token is required",
                                  headers: ["WWW-Authenticate: Bearer"])
    /// The caller is not wrong; the proxy cannot judge its token yet (the identity provider is
    /// unreachable and no kept keys are young enough).
    static let retryLater = Decision(status: 503, code: "keys_unavailable",
                                     message: "service unavailable: the signing keys of this token's issuer are not available; retry later",
                                     headers: ["Retry-After: 30"])
    static let rejectUnjudged = Decision(status: 401, code: "keys_unavailable",
                                         message: "unauthorized: the signing keys of this token's issuer are not available",
                                         headers: ["WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"signing keys unavailable\""])
    static let twoHeaders = Decision(status: 400, code: "authorization_repeated", message: "bad request: exactly one Authorization header",
                                     headers: ["WWW-Authenticate: Bearer error=\"invalid_request\""])

    func evaluate(_ request: inout RequestContext) -> FilterResult {
        let bytes = request.bytes
        if isExcluded(UnsafeRawBufferPointer(rebasing: bytes[request.head.path])) {
            request.logNote = "excluded_path"
            return .continue
        }
        var value: Range<Int>?
        for field in request.head.headers where field.kind == .authorization {
            if value != nil { return .stop(Self.twoHeaders) }
            value = field.value
        }
        guard let value, let token = Self.bearerToken(bytes, value) else {
            if allowAnonymous {
                request.logNote = "anonymous"
                return .continue
            }
            return refuse(Self.missing, &request)
        }
        let now = Double(Sys.wallClock().seconds)
        switch validator.validate(token: UnsafeRawBufferPointer(rebasing: bytes[token]), keys: keys, now: now) {
        case .success(let validated):
            request.upstreamHeaders = validated.identity.upstreamHeaders
            request.logNote = validated.cached ? "cache_hit" : "token_verified"
            request.appID = validated.identity.applicationID
            request.objectID = validated.identity.objectID
            return .continue
        case .failure(let error):
            if let issuer = error.refetchIssuer { refresher?(issuer, error.refetchKid) }
            return refuse(error.kind == .keysUnavailable ? keysUnavailable : Self.decision(for: error), &request)
        }
    }

    /// Stops the request, or in `auth.mode: dry_run` records what would have stopped it and
    /// lets it go on without any identity (the backend never sees an unverified caller named).
    private func refuse(_ decision: Decision, _ request: inout RequestContext) -> FilterResult {
        guard dryRun else { return .stop(decision) }
        if request.wouldDeny == nil { request.wouldDeny = decision.code }
        request.upstreamHeaders = []
        return .continue
    }

    static func decision(for error: TokenError) -> Decision {
        switch error.kind {
        case .invalidToken:
            return Decision(status: 401, code: error.code, message: "unauthorized: \(error.reason)",
                            headers: ["WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"\(error.reason)\""])
        case .insufficientScope:
            return Decision(status: 403, code: error.code, message: "forbidden: \(error.reason)",
                            headers: ["WWW-Authenticate: Bearer error=\"insufficient_scope\", error_description=\"\(error.reason)\""])
        case .forbidden:
            return Decision(status: 403, code: error.code, message: "forbidden: \(error.reason)")
        case .keysUnavailable:
            return retryLater
        }
    }

    /// `Bearer <token>`, scheme in any case, the token made of base64url characters and dots.
    static func bearerToken(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> Range<Int>? {
        guard value.count > 7 else { return nil }
        let scheme: [UInt8] = Array("bearer".utf8)
        for i in 0..<6 where bytes[value.lowerBound + i] | 0x20 != scheme[i] { return nil }
        var start = value.lowerBound + 6
        guard bytes[start] == 0x20 else { return nil }
        while start < value.upperBound, bytes[start] == 0x20 { start += 1 }
        guard start < value.upperBound else { return nil }
        for i in start..<value.upperBound {
            let b = bytes[i]
            let ok = (b &- 65) < 26 || (b &- 97) < 26 || (b &- 48) < 10 || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "=")
            guard ok else { return nil }
        }
        return start..<value.upperBound
    }

    /// A path skips the token check only when it is plainly the configured one: no percent
    /// escapes, backslashes or dot segments that the backend might resolve into another path.
    func isExcluded(_ path: UnsafeRawBufferPointer) -> Bool {
        guard !exactPaths.isEmpty || !prefixes.isEmpty else { return false }
        for (i, b) in path.enumerated() {
            if b == UInt8(ascii: "%") || b == UInt8(ascii: "\\") { return false }
            if b == UInt8(ascii: "."), i > 0, path[i - 1] == UInt8(ascii: "/") {
                let next = i + 1 < path.count ? path[i + 1] : UInt8(ascii: "/")
                let afterDot = i + 2 < path.count ? path[i + 2] : UInt8(ascii: "/")
                if next == UInt8(ascii: "/") || (next == UInt8(ascii: ".") && afterDot == UInt8(ascii: "/")) { return false }
            }
        }
        if exactPaths.contains(Array(path)) { return true }
        return prefixes.contains { path.starts(with: $0) }
    }
}
