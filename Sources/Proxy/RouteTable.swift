import Config
import Tokens

/// `auth.excluded_paths` and `routes`, compiled once per configuration for the token step:
/// which entry a request matches (first match wins, excluded paths before every route) and so
/// whether a token is looked at and what it must hold. Paths are compared as bytes against
/// the request's normalized path, which is the only spelling the upstream ever receives.
struct RouteTable: Sendable {
    struct Route: Sendable {
        /// For the access log; nil for an excluded path (its log note says so).
        let name: String?
        /// Exact paths; each also matches itself with one trailing slash.
        let exact: [[UInt8]]
        /// Prefixes without their `/*`: `/admin` matches `/admin` and everything under `/admin/`;
        /// empty (from `/*`) matches every path.
        let prefixes: [[UInt8]]
        /// Method tokens; empty: every method.
        let methods: [[UInt8]]
        /// Nil: no token on this route (`auth: none`, or an excluded path).
        let requirement: AuthorizationRequirement?
        /// What the log notes when no token is looked at.
        let note: String
    }

    let routes: [Route]
    /// `auth.authorization`: for a request no route matches.
    let defaultRequirement: AuthorizationRequirement

    init(routes settings: [RouteSettings], excludedPaths: [String], authorization: AuthorizationSettings) {
        var routes: [Route] = []
        if !excludedPaths.isEmpty {
            routes.append(Self.compile(name: nil, paths: excludedPaths, methods: [], requirement: nil, note: "excluded_path"))
        }
        for route in settings {
            // HEAD is GET without the body: a route that guards GET guards what HEAD reveals.
            var methods = route.methods
            if methods.contains("GET") && !methods.contains("HEAD") { methods.append("HEAD") }
            routes.append(Self.compile(name: route.name, paths: route.paths, methods: methods,
                                       requirement: route.requirement.map(AuthorizationRequirement.init), note: "auth_none"))
        }
        self.routes = routes
        defaultRequirement = AuthorizationRequirement(authorization)
    }

    private static func compile(name: String?, paths: [String], methods: [String], requirement: AuthorizationRequirement?,
                                note: String) -> Route {
        Route(name: name,
              exact: paths.filter { !$0.hasSuffix("/*") }.map { Array($0.utf8) },
              prefixes: paths.filter { $0.hasSuffix("/*") }.map { Array($0.dropLast(2).utf8) },
              methods: methods.map { Array($0.utf8) },
              requirement: requirement, note: note)
    }

    /// The index of the first route that covers this method and (normalized) path.
    @inline(__always)
    func match(method: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer) -> Int? {
        for index in routes.indices {
            let route = routes[index]
            guard route.methods.isEmpty || route.methods.contains(where: { Self.equal(method, $0) }) else { continue }
            for exact in route.exact where Self.matches(exact: exact, path) { return index }
            for prefix in route.prefixes where Self.matches(prefix: prefix, path) { return index }
        }
        return nil
    }

    /// `/x` matches `/x` and `/x/`: many frameworks serve both alike, and a restrictive route
    /// must not be passed by a trailing slash.
    @inline(__always)
    static func matches(exact: [UInt8], _ path: UnsafeRawBufferPointer) -> Bool {
        if path.count == exact.count { return startsWith(path, exact) }
        return path.count == exact.count + 1 && path[exact.count] == UInt8(ascii: "/") && startsWith(path, exact)
    }

    /// `/x/*` (stored as `/x`) matches `/x` and `/x/…`, never `/xy`.
    @inline(__always)
    static func matches(prefix: [UInt8], _ path: UnsafeRawBufferPointer) -> Bool {
        guard path.count >= prefix.count, startsWith(path, prefix) else { return false }
        return path.count == prefix.count ? !prefix.isEmpty : path[prefix.count] == UInt8(ascii: "/")
    }

    @inline(__always)
    static func equal(_ bytes: UnsafeRawBufferPointer, _ literal: [UInt8]) -> Bool {
        bytes.count == literal.count && startsWith(bytes, literal)
    }

    @inline(__always)
    static func startsWith(_ bytes: UnsafeRawBufferPointer, _ literal: [UInt8]) -> Bool {
        var i = 0
        while i < literal.count {
            if bytes[i] != literal[i] { return false }
            i += 1
        }
        return true
    }
}
