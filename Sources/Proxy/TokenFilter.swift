import Config
import EventLoop
import HTTP1
import Tokens

/// Pipeline steps 5–8: the route (excluded paths, then `routes`, first match wins), the bearer
/// token, its authentication (cache first), and the requirement the route picked
/// (`auth.authorization` where no route matches). Identity headers for the upstream come from
/// the validated token only; the client's own copies were already dropped by the HTTP layer
/// whatever happens here.
///
/// The route is looked up here rather than in a filter of its own because all it decides is
/// what this step does (skip the token, or which requirement holds); a separate filter would
/// only hand its pick over through the request context.
final class TokenFilter: RequestFilter {
    let name = "token"
    let validator: TokenValidator
    /// Replaced on this worker's loop when new keys are published; read without a lock.
    var keys: KeySnapshot
    /// Asks for an early key fetch when a token names an unknown kid (rate-limited there).
    let refresher: (@Sendable (_ issuer: String, _ kid: String?) -> Void)?
    let allowAnonymous: Bool
    let routes: RouteTable
    /// What a token gets when its issuer has no usable keys (`auth.keys.keys_unavailable_action`).
    let keysUnavailable: Decision
    /// `auth.mode: dry_run`.
    let dryRun: Bool

    init(validator: TokenValidator, keys: KeySnapshot, settings: AuthSettings, routes: RouteTable,
         refresher: (@Sendable (_ issuer: String, _ kid: String?) -> Void)?) {
        self.validator = validator
        self.keys = keys
        self.refresher = refresher
        allowAnonymous = settings.unauthenticatedAction == .allowAnonymous
        self.routes = routes
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
        var requirement = routes.defaultRequirement
        // With a route's requirement, nobody is not an answer: every route requires something.
        var anonymousAllowed = allowAnonymous
        if let index = routes.match(method: UnsafeRawBufferPointer(rebasing: bytes[request.head.methodRange]),
                                    path: UnsafeRawBufferPointer(rebasing: bytes[request.head.path])) {
            let route = routes.routes[index]
            request.route = route.name
            guard let routeRequirement = route.requirement else {
                request.logNote = route.note
                return .continue
            }
            requirement = routeRequirement
            anonymousAllowed = false
        }
        var value: Range<Int>?
        for field in request.head.headers where field.kind == .authorization {
            if value != nil { return .stop(Self.twoHeaders) }
            value = field.value
        }
        guard let value, let token = Self.bearerToken(bytes, value) else {
            if anonymousAllowed {
                request.logNote = "anonymous"
                return .continue
            }
            return refuse(Self.missing, &request)
        }
        let now = Double(Sys.wallClock().seconds)
        switch validator.validate(token: UnsafeRawBufferPointer(rebasing: bytes[token]), keys: keys, now: now) {
        case .success(let validated):
            if let error = requirement.check(validated.identity) { return refuse(Self.decision(for: error), &request) }
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
        // A StaticString's bytes: an Array here was an allocation on every request with a token.
        let scheme: StaticString = "bearer"
        for i in 0..<6 where bytes[value.lowerBound + i] | 0x20 != scheme.utf8Start[i] { return nil }
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
}
