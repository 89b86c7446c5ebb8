/// One entry of `routes`: which requests it covers (paths, methods) and what their token must
/// hold there, in place of `auth.authorization`. The first route that matches decides.
public struct RouteSettings: Sendable, Equatable {
    /// For the access log and `portcullis check`: the file's `name`, else `routes[i]`.
    public var name: String
    /// Exact paths (`/x`) or prefixes (`/x/*`), in their normal form.
    public var paths: [String]
    /// Upper-case method tokens; empty: every method. `GET` covers `HEAD` too.
    public var methods: [String]
    /// What the token must hold; nil for `auth: none` (no token is looked at).
    public var requirement: AuthorizationSettings?

    public init(name: String, paths: [String], methods: [String] = [], requirement: AuthorizationSettings?) {
        self.name = name
        self.paths = paths
        self.methods = methods
        self.requirement = requirement
    }

    /// `auth: none`, or the requirement in one line, for `portcullis check`.
    public var summary: String {
        requirement.map { "require " + $0.summary } ?? "auth: none (no token; network rules still apply)"
    }

    static func decodeAll(_ node: ConfigNode) throws(ConfigError) -> [RouteSettings] {
        var routes: [RouteSettings] = []
        for (index, element) in try node.sequence().enumerated() {
            let route = try decode(element, index: index)
            if routes.contains(where: { $0.name == route.name }) {
                throw ConfigError(key: element.child("name"), line: element.line,
                                  reason: "'\(route.name)' names an earlier route too; route names must be unique")
            }
            routes.append(route)
        }
        return routes
    }

    static func decode(_ node: ConfigNode, index: Int) throws(ConfigError) -> RouteSettings {
        var map = try node.mapping()
        var name = "routes[\(index)]"
        if let n = map.optional("name") {
            name = try n.string()
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
                throw n.error("'\(name)': a route name is printable ASCII without spaces or quotes (it goes into the access log)")
            }
        }
        let pathsNode = try map.required("paths")
        var paths: [String] = []
        for element in try pathsNode.sequence() { paths.append(try element.pathPattern()) }
        guard !paths.isEmpty else { throw pathsNode.error("a route needs at least one path") }
        var methods: [String] = []
        if let n = map.optional("methods") {
            for element in try n.sequence() {
                let method = try element.string()
                guard isToken(method) else { throw element.error("'\(method)' is not an HTTP method") }
                guard method == method.uppercased() else {
                    throw element.error("'\(method)': methods are case-sensitive; write \(method.uppercased())")
                }
                if !methods.contains(method) { methods.append(method) }
            }
            guard !methods.isEmpty else { throw n.error("an empty list matches no request; list methods or remove the key (every method)") }
        }
        let requireNode = map.optional("require")
        let authNode = map.optional("auth")
        var requirement: AuthorizationSettings?
        switch (requireNode, authNode) {
        case (let require?, nil):
            requirement = try AuthorizationSettings.decodeRequirement(require)
        case (nil, let auth?):
            guard try auth.string() == "none" else {
                throw auth.error("the only value is none (no token on this route); requirements go under require")
            }
        case (.some, let auth?):
            throw auth.error("a route has either require or auth: none, not both")
        case (nil, nil):
            if map.has("require") {
                throw node.error("require is empty; use auth: none or list a requirement (roles, scopes, applications, principals, tenants)")
            }
            throw node.error("a route needs require (what the token must hold) or auth: none")
        }
        try map.finish()
        return RouteSettings(name: name, paths: paths, methods: methods, requirement: requirement)
    }
}
