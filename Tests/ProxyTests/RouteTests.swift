import Config
import Foundation
import Proxy
import TestSupport
import Testing
import Tokens

/// `routes` through the real proxy: the first route that matches the normalized path and the
/// method picks what the token must hold (all-of, any-of), `auth: none` skips the token, and no
/// spelling of a path reaches a route's backend past the route.
@Suite("Routes through the proxy", .serialized)
struct RouteTests {
    static let routes = """
    routes:
      - name: admin-write
        paths: [/admin/*]
        methods: [POST, PUT, DELETE]
        require: {roles: {all_of: [Admin, Data.Write]}}
      - name: admin
        paths: [/admin/*]
        require: {roles: {any_of: [Admin, Auditor]}}
      - name: reports
        paths: [/reports/*]
        require: {roles: [Data.Read], scopes: {any_of: [Reports.Read, Reports.All]}}
      - name: public
        paths: [/public/*, /status]
        auth: none
    """

    static func harness(auth: String = "", extra: String = "", listener: String = "") throws -> Harness {
        let signer = try AuthTests.key()
        let path = NSTemporaryDirectory() + "portcullis-routes-\(UUID().uuidString).json"
        try JSONValue.object([("keys", .array([signer.publicJWK(kid: "k1")]))]).serialized.write(toFile: path, atomically: true, encoding: .utf8)
        return try Harness(extraYAML: """
        auth:
          issuers: [{issuer: "\(AuthTests.issuer)", jwks_file: \(path), audiences: [api://service-b], algorithms: [ES256]}]
          authorization: {required_roles: [Data.Read]}
        \(auth)
        \(routes)
        \(extra)
        """, listenerYAML: listener)
    }

    static func token(roles: [String], scopes: String? = nil) throws -> String {
        let exp = Int(Date().timeIntervalSince1970) + 3600
        let roleList = roles.map { "\"\($0)\"" }.joined(separator: ",")
        let scp = scopes.map { ",\"scp\":\"\($0)\"" } ?? ""
        return try AuthTests.key().mint(claims: """
        {"iss":"\(AuthTests.issuer)","aud":"api://service-b","exp":\(exp),"azp":"app-a","oid":"oid-1","roles":[\(roleList)]\(scp)}
        """, kid: "k1")
    }

    static func send(_ harness: Harness, _ target: String, token: String? = nil, headers: String = "") throws -> RawResponse {
        try send(harness, "GET", target, token: token, headers: headers)
    }

    static func send(_ harness: Harness, _ method: String, _ target: String, token: String? = nil,
                     headers: String = "") throws -> RawResponse {
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let body = method == "GET" || method == "HEAD" ? "" : "Content-Length: 0\r\n"
        return try harness.exchange("\(method) \(target) HTTP/1.1\r\nHost: a\r\n\(authorization)\(body)\(headers)Connection: close\r\n\r\n")
    }

    /// The request lines the backend received, in order.
    static func requestLines(_ harness: Harness) -> [String] {
        harness.received.components(separatedBy: "\r\n").filter { $0.hasSuffix(" HTTP/1.1") && !$0.contains(":") }
    }

