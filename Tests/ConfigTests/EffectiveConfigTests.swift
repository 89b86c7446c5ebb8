import Foundation
import Testing
@testable import Config

@Suite("effective config as JSON")
struct EffectiveConfigTests {
    /// Every optional section present, so the JSON has something under every key.
    static let full = """
    listeners:
      - address: 0.0.0.0:8443
        tls:
          certificates: [{cert: /etc/tls/server.crt, key: /etc/tls/server.key}]
          client_certificates: {mode: optional, ca: /etc/tls/clients.pem}
    upstream:
      url: https://backend.internal:9443
      tls: {ca: /etc/tls/upstream-ca.pem, server_name: backend.internal, cert: /etc/tls/client.crt, key: /etc/tls/client.key}
    workers: 2
    client_ip: {trusted_proxies: [10.0.0.0/8], header: forwarded}
    network:
      rules:
        - {name: office, priority: 10, action: allow, cidrs: [10.1.0.0/16], headers: {x-azure-fdid: [abc]}}
    auth:
      excluded_paths: [/healthz]
      issuers:
        - issuer: https://idp.example.com
          jwks_url: "https://user:hunter2@idp.example.com/keys?x=1"
          audiences: [api://b]
          algorithms: [RS256, HS256]
          hmac_secret_file: /run/secrets/hmac.bin
        - {issuer: local, jwks_file: /etc/portcullis/jwks.json, audiences: [api://b]}
      claim_headers: {x-caller-app: azp}
      keys: {fetch_timeout: 1500ms}
    routes:
      - name: admin
        paths: [/admin/*]
        methods: [POST]
        require: {roles: {all_of: [Admin], any_of: [A, B]}, scopes: [s], applications: [app], principals: [p], tenants: [t]}
      - {paths: [/public/*], auth: none}
    client_certificate: {allowed: ["uri:spiffe://example.org/a"]}
    readiness_path: /.portcullis/ready
    admin: {address: 127.0.0.1:9901}
    """

    func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func defaultsTheFileLeftOutAreFilledIn() throws {
        let config = try PortcullisConfig.parse(yaml: "listeners: [{address: \"127.0.0.1:8080\"}]\nupstream: {url: \"http://127.0.0.1:8000\"}\n")
        let json = try object(config.effectiveJSON)
        #expect(json["workers"] as? String == "auto")
        let upstream = try #require(json["upstream"] as? [String: Any])
        #expect(upstream["url"] as? String == "http://127.0.0.1:8000")
        #expect(upstream["protocol"] as? String == "http1")
        #expect(upstream["max_idle_connections"] as? Int == 64)
        #expect(upstream["connect_timeout"] as? String == "2s")
        #expect(upstream["response_timeout"] as? String == "1m")
        let timeouts = try #require(json["timeouts"] as? [String: Any])
        #expect(timeouts["request_header"] as? String == "10s")
        #expect(timeouts["drain"] as? String == "30s")
        let limits = try #require(json["limits"] as? [String: Any])
        #expect(limits["max_header_bytes"] as? Int == 65_536)
        let log = try #require(json["log"] as? [String: Any])
        #expect(log["level"] as? String == "info")
        #expect(log["access"] as? Bool == true)
        let listener = try #require((json["listeners"] as? [[String: Any]])?.first)
        #expect(listener["protocols"] as? [String] == ["http/1.1"])
        #expect(listener["proxy_protocol"] as? Bool == false)
        for absent in ["auth", "network", "client_ip", "client_certificate", "readiness_path", "admin"] {
            #expect(json[absent] is NSNull, "\(absent)")
        }
    }

    @Test func secretsAreRedactedAndFilesOnlyNamed() throws {
        let config = try PortcullisConfig.parse(yaml: Self.full)
        let text = config.effectiveJSON
        #expect(!text.contains("hunter2"))
        #expect(!text.contains("/run/secrets/hmac.bin"))
        let json = try object(text)
        let auth = try #require(json["auth"] as? [String: Any])
        let issuers = try #require(auth["issuers"] as? [[String: Any]])
        #expect(issuers[0]["hmac_secret_file"] as? String == "[redacted]")
        #expect(issuers[0]["jwks_url"] as? String == "https://[redacted]@idp.example.com/keys?x=1")
        #expect(issuers[0]["discovery_url"] is NSNull)
        #expect(issuers[1]["hmac_secret_file"] is NSNull)
        #expect(issuers[1]["jwks_file"] as? String == "/etc/portcullis/jwks.json")
        let keys = try #require(auth["keys"] as? [String: Any])
        #expect(keys["fetch_timeout"] as? String == "1500ms")
        #expect(keys["refresh"] as? String == "1h")
        let tls = try #require((json["listeners"] as? [[String: Any]])?.first?["tls"] as? [String: Any])
        let certificate = try #require((tls["certificates"] as? [[String: String]])?.first)
        #expect(certificate == ["cert": "/etc/tls/server.crt", "key": "/etc/tls/server.key"])
        #expect(json["admin"] as? [String: String] == ["address": "127.0.0.1:9901"])
        #expect(json["workers"] as? Int == 2)
    }

