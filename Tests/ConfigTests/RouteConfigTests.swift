import Testing
@testable import Config

/// `routes` and the any-of/all-of requirements, as the file spells them; every mistake names
/// its key.
@Suite("routes section")
struct RouteConfigTests {
    static let head = """
    listeners: [{address: "127.0.0.1:1"}]
    upstream: {url: "http://127.0.0.1:2"}
    auth:
      issuers: [{issuer: i, jwks_file: f, audiences: [a]}]

    """

    func parse(_ yaml: String, auth: Bool = true) throws(ConfigError) -> PortcullisConfig {
        try PortcullisConfig.parse(yaml: (auth ? Self.head : "listeners: [{address: \"127.0.0.1:1\"}]\nupstream: {url: \"http://127.0.0.1:2\"}\n") + yaml)
    }

    func failure(_ yaml: String, auth: Bool = true) -> ConfigError? {
        do { _ = try parse(yaml, auth: auth); return nil } catch { return error }
    }

    @Test func parsesTheIssuesShape() throws {
        let config = try parse("""
        routes:
          - name: admin
            paths: [/admin/*]
            methods: [POST, PUT, DELETE]
            require: {roles: {all_of: [Admin]}, applications: [app-a, app-b], scopes: {any_of: [Admin.Write, Admin.All]}}
          - paths: [/reports/*, /summary]
            require: {roles: [Reader, Auditor], scopes: {all_of: [s1], any_of: [s2, s3]}, principals: [p], tenants: [t]}
          - paths: [/public/*]
            auth: none
        """)
        #expect(config.routes.count == 3)
        let admin = config.routes[0]
        #expect(admin.name == "admin")
        #expect(admin.paths == ["/admin/*"])
        #expect(admin.methods == ["POST", "PUT", "DELETE"])
        #expect(admin.requirement?.roles == RequiredValues(allOf: ["Admin"]))
        #expect(admin.requirement?.scopes == RequiredValues(anyOf: ["Admin.Write", "Admin.All"]))
        #expect(admin.requirement?.allowedApplications == ["app-a", "app-b"])
        let reports = config.routes[1]
        #expect(reports.name == "routes[1]")
        #expect(reports.methods.isEmpty)
        // A plain list keeps meaning every one of them.
        #expect(reports.requirement?.roles == RequiredValues(allOf: ["Reader", "Auditor"]))
        #expect(reports.requirement?.scopes == RequiredValues(allOf: ["s1"], anyOf: ["s2", "s3"]))
        #expect(reports.requirement?.allowedPrincipals == ["p"])
        #expect(reports.requirement?.allowedTenants == ["t"])
        #expect(config.routes[2].requirement == nil)
        #expect(config.routes[2].summary.hasPrefix("auth: none"))
        #expect(admin.summary == "require roles all of [Admin]; scopes any of [Admin.Write, Admin.All]; applications [app-a, app-b]")
    }

    @Test func topLevelRequiredRolesTakesAPlainListOrAllOfAndAnyOf() throws {
        let plain = try PortcullisConfig.parse(yaml: Self.head + "  authorization: {required_roles: [A, B], required_scopes: []}\n")
        #expect(plain.auth?.authorization.roles == RequiredValues(allOf: ["A", "B"]))
        #expect(plain.auth?.authorization.scopes.isEmpty == true)
        let mapping = try PortcullisConfig.parse(yaml: Self.head + "  authorization: {required_roles: {any_of: [A, B]}, required_scopes: {all_of: [s]}}\n")
        #expect(mapping.auth?.authorization.roles == RequiredValues(anyOf: ["A", "B"]))
        #expect(mapping.auth?.authorization.scopes == RequiredValues(allOf: ["s"]))
        #expect(failure("  authorization: {required_roles: {any_of: []}}\n")?.key == "auth.authorization.required_roles.any_of")
        #expect(failure("  authorization: {required_scopes: {one_of: [x]}}\n")?.key == "auth.authorization.required_scopes.one_of")
    }

    @Test func aRouteNeedsPathsAndExactlyOneOfRequireOrAuthNone() {
        let noPaths = failure("routes: [{require: {roles: [A]}}]")
        #expect(noPaths?.key == "routes[0]")
        #expect(noPaths?.reason.contains("'paths' is missing") == true)
        #expect(failure("routes: [{paths: [], auth: none}]")?.key == "routes[0].paths")
        let both = failure("routes: [{paths: [/a], require: {roles: [A]}, auth: none}]")
        #expect(both?.key == "routes[0].auth")
        #expect(both?.reason.contains("not both") == true)
        let neither = failure("routes: [{paths: [/a]}]")
        #expect(neither?.key == "routes[0]")
        #expect(neither?.reason.contains("auth: none") == true)
        #expect(failure("routes: [{paths: [/a], auth: optional}]")?.key == "routes[0].auth")
        #expect(failure("routes: [{paths: [/a], auth: none, requires: {roles: [A]}}]")?.reason.contains("did you mean 'require'") == true)
    }

