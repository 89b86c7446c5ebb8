import ArgumentParser
import Config
import IPSets
import NetworkPolicy
import Proxy

/// `portcullis check`: validate a file and print the settings as they will be applied; with
/// `--ip`, say which network rule decides for that client and why.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a config file and print the effective settings.",
        discussion: "With --ip (and --header name:value), print which network rule decides for that client address."
    )

    @Option(name: .long, help: "Path to the YAML config file.")
    var config: String

    @Option(name: .long, help: "A client address to evaluate against the network rules.")
    var ip: String?

    @Option(name: .long, help: "A request header (name:value) for header-filtered rules; repeatable.")
    var header: [String] = []

    func run() throws {
        let settings = try loadConfigOrExit(config)
        let policy: NetworkPolicy?
        // File sets are read as the proxy reads them at start; URL sets are not fetched here.
        let sets = settings.ipSets.map { set -> CheckedIPSet in
            let source = IPSetSource(set)
            guard case .file = source.source else { return CheckedIPSet(source: source, result: nil) }
            return CheckedIPSet(source: source, result: IPSetLoader.load(source))
        }
        do {
            _ = try PipelineFactory(config: settings)
            policy = try settings.network.map { network throws(ConfigError) in try NetworkPolicy(network, sets: CheckedIPSet.prefixes(sets)) }
        } catch {
            printError("portcullis: \(config): \(error)")
            throw ExitCode(2)
        }
        guard let ip else {
            print(EffectiveSettings.render(settings, policy: policy, ipSets: sets))
            return
        }
        guard let address = IPAddress.parse(ip) else {
            printError("portcullis: --ip '\(ip)' is not an IPv4 or IPv6 address")
            throw ExitCode(2)
        }
        var fields: [(name: String, value: String)] = []
        for h in header {
            guard let colon = h.firstIndex(of: ":") else {
                printError("portcullis: --header '\(h)' is not name:value")
                throw ExitCode(2)
            }
            fields.append((String(h[..<colon]).lowercased(), String(h[h.index(after: colon)...]).trimmingSpaces))
        }
        guard let policy else {
            print("\(address): allowed — the config has no network section, so no network rule applies")
            return
        }
        let headers = StaticHeaders(fields)
        let decision = policy.decide(address, headers: headers)
        print(explain(address, decision, policy, headers, sets: sets))
    }

    func explain(_ address: IPAddress, _ decision: NetworkDecision, _ policy: NetworkPolicy, _ headers: StaticHeaders,
                 sets: [CheckedIPSet]) -> String {
        var lines = ["\(address): \(decision.allowed ? "ALLOW" : "DENY") by \(decision.rule == "default" ? "the default action" : "rule '\(decision.rule)'")"]
        for rule in policy.rules {
            var matching = rule.cidrs.filter { $0.contains(address) }.map(\.description)
            for set in rule.ipSets {
                if let prefixes = set.prefixes {
                    matching += prefixes.filter { $0.contains(address) }.map { "ip set '\(set.name)' \($0)" }
                } else if !rule.allow {
                    matching.append("ip set '\(set.name)', not loaded here: a deny rule fails closed and matches every address")
                }
            }
            guard !matching.isEmpty else { continue }
            let headerNote = rule.headers.isEmpty ? "" :
                (NetworkPolicyExplain.headersMatch(rule, headers) ? ", headers match" : ", headers do not match")
            lines.append("  matches \(rule.name) (priority \(rule.priority), \(rule.allow ? "allow" : "deny")) via \(matching.joined(separator: ", "))\(headerNote)")
        }
        for rule in policy.rules {
            for set in rule.ipSets where set.prefixes == nil {
                let why = sets.first { $0.source.name == set.name }?.whyNotLoaded ?? "it is not loaded"
                lines.append("  note: rule \(rule.name) uses ip set '\(set.name)', and \(why); until the proxy loads it, the rule matches "
                             + (rule.allow ? "no address through it" : "every address through it"))
            }
        }
        if decision.rule == "default" {
            lines.append("  no rule matched; default_action is \(policy.defaultAllows ? "allow" : "deny")")
        } else {
            lines.append("  lowest priority number wins; ties go to the rule listed first")
        }
        return lines.joined(separator: "\n")
    }
}

