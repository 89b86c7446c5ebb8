extension PortcullisConfig {
    /// The configuration in effect as pretty-printed JSON, for the admin listener's `/config`.
    ///
    /// Every setting is present, the defaults the file left out included; a section the file
    /// does not have is `null` (its behaviour when absent is the README's). Keys and spellings
    /// are the YAML file's, durations are written as the file would write them (`2s`, `500ms`).
    /// Files are named by path and never read here; whatever sits under a key that mentions a
    /// secret or a password is `"[redacted]"`, and a URL's user information is redacted too.
    public var effectiveJSON: String {
        effectiveTree.rendered()
    }

    var effectiveTree: JSONValue {
        let upstreamJSON: JSONValue = upstream?.json ?? .null
        let egressJSON: JSONValue = egress?.json ?? .null
        let routesJSON: JSONValue = .array(routes.map(\.json))
        let ipSetsJSON: JSONValue = .object(ipSets.map { ($0.name, $0.json) })
        return .object([
            ("listeners", .array(listeners.map(\.json))),
            ("upstream", upstreamJSON),
            ("egress", egressJSON),
            ("workers", workers.map(JSONValue.int) ?? .string("auto")),
            ("limits", limits.json),
            ("timeouts", timeouts.json),
            ("log", log.json),
            ("client_ip", clientIP?.json ?? .null),
            ("network", network?.json ?? .null),
            ("ip_sets", ipSetsJSON),
            ("auth", auth?.json ?? .null),
            ("routes", routesJSON),
            ("client_certificate", clientCertificate?.json ?? .null),
            ("readiness_path", .optional(readinessPath)),
            ("admin", admin.map { .object([("address", .string($0.address.description))]) } ?? .null),
            ("token_sources", .object(tokenSources.map { ($0.name, $0.json) })),
        ])
    }
}

extension Duration {
    /// A duration written as the config file writes them (`500ms`, `2s`, `1m`, `1h`, `0`), for
    /// command-line options that should read the same way.
    public init?(configText text: String) {
        guard let value = ConfigNode.parseDuration(text) else { return nil }
        self = value
    }

    /// The largest unit that writes it exactly, as the config file's durations are written.
    public var configText: String {
        let (seconds, attoseconds) = components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if millis == 0 { return "0" }
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where millis % size == 0 {
            return "\(millis / size)\(unit)"
        }
        return "\(millis)ms"
    }
}

/// A URL with any `user:password@` replaced, so credentials in a key URL never reach `/config`.
func redactingUserinfo(_ url: String) -> String {
    guard let scheme = url.firstRange(of: "://") else { return url }
    let rest = url[scheme.upperBound...]
    let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
    guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
    return String(url[..<scheme.upperBound]) + JSONValue.redacted + String(rest[at...])
}

private extension ListenerSettings {
    var json: JSONValue {
        .object([
            ("address", .string(address.description)),
            ("protocols", .strings(protocols.map(\.rawValue))),
            ("proxy_protocol", .bool(proxyProtocol)),
            ("tls", tls?.json ?? .null),
        ])
    }
}

private extension TLSSettings {
    var json: JSONValue {
        .object([
            ("certificates", .array(certificates.map { .object([("cert", .string($0.cert.value)), ("key", .string($0.key.value))]) })),
            ("min_version", .string(minVersion.rawValue)),
            ("client_certificates", clientCertificates.map {
                .object([("mode", .string($0.mode.rawValue)), ("ca", .string($0.ca.value))])
            } ?? .null),
        ])
    }
}

private extension EgressSettings {
    var json: JSONValue {
        .object([
            ("listeners", .array(listeners.map { .object([("address", .string($0.description))]) })),
            ("routes", .array(routes.map { route in
                let token: JSONValue = route.token.map { .object([("source", .string($0.source)), ("scope", .string($0.scope))]) } ?? .null
                return .object([("host", .string(route.host)), ("upstream", route.upstream.json), ("token", token)])
            })),
        ])
    }
}

private extension UpstreamSettings {
    var json: JSONValue {
        .object([
            ("url", .string(url)),
            ("protocol", .string(protocolVersion == .h2 ? "h2" : "http1")),
            ("max_idle_connections", .int(maxIdleConnections)),
            ("connect_timeout", .string(connectTimeout.configText)),
            ("response_timeout", .string(responseTimeout.configText)),
            ("tls", tls.map { tls in
                .object([
                    ("ca", .optional(tls.ca?.value)),
                    ("server_name", .optional(tls.serverName)),
                    ("cert", .optional(tls.cert?.value)),
                    ("key", .optional(tls.key?.value)),
                ])
            } ?? .null),
        ])
    }
}

private extension LimitsSettings {
    var json: JSONValue {
        .object([
            ("max_header_bytes", .int(maxHeaderBytes)),
            ("max_headers", .int(maxHeaders)),
            ("max_request_target_bytes", .int(maxRequestTargetBytes)),
        ])
    }
}

private extension TimeoutSettings {
    var json: JSONValue {
        .object([
            ("request_header", .string(requestHeader.configText)),
            ("idle", .string(idle.configText)),
            ("drain", .string(drain.configText)),
            ("tls_handshake", .string(tlsHandshake.configText)),
        ])
    }
}

private extension LogSettings {
    var json: JSONValue {
        .object([("level", .string(level.rawValue)), ("access", .bool(access)),
                 ("access_sample", .double(accessSample)), ("access_query", .bool(accessQuery))])
    }
}