    @Test func anEmptyRequireSaysToUseAuthNone() {
        for yaml in ["routes: [{paths: [/a], require: {}}]", "routes: [{paths: [/a], require: }]"] {
            let error = failure(yaml)
            #expect(error?.key.hasPrefix("routes[0]") == true, "\(yaml)")
            #expect(error?.reason.contains("use auth: none or list a requirement") == true, "\(yaml): \(String(describing: error))")
        }
        #expect(failure("routes: [{paths: [/a], require: {applications: []}}]")?.key == "routes[0].require.applications")
        #expect(failure("routes: [{paths: [/a], require: {roles: []}}]")?.key == "routes[0].require.roles")
    }

    @Test func badAnyOfAndAllOfNameTheirKeys() {
        #expect(failure("routes: [{paths: [/a], require: {roles: {any_of: []}}}]")?.key == "routes[0].require.roles.any_of")
        #expect(failure("routes: [{paths: [/a], require: {roles: {all_of: []}}}]")?.key == "routes[0].require.roles.all_of")
        #expect(failure("routes: [{paths: [/a], require: {roles: {any_of: Admin}}}]")?.key == "routes[0].require.roles.any_of")
        #expect(failure("routes: [{paths: [/a], require: {roles: {}}}]")?.key == "routes[0].require.roles")
        #expect(failure("routes: [{paths: [/a], require: {roles: Admin}}]")?.key == "routes[0].require.roles")
        let typo = failure("routes: [{paths: [/a], require: {scopes: {anyof: [x]}}}]")
        #expect(typo?.key == "routes[0].require.scopes.anyof")
        #expect(typo?.reason.contains("did you mean 'any_of'") == true)
        #expect(failure("routes: [{paths: [/a], require: {roles: {any_of: [\"\"]}}}]")?.key == "routes[0].require.roles.any_of[0]")
    }

    @Test func methodsAreUpperCaseTokens() {
        #expect(failure("routes: [{paths: [/a], methods: [get], auth: none}]")?.reason.contains("write GET") == true)
        #expect(failure("routes: [{paths: [/a], methods: [\"GE T\"], auth: none}]")?.key == "routes[0].methods[0]")
        #expect(failure("routes: [{paths: [/a], methods: [], auth: none}]")?.key == "routes[0].methods")
        #expect((try? parse("routes: [{paths: [/a], methods: [PROPFIND, GET, GET], auth: none}]"))?.routes[0].methods == ["PROPFIND", "GET"])
    }

    @Test func pathsAreWrittenInTheFormRequestsAreMatchedIn() {
        let cases: [(String, String)] = [
            ("admin", "not a path"), ("/a?x", "not a path"), ("/a*", "'/*'"), ("/*/a", "'/*'"),
            ("/a//b", "'//'"), ("//a/*", "'//'"), ("/a/../b", "'..'"), ("/a/./b", "'.'"), ("/a/..;/b", "'..'"),
            ("/%61dmin", "write 'a' instead of %61"), ("/a%3a", "write %3A"), ("/a%2Fb", "can never match"),
            ("/a%2", "two hex digits"), ("/a b", "percent-encoded"), ("/caf\u{e9}", "percent-encoded"), ("/a\\\\b", "percent-encoded"),
        ]
        for (path, reason) in cases {
            let error = failure("routes: [{paths: [\"\(path)\"], auth: none}]")
            #expect(error?.key == "routes[0].paths[0]", "\(path)")
            #expect(error?.reason.contains(reason) == true, "\(path): \(String(describing: error))")
        }
        // The same rules for excluded paths, which now match the normalized path too.
        #expect(failure("auth: {issuers: [{issuer: i, jwks_file: f, audiences: [a]}], excluded_paths: [/a/../b]}", auth: false)?.key
                == "auth.excluded_paths[0]")
        for good in ["/", "/*", "/a/", "/a/*", "/.well-known/*", "/caf%C3%A9", "/a;v=1", "/a%20b"] {
            #expect(failure("routes: [{paths: [\"\(good)\"], auth: none}]") == nil, "\(good)")
        }
    }

    @Test func aRequirementNeedsAnAuthSectionAndNamesAreUnique() {
        let noAuth = failure("routes: [{paths: [/public/*], auth: none}, {paths: [/a], require: {roles: [A]}}]", auth: false)
        #expect(noAuth?.key == "routes[1].require")
        #expect(noAuth?.reason.contains("add an auth section") == true)
        #expect(failure("routes: [{paths: [/public/*], auth: none}]", auth: false) == nil)
        let twice = failure("routes: [{name: a, paths: [/x], auth: none}, {name: a, paths: [/y], auth: none}]")
        #expect(twice?.key == "routes[1].name")
        #expect(failure("routes: [{name: \"two words\", paths: [/x], auth: none}]")?.key == "routes[0].name")
        do {
            _ = try PortcullisConfig.parse(yaml: """
            egress: {listeners: [{address: "127.0.0.1:1"}], routes: [{host: h, upstream: "http://127.0.0.1:2"}]}
            routes: [{paths: [/x], auth: none}]
            """)
            Issue.record("routes were accepted without an ingress listener")
        } catch {
            #expect(error.key == "routes")
        }
    }
}