    @Test func theWriterRedactsByKeyAndEscapesStrings() {
        let tree = JSONValue.object([
            ("client_password", .string("pw")), ("Secret", .array([.string("x")])), ("no_secret_here", .null),
            ("text", .string("a\"b\\c\nd\u{01}é")),
        ])
        #expect(tree.rendered() == """
        {
          "client_password": "[redacted]",
          "Secret": "[redacted]",
          "no_secret_here": null,
          "text": "a\\"b\\\\c\\nd\\u0001é"
        }

        """)
        #expect(redactingUserinfo("https://a@b/c@d") == "https://[redacted]@b/c@d")
        #expect(redactingUserinfo("https://b/c@d") == "https://b/c@d")
        #expect(Duration.milliseconds(90_000).configText == "90s")
        #expect(Duration.zero.configText == "0")
    }

    /// Every stored property of every settings struct has a key in the JSON, so a setting added
    /// later cannot be left out of `/config` unnoticed.
    @Test func everySettingHasAKey() throws {
        let config = try PortcullisConfig.parse(yaml: Self.full)
        let json = try object(config.effectiveJSON)
        var missing: [String] = []
        walk(config, json, "", &missing)
        #expect(missing.isEmpty, "settings missing from effectiveJSON: \(missing)")
    }

    /// Properties written under another name, folded into another key, or that are positions in
    /// the file rather than settings.
    static let renamed: [String: String?] = [
        "UpstreamSettings.protocolVersion": "protocol", "UpstreamSettings.host": "url",
        "UpstreamSettings.port": "url", "UpstreamSettings.secure": "url",
        "IssuerSettings.keySource": "jwks_file", "Rule.key": nil, "Rule.line": nil,
        "AuthorizationSettings.roles": "required_roles", "AuthorizationSettings.scopes": "required_scopes",
        "RouteSettings.requirement": "require",
    ]
    /// A route's `require` spells `auth.authorization`'s keys shorter: looked up when the main name is absent.
    static let alternates: [String: String] = [
        "AuthorizationSettings.roles": "roles", "AuthorizationSettings.scopes": "scopes",
        "AuthorizationSettings.allowedApplications": "applications", "AuthorizationSettings.allowedPrincipals": "principals",
        "AuthorizationSettings.allowedTenants": "tenants",
    ]
    /// Values that are written as one JSON value, not walked into.
    static let leaves: Set<String> = ["Duration", "LocatedValue", "SocketAddressSettings", "HeaderCondition", "String"]

    func walk(_ value: Any, _ json: [String: Any], _ path: String, _ missing: inout [String]) {
        let mirror = Mirror(reflecting: value)
        let typeName = String(describing: mirror.subjectType)
        for child in mirror.children {
            guard let label = child.label else { continue }
            let key: String
            if let renamed = Self.renamed["\(typeName).\(label)"] {
                guard let renamed else { continue }
                key = renamed
            } else {
                key = snakeCase(label)
            }
            guard let sub = json[key] ?? Self.alternates["\(typeName).\(label)"].flatMap({ json[$0] }) else {
                missing.append("\(path)\(typeName).\(label) (\(key))")
                continue
            }
            descend(child.value, sub, "\(path)\(key).", &missing)
        }
    }

    func descend(_ value: Any, _ json: Any, _ path: String, _ missing: inout [String]) {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let wrapped = mirror.children.first?.value { descend(wrapped, json, path, &missing) }
        case .collection:
            guard let array = json as? [Any] else { return }
            for (element, sub) in zip(mirror.children.map(\.value), array) { descend(element, sub, path, &missing) }
        case .struct where !Self.leaves.contains(String(describing: mirror.subjectType)):
            if let object = json as? [String: Any] { walk(value, object, path, &missing) }
        default:
            break
        }
    }

    func snakeCase(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for c in name {
            if c.isUppercase {
                if previousLower { out += "_" }
                out += c.lowercased()
                previousLower = false
            } else {
                out.append(c)
                previousLower = true
            }
        }
        return out
    }
}
