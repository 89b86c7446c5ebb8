public import Config
import COpenSSL
import CShims

/// TLS to the upstream: one client context per server, the upstream's certificate verified
/// against `upstream.tls.ca` (or the system store) and its name, an optional client certificate,
/// and the ALPN protocol the upstream is spoken to in. Read-only after `init`, shared by workers
/// (OpenSSL contexts are safe to make sessions from on several threads).
public final class ClientTLS: @unchecked Sendable {
    let ctx: OpaquePointer
    /// The name verified in the upstream's certificate and sent as SNI.
    public let serverName: String

    public init(_ settings: UpstreamSettings, protocolName: ApplicationProtocol) throws(ConfigError) {
        let tls = settings.tls ?? UpstreamTLSSettings()
        try tls.ca?.requireReadable("CA bundle")
        try tls.cert?.requireReadable("client certificate")
        try tls.key?.requireReadable("client key")
        OpenSSLErrors.clear()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw ConfigError(key: "upstream.url", line: nil, reason: "cannot create a TLS context: \(OpenSSLErrors.drain())")
        }
        self.ctx = ctx
        serverName = tls.serverName ?? settings.host
        _ = cs_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        if let ca = tls.ca {
            guard SSL_CTX_load_verify_locations(ctx, ca.value, nil) == 1 else {
                throw ca.error("cannot load CA bundle '\(ca.value)': \(OpenSSLErrors.drain())")
            }
        } else {
            SSL_CTX_set_default_verify_paths(ctx)
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        if let cert = tls.cert, let key = tls.key {
            guard SSL_CTX_use_certificate_chain_file(ctx, cert.value) == 1 else {
                throw cert.error("cannot load certificate chain '\(cert.value)': \(OpenSSLErrors.drain())")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key.value, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
                throw key.error("cannot load private key '\(key.value)' (or it does not match the certificate): \(OpenSSLErrors.drain())")
            }
        }
        var wire = [UInt8(protocolName.rawValue.utf8.count)] + Array(protocolName.rawValue.utf8)
        _ = SSL_CTX_set_alpn_protos(ctx, &wire, UInt32(wire.count))
        OpenSSLErrors.clear()
    }

    deinit { SSL_CTX_free(ctx) }

    /// A session for a socket that is connecting to the upstream.
    public func session(fd: Int32) throws(TLSError) -> TLSSession {
        try TLSSession(client: self, fd: fd)
    }
}