enum NetworkPolicyExplain {
    static func headersMatch(_ rule: NetworkPolicy.Rule, _ headers: StaticHeaders) -> Bool {
        rule.headers.allSatisfy { condition in
            headers.fields.contains { $0.name == condition.name && condition.values.contains(Array($0.value.utf8)) }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// A configured IP set as `check` sees it: read (file sets), or nil when not fetched (URL sets).
struct CheckedIPSet {
    let source: IPSetSource
    let result: Result<LoadedIPSet, IPSetError>?

    static func prefixes(_ sets: [CheckedIPSet]) -> [String: [CIDR]] {
        var prefixes: [String: [CIDR]] = [:]
        for set in sets { if case .success(let loaded)? = set.result { prefixes[set.source.name] = loaded.prefixes } }
        return prefixes
    }

    /// Why the set has no prefixes here, for a note under `--ip`.
    var whyNotLoaded: String {
        switch result {
        case nil: "check fetches no URL"
        case .success?: "it is loaded"
        case .failure(let error)?: "it could not be loaded (\(error))"
        }
    }

    var line: String {
        let s = source
        var line = "  \(s.name): \(s.format.rawValue)\(s.tag.map { " tag \($0)" } ?? "") from \(s.location), refresh \(s.refresh.configText): "
        switch result {
        case nil: line += "not fetched by check (the proxy loads it before serving)"
        case .success(let loaded)?: line += "\(loaded.prefixes.count) prefixes" + (loaded.version.isEmpty ? "" : " (\(loaded.version))")
        case .failure(let error)?: line += "NOT LOADED: \(error); the proxy would fail closed on it"
        }
        return line
    }
}

enum EffectiveSettings {
    static func render(_ c: PortcullisConfig, policy: NetworkPolicy?, ipSets: [CheckedIPSet] = []) -> String {
        var lines: [String] = ["config OK"]
        for l in c.listeners {
            var line = "listener      \(l.address)\(l.proxyProtocol ? " (PROXY protocol required)" : "")"
            if let tls = l.tls {
                line += "  TLS \(tls.minVersion.rawValue)+, \(tls.certificates.count) certificate(s) by SNI, ALPN [\(l.protocols.map(\.rawValue).joined(separator: ", "))]"
                if let client = tls.clientCertificates { line += ", client certificates: \(client.mode.rawValue) (CA \(client.ca.value))" }
            } else {
                line += "  cleartext [\(l.protocols.map(\.rawValue).joined(separator: ", "))]"
            }
            lines.append(line)
        }
        if let u = c.upstream {
            var upstream = "upstream      \(u.url)  "
            upstream += u.protocolVersion == .h2
                ? "HTTP/2 (one multiplexed connection per worker; HTTP/1.1 clients get 505)"
                : "HTTP/1.1, idle pool \(u.maxIdleConnections)/worker"
            upstream += ", connect \(u.connectTimeout), response \(u.responseTimeout)"
            if u.secure {
                upstream += "; TLS verified against \(u.tls?.ca?.value ?? "the system CA store") for '\(u.tls?.serverName ?? u.host)'"
                if u.tls?.cert != nil { upstream += ", client certificate \(u.tls?.cert?.value ?? "")" }
            }
            lines.append(upstream)
        }
        if let egress = c.egress {
            lines.append("egress        listeners \(egress.listeners.map(\.description).joined(separator: ", ")); unknown hosts get 403")
            for route in egress.routes {
                let token = route.token.map { "Authorization: Bearer from '\($0.source)' for \($0.scope)" } ?? "no token"
                lines.append("  \(route.host) → \(route.upstream.url)  \(token)")
            }
        }
        lines.append("workers       \(c.workers.map(String.init) ?? "auto")")
        lines.append("limits        header bytes \(c.limits.maxHeaderBytes), headers \(c.limits.maxHeaders), target bytes \(c.limits.maxRequestTargetBytes)")
        lines.append("timeouts      request header \(c.timeouts.requestHeader), idle \(c.timeouts.idle), drain \(c.timeouts.drain), TLS handshake \(c.timeouts.tlsHandshake)")
        var log = "log           level \(c.log.level.rawValue), access \(c.log.access ? "on" : "off")"
        if c.log.access {
            log += c.log.accessSample < 1 ? ", \(c.log.accessSample * 100)% of allowed requests (every refusal)" : ""
            log += c.log.accessQuery ? ", query kept" : ", query dropped"
        }
        lines.append(log)
        lines.append("admin         " + (c.admin.map { "\($0.address): /healthz /readyz /metrics /config" } ?? "off (no admin section)"))
        if let clientIP = c.clientIP {
            let mode = clientIP.trustedHops.map { "the \($0)th address from the right of \(clientIP.header.rawValue)" }
                ?? "\(clientIP.header.rawValue), walked from the right past trusted proxies"
            lines.append("client ip     TCP peer; from trusted proxies [\(clientIP.trustedProxies.map(\.value).joined(separator: ", "))]: \(mode)")
        } else {
            lines.append("client ip     TCP peer (no forwarding header is believed)")
        }
        if let policy {
            lines.append("network       rules in the order they apply (lowest priority number first, ties by file order):")
            for rule in policy.rules {
                let addresses = rule.cidrs.map(\.description) + rule.ipSets.map { "ip set '\($0.name)'" }
                var line = "  \(String(rule.priority).padding(toLength: 8, withPad: " ", startingAt: 0)) \(rule.allow ? "allow" : "deny ")  \(rule.name): \(addresses.joined(separator: ", "))"
                if !rule.headers.isEmpty {
                    line += "  if " + rule.headers.map { "\($0.name) in [\($0.values.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", "))]" }.joined(separator: " and ")
                }
                lines.append(line)
            }
            lines.append("  default  \(policy.defaultAllows ? "allow" : "deny ")  (no rule matched)")
        } else {
            lines.append("network       no rules: every address passes this step")
        }
        if !ipSets.isEmpty {
            lines.append("ip sets       loaded before serving, then refreshed; one never loaded fails closed (allow: no address, deny: every address)")
            lines += ipSets.map(\.line)
        }
        if let cc = c.clientCertificate {
            let who = cc.allowed.isEmpty ? "any verified certificate" : cc.allowed.map(\.text).joined(separator: ", ")
            lines.append("client cert   on mutual-TLS listeners, 403 unless the verified certificate is one of: \(who); forwarded as \(cc.forwardHeader)")
        } else {
            lines.append("client cert   no identity rule; a verified certificate is forwarded as x-arr-clientcert")
        }
        lines.append("auth          \(c.auth == nil ? "none: no token is required" : "\(c.auth?.issuers.count ?? 0) issuer(s) configured")")
        if let entra = c.auth?.entra {
            let tenants = entra.isMultiTenant ? " (multi-tenant: tid must be one of \(entra.allowedTenants.joined(separator: ", ")))" : ""
            lines.append("  entra       tenant \(entra.tenant)\(tenants), \(entra.accept.map(\.rawValue).joined(separator: " and ")) tokens, expanded to:")
        }
        for issuer in c.auth?.issuers ?? [] {
            var source = ""
            switch issuer.keySource {
            case .discovery(let url): source = "discovery \(url)"
            case .jwksURL(let url): source = "jwks \(url)"
            case .jwksFile(let path): source = "jwks file \(path)"
            }
            lines.append("  issuer      \(issuer.issuer)  audiences [\(issuer.audiences.joined(separator: ", "))]  \(source)")
        }
        if let auth = c.auth {
            if !auth.excludedPaths.isEmpty {
                lines.append("  excluded    \(auth.excludedPaths.joined(separator: " "))  no token (before any route)")
            }
            lines.append("  authorize   \(auth.authorization.summary)\(c.routes.isEmpty ? "" : " (where no route matches)")")
        }
        lines += routeTable(c)
        return lines.joined(separator: "\n")
    }

    /// `routes` in the order they are tried, one line each: paths, methods, requirement.
    static func routeTable(_ c: PortcullisConfig) -> [String] {
        guard !c.routes.isEmpty else { return [] }
        var lines = ["routes        first match wins, on the normalized path" + (c.auth == nil
            ? "; there is no auth section, so no token is checked anywhere and no route changes anything"
            : "; a path no route matches keeps auth.authorization")]
        let width = min(24, c.routes.map(\.name.count).max() ?? 0)
        for (index, route) in c.routes.enumerated() {
            let methods = route.methods.isEmpty ? "every method"
                : route.methods.joined(separator: " ") + (route.methods.contains("GET") && !route.methods.contains("HEAD") ? " (+HEAD)" : "")
            lines.append("  \(index + 1). \(route.name.padding(toLength: max(width, route.name.count), withPad: " ", startingAt: 0))  "
                         + "\(route.paths.joined(separator: " "))  \(methods)  \(route.summary)")
        }
        return lines
    }
}