private extension ClientIPSettings {
    var json: JSONValue {
        .object([
            ("trusted_proxies", .strings(trustedProxies.map(\.value))),
            ("header", .string(header.rawValue)),
            ("trusted_hops", trustedHops.map(JSONValue.int) ?? .null),
            ("allow_any_trusted_proxy", .bool(allowAnyTrustedProxy)),
        ])
    }
}

private extension NetworkSettings {
    var json: JSONValue {
        .object([
            ("default_action", .string(defaultAction.rawValue)),
            ("mode", .string(mode.rawValue)),
            ("rules", .array(rules.map { rule in
                .object([
                    ("name", .string(rule.name)),
                    ("priority", .int(rule.priority)),
                    ("action", .string(rule.action.rawValue)),
                    ("cidrs", .strings(rule.cidrs.map(\.value))),
                    ("ip_sets", .strings(rule.ipSets.map(\.value))),
                    ("headers", .object(rule.headers.map { ($0.name, .strings($0.values)) })),
                ])
            })),
        ])
    }
}

private extension AuthSettings {
    var json: JSONValue {
        .object([
            ("unauthenticated_action", .string(unauthenticatedAction.rawValue)),
            ("excluded_paths", .strings(excludedPaths)),
            ("clock_skew", .string(clockSkew.configText)),
            ("issuers", .array(issuers.map(\.json))),
            ("authorization", authorization.json(names: .topLevel)),
            ("identity_headers", .string(identityHeaders.rawValue)),
            ("claim_headers", .object(claimHeaders.map { ($0.header, .string($0.claim)) })),
            ("cache", .object([("max_entries", .int(cache.maxEntries))])),
            ("mode", .string(mode.rawValue)),
            ("entra", entra.map { e in .object([("tenant", .string(e.tenant)), ("audience", .optional(e.audience)), ("client_id", .optional(e.clientID)), ("accept", .strings(e.accept.map(\.rawValue))), ("authority_host", .string(e.authorityHost)), ("allowed_tenants", .strings(e.allowedTenants))]) } ?? .null),
            ("keys", .object([
                ("refresh", .string(keys.refresh.configText)),
                ("min_refresh", .string(keys.minRefresh.configText)),
                ("max_refresh", .string(keys.maxRefresh.configText)),
                ("unknown_kid_interval", .string(keys.unknownKidInterval.configText)),
                ("fetch_timeout", .string(keys.fetchTimeout.configText)),
                ("unknown_kid_ttl", .string(keys.unknownKidTTL.configText)),
                ("state_dir", .optional(keys.stateDir)),
                ("max_stale", .string(keys.maxStale.configText)),
                ("keys_unavailable_action", .string(keys.keysUnavailableAction.rawValue)),
            ])),
        ])
    }
}

private extension AuthorizationSettings {
    /// The key names of `auth.authorization` or of a route's `require`.
    enum Names { case topLevel, route }

    func json(names: Names) -> JSONValue {
        let top = names == .topLevel
        return .object([
            (top ? "allowed_applications" : "applications", .strings(allowedApplications)),
            (top ? "allowed_principals" : "principals", .strings(allowedPrincipals)),
            (top ? "allowed_tenants" : "tenants", .strings(allowedTenants)),
            (top ? "required_roles" : "roles", .object([("all_of", .strings(roles.allOf)), ("any_of", .strings(roles.anyOf))])),
            (top ? "required_scopes" : "scopes", .object([("all_of", .strings(scopes.allOf)), ("any_of", .strings(scopes.anyOf))])),
        ])
    }
}

private extension RouteSettings {
    var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("paths", .strings(paths)),
            // Empty: every method.
            ("methods", .strings(methods)),
            ("require", requirement?.json(names: .route) ?? .null),
            ("auth", requirement == nil ? .string("none") : .null),
        ])
    }
}

private extension IssuerSettings {
    var json: JSONValue {
        var discovery: String?, jwksURL: String?, jwksFile: String?
        switch keySource {
        case .discovery(let url): discovery = redactingUserinfo(url)
        case .jwksURL(let url): jwksURL = redactingUserinfo(url)
        case .jwksFile(let path): jwksFile = path
        }
        return .object([
            ("issuer", .string(issuer)),
            ("tenants", .strings(tenants)),
            ("discovery_url", .optional(discovery)),
            ("jwks_url", .optional(jwksURL)),
            ("jwks_file", .optional(jwksFile)),
            ("audiences", .strings(audiences)),
            ("algorithms", .strings(algorithms)),
            // Redacted by the writer for its name; null when no HMAC secret is configured.
            ("hmac_secret_file", .optional(hmacSecretFile)),
            ("ca", .optional(ca?.value)),
            ("bootstrap_jwks", .optional(bootstrapJWKS?.value)),
        ])
    }
}

private extension ClientCertificateSettings {
    var json: JSONValue {
        .object([("allowed", .strings(allowed.map(\.text))), ("forward_header", .string(forwardHeader))])
    }
}

private extension IPSetSettings {
    var json: JSONValue {
        var url: String?, file: String?
        switch source {
        case .url(let address): url = redactingUserinfo(address)
        case .file(let path): file = path
        }
        return .object([
            ("url", .optional(url)),
            ("file", .optional(file)),
            ("format", .string(format.rawValue)),
            ("tag", .optional(tag)),
            ("refresh", .string(refresh.configText)),
            ("ca", .optional(ca?.value)),
        ])
    }
}