    @Test func anyOfRolesAdmitsEachListedRoleAndRefusesATokenWithNone() throws {
        let harness = try Self.harness()
        #expect(try Self.send(harness, "/admin/x", token: Self.token(roles: ["Auditor"])).status == 200)
        #expect(try Self.send(harness, "/admin/x", token: Self.token(roles: ["Admin"])).status == 200)
        let refused = try Self.send(harness, "/admin/x", token: Self.token(roles: ["Data.Read", "Reader"]))
        #expect(refused.status == 403)
        #expect(refused.text.contains("error=\"insufficient_scope\", error_description=\"the token has none of the roles Admin, Auditor\""),
                "\(refused.text)")
        #expect(Self.requestLines(harness) == ["GET /admin/x HTTP/1.1", "GET /admin/x HTTP/1.1"])
    }

    @Test func allOfRolesOnTheListedMethodsAndTheFirstMatchingRouteDecides() throws {
        let harness = try Self.harness()
        let adminOnly = try Self.send(harness, "POST", "/admin/x", token: Self.token(roles: ["Admin"]))
        #expect(adminOnly.status == 403)
        #expect(adminOnly.text.contains("the token lacks the role Data.Write"), "\(adminOnly.text)")
        #expect(try Self.send(harness, "POST", "/admin/x", token: Self.token(roles: ["Data.Write", "Admin"])).status == 200)
        // The second route would let an Auditor in; the first one matches DELETE and decides.
        #expect(try Self.send(harness, "DELETE", "/admin/x", token: Self.token(roles: ["Auditor"])).status == 403)
        // GET is not among the first route's methods: the second route decides.
        #expect(try Self.send(harness, "GET", "/admin/x", token: Self.token(roles: ["Auditor"])).status == 200)
        #expect(Self.requestLines(harness) == ["POST /admin/x HTTP/1.1", "GET /admin/x HTTP/1.1"])
    }

    @Test func anyOfScopesAndAllOfRolesMustBothHold() throws {
        let harness = try Self.harness()
        #expect(try Self.send(harness, "/reports/q", token: Self.token(roles: ["Data.Read"], scopes: "openid Reports.All")).status == 200)
        let noScope = try Self.send(harness, "/reports/q", token: Self.token(roles: ["Data.Read"], scopes: "openid Reports.Write"))
        #expect(noScope.status == 403)
        #expect(noScope.text.contains("the token has none of the scopes Reports.Read, Reports.All"), "\(noScope.text)")
        let noRole = try Self.send(harness, "/reports/q", token: Self.token(roles: [], scopes: "Reports.Read"))
        #expect(noRole.status == 403)
        #expect(noRole.text.contains("the token lacks the role Data.Read"))
        #expect(Self.requestLines(harness) == ["GET /reports/q HTTP/1.1"])
    }

    @Test func aPathNoRouteMatchesKeepsTheTopLevelAuthorization() throws {
        let harness = try Self.harness()
        let reader = try Self.token(roles: ["Data.Read"])
        #expect(try Self.send(harness, "/orders", token: reader).status == 200)
        #expect(try Self.send(harness, "/orders", token: Self.token(roles: ["Admin"])).status == 403)
        // A prefix route covers its own path and stops at a segment boundary.
        #expect(try Self.send(harness, "/adminx", token: reader).status == 200)
        #expect(try Self.send(harness, "/admin", token: reader).status == 403)
        #expect(try Self.send(harness, "/admin/", token: reader).status == 403)
        #expect(Self.requestLines(harness) == ["GET /orders HTTP/1.1", "GET /adminx HTTP/1.1"])
    }

    @Test func authNoneSkipsTheTokenAndForwardsNoIdentity() throws {
        let harness = try Self.harness()
        #expect(try Self.send(harness, "/public/logo.png").status == 200)
        #expect(try Self.send(harness, "/public/a", headers: "X-MS-CLIENT-PRINCIPAL-ID: forged\r\n").status == 200)
        // A valid token is not looked at (no identity), nor is a broken one (no 401).
        #expect(try Self.send(harness, "/public/b", token: Self.token(roles: ["Admin"])).status == 200)
        #expect(try Self.send(harness, "/public/c", token: "not.a.token").status == 200)
        // An exact path also matches with one trailing slash, and nothing below it.
        #expect(try Self.send(harness, "/status").status == 200)
        #expect(try Self.send(harness, "/status/").status == 200)
        #expect(try Self.send(harness, "/status/x").status == 401)
        #expect(!harness.received.lowercased().contains("x-ms-client-principal"), "\(harness.received)")
        #expect(Self.requestLines(harness).count == 6)
    }

    @Test func anAuthNoneRouteIsStillBehindTheNetworkRules() throws {
        let harness = try Self.harness(extra: """
        network:
          default_action: allow
          rules: [{name: no-loopback, priority: 1, action: deny, cidrs: [127.0.0.0/8]}]
        """)
        let response = try Self.send(harness, "/public/logo.png")
        #expect(response.status == 403)
        #expect(response.text.contains("forbidden: this network may not call this service"))
        #expect(harness.receivedCount == 0)
    }

    static let spellings = [
        "/%61dmin/x", "/public/../admin/x", "//admin/x", "/public/%2e%2e/admin/x", "/public/.%2E/admin/x",
        "/public//../admin/x", "/public/./../admin/x", "/%61dmin//./x", "http://a/public/../admin/x",
    ]

    @Test func noSpellingReachesAdminPastItsRoute() throws {
        let harness = try Self.harness()
        let reader = try Self.token(roles: ["Data.Read"])
        let auditor = try Self.token(roles: ["Auditor"])
        for target in Self.spellings {
            #expect(try Self.send(harness, target).status == 401, "\(target)")
            #expect(try Self.send(harness, target, token: reader).status == 403, "\(target)")
            #expect(try Self.send(harness, target, token: auditor).status == 200, "\(target)")
        }
        // Exactly the allowed ones arrived, each as the path that was judged.
        #expect(Self.requestLines(harness) == Array(repeating: "GET /admin/x HTTP/1.1", count: Self.spellings.count))
    }

    @Test func pathsThatCannotBeNormalizedSafelyAre400AndNeverForwarded() throws {
        let harness = try Self.harness()
        let cases = [
            ("/a%2fb", "encoded slash (%2F) in the path"), ("/public/a%2F..%2F..%2Fadmin", "encoded slash (%2F) in the path"),
            ("/a%00", "encoded NUL (%00) in the path"), ("/../x", "the path climbs above the root with '..'"),
            ("/public/../../admin/x", "the path climbs above the root with '..'"),
            ("/public/..;/admin/x", "dot segment with ';' parameters in the path"), ("/public\\..\\admin", "backslash in the path"),
            ("/public/%5c../admin", "backslash in the path"), ("/a/%zz", "malformed percent-escape in the path"),
        ]
        for (target, reason) in cases {
            let response = try Self.send(harness, target, token: Self.token(roles: ["Admin", "Data.Read"]))
            #expect(response.status == 400, "\(target)")
            #expect(response.text.hasSuffix("\r\n\r\n\(reason)\n"), "\(target): \(response.text)")
        }
        #expect(harness.receivedCount == 0)
        // The head was whole and had no body: the connection goes on with the next request.
        let pipelined = try harness.exchange("GET /a%2fb HTTP/1.1\r\nHost: a\r\n\r\nGET /public/ok HTTP/1.1\r\nHost: a\r\n\r\n", responses: 2)
        #expect(pipelined.statuses == [400, 200])
        #expect(Self.requestLines(harness) == ["GET /public/ok HTTP/1.1"])
    }

    @Test func theBackendReceivesTheNormalizedPathAndTheQueryAsSent() throws {
        let harness = try Self.harness()
        #expect(try Self.send(harness, "/public/%7euser//a/./b/../c%3a?q=%2e%2e/../%2F&x=%61").status == 200)
        #expect(try Self.send(harness, "HEAD", "/public/./x").status == 200)
        #expect(Self.requestLines(harness) == ["GET /public/~user/a/c%3A?q=%2e%2e/../%2F&x=%61 HTTP/1.1", "HEAD /public/x HTTP/1.1"])
    }

    @Test func allowAnonymousDoesNotOpenARouteThatRequiresSomething() throws {
        let harness = try Self.harness(auth: "  unauthenticated_action: allow_anonymous")
        #expect(try Self.send(harness, "/orders").status == 200)
        let response = try Self.send(harness, "/admin/x")
        #expect(response.status == 401)
        #expect(response.text.contains("WWW-Authenticate: Bearer\r\n"))
        #expect(Self.requestLines(harness) == ["GET /orders HTTP/1.1"])
    }

    @Test func dryRunRecordsARoutesRefusalAndForwardsWithoutIdentity() throws {
        let harness = try Self.harness(auth: "  mode: dry_run", extra: "admin: {address: \"127.0.0.1:0\"}")
        #expect(try Self.send(harness, "/admin/x", token: Self.token(roles: ["Data.Read"])).status == 200)
        #expect(try Self.send(harness, "POST", "/admin/y", token: Self.token(roles: ["Admin"])).status == 200)
        #expect(try Self.send(harness, "/public/z").status == 200)
        #expect(!harness.received.lowercased().contains("x-ms-client-principal"), "\(harness.received)")
        let samples = try PrometheusText.parse(harness.server.renderMetrics())
        let wouldDeny = samples.first { $0.name == "portcullis_would_deny_total" && $0.labels == ["reason": "missing_role"] }
        #expect(wouldDeny?.value == 2)
        #expect(Self.requestLines(harness) == ["GET /admin/x HTTP/1.1", "POST /admin/y HTTP/1.1", "GET /public/z HTTP/1.1"])
    }

    @Test func overHTTP2TheSameSpellingsReachTheSameRoute() throws {
        let harness = try Self.harness(listener: H2Tests.cleartext)
        let auditor = try Self.token(roles: ["Auditor"])
        let base = "http://127.0.0.1:\(harness.port)"
        for target in Self.spellings where target.hasPrefix("/") {
            let anonymous = try H2Tests.curl(["--http2-prior-knowledge", "--path-as-is", base + target])
            #expect(anonymous.version == "2" && anonymous.status == 401, "\(target): \(anonymous)")
            let allowed = try H2Tests.curl(["--http2-prior-knowledge", "--path-as-is", "-H", "Authorization: Bearer \(auditor)", base + target])
            #expect(allowed.version == "2" && allowed.status == 200, "\(target): \(allowed)")
        }
        let encodedSlash = try H2Tests.curl(["--http2-prior-knowledge", "--path-as-is", "-H", "Authorization: Bearer \(auditor)",
                                             base + "/public/..%2Fadmin/x"])
        #expect(encodedSlash.status == 400)
        #expect(encodedSlash.body.contains("encoded slash (%2F) in the path"))
        let forwarded = Self.requestLines(harness)
        #expect(forwarded == Array(repeating: "GET /admin/x HTTP/1.1", count: Self.spellings.count - 1), "\(forwarded)")
    }

    /// config/examples/routes.yaml, as its comments say to try it.
    @Test func theRoutesExampleServesAsDocumented() throws {
        let backend = try DemoBackendHandle()
        let example = try ExampleConfig("routes.yaml", upstream: "http://127.0.0.1:8000", port: backend.port)
        defer { example.proxy.shutdown(drainMillis: 200) }
        let port = example.port
        let key = try ExampleConfig.demoKey()
        let auditor = try key.mint(claims: """
        {"iss":"https://demo.portcullis.local/","aud":"api://service-b","exp":4102444800,"azp":"service-a","oid":"oid-1","roles":["Auditor"]}
        """, kid: "demo-key")
        func status(_ method: String, _ target: String, token: String? = nil) throws -> Int? {
            let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
            let request = "\(method) \(target) HTTP/1.1\r\nHost: a\r\n\(authorization)Content-Length: 0\r\nConnection: close\r\n\r\n"
            return try RawClient.exchange(port: port, bytes: Array(request.utf8), responses: 1, halfClose: false).status
        }
        #expect(try status("GET", "/admin/users", token: auditor) == 200)
        #expect(try status("DELETE", "/admin/users/7", token: auditor) == 403)
        #expect(try status("GET", "/public/../admin/users") == 401)
        #expect(try status("GET", "/public/..%2Fadmin/users") == 400)
        #expect(try status("GET", "/public/logo.png") == 200)
        #expect(try status("GET", "/healthz") == 200)
        #expect(try status("GET", "/orders", token: auditor) == 403)
    }
}
