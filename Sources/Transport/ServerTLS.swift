public import Config
import COpenSSL
import CShims

/// The TLS side of one listener: an OpenSSL context per certificate, SNI choosing among them,
/// ALPN choosing the protocol, and client-certificate verification when asked for.
///
/// Built once from the listener's settings before any socket opens (every file problem is a
/// config error naming its key), then shared read-only by every worker: OpenSSL contexts are safe
/// to make sessions from on several threads, and nothing here changes after `init`, which is why
/// the `@unchecked Sendable` is honest.
public final class ServerTLS: @unchecked Sendable {
    /// One certificate's context, and the leaf it serves (for SNI matching).
    final class Context {
        let ctx: OpaquePointer
        init(ctx: OpaquePointer) { self.ctx = ctx }
        deinit { SSL_CTX_free(ctx) }
        var leaf: OpaquePointer? { SSL_CTX_get0_certificate(ctx) }
    }

    let contexts: [Context]
    /// ALPN protocol list in wire form (length-prefixed), in our order of preference.
    let alpn: [UInt8]
    public let protocols: [ApplicationProtocol]
    public let requestsClientCertificates: Bool

    var defaultContext: OpaquePointer { contexts[0].ctx }

    public init(_ settings: TLSSettings, protocols: [ApplicationProtocol]) throws(ConfigError) {
        self.protocols = protocols
        var wire: [UInt8] = []
        for p in protocols {
            wire.append(UInt8(p.rawValue.utf8.count))
            wire += Array(p.rawValue.utf8)
        }
        alpn = wire
        requestsClientCertificates = settings.clientCertificates != nil
        var built: [Context] = []
        for certificate in settings.certificates {
            built.append(try Self.makeContext(certificate, settings))
        }
        contexts = built
        // Callbacks find this object through their argument; it owns the contexts, so it
        // outlives every callback made from them.
        let me = Unmanaged.passUnretained(self).toOpaque()
        for context in contexts {
            cs_SSL_CTX_set_servername_callback(context.ctx, { ssl, _, arg in
                guard let ssl, let arg else { return SSL_TLSEXT_ERR_NOACK }
                return Unmanaged<ServerTLS>.fromOpaque(arg).takeUnretainedValue().chooseCertificate(ssl)
            }, me)
            SSL_CTX_set_alpn_select_cb(context.ctx, { ssl, out, outLength, offered, offeredLength, arg in
                guard let arg, let out, let outLength, let offered else { return SSL_TLSEXT_ERR_NOACK }
                return Unmanaged<ServerTLS>.fromOpaque(arg).takeUnretainedValue()
                    .chooseProtocol(out, outLength, offered, offeredLength)
            }, me)
        }
    }

    private static func makeContext(_ certificate: TLSSettings.Certificate, _ settings: TLSSettings) throws(ConfigError) -> Context {
        try certificate.cert.requireReadable("certificate chain")
        try certificate.key.requireReadable("private key")
        try settings.clientCertificates?.ca.requireReadable("CA bundle")
        OpenSSLErrors.clear()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw certificate.cert.error("cannot create a TLS context: \(OpenSSLErrors.drain())")
        }
        let context = Context(ctx: ctx)
        cs_SSL_CTX_set_server_defaults(ctx)
        let minimum = settings.minVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard cs_SSL_CTX_set_min_proto_version(ctx, minimum) == 1 else {
            throw certificate.cert.error("cannot set the minimum TLS version: \(OpenSSLErrors.drain())")
        }
        guard SSL_CTX_use_certificate_chain_file(ctx, certificate.cert.value) == 1 else {
            throw certificate.cert.error("cannot load certificate chain '\(certificate.cert.value)': \(OpenSSLErrors.drain())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, certificate.key.value, SSL_FILETYPE_PEM) == 1 else {
            let detail = OpenSSLErrors.drain()
            if detail.contains("key values mismatch") {
                throw certificate.key.error("the private key '\(certificate.key.value)' does not match the certificate '\(certificate.cert.value)'")
            }
            throw certificate.key.error("cannot load private key '\(certificate.key.value)': \(detail)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw certificate.key.error("the private key does not match the certificate '\(certificate.cert.value)'")
        }
        // Resumption with verified peers needs a session id context, or OpenSSL refuses to resume.
        TicketKeys.install(on: ctx)
        var sessionContext = Array("portcullis".utf8)
        _ = SSL_CTX_set_session_id_context(ctx, &sessionContext, UInt32(sessionContext.count))
        if let client = settings.clientCertificates {
            guard SSL_CTX_load_verify_locations(ctx, client.ca.value, nil) == 1 else {
                throw client.ca.error("cannot load CA bundle '\(client.ca.value)': \(OpenSSLErrors.drain())")
            }
            // The CA names go into the CertificateRequest so clients know which certificate to send.
            if let names = SSL_load_client_CA_file(client.ca.value) {
                SSL_CTX_set_client_CA_list(ctx, names)
            }
            // Both modes verify any certificate that is presented; only `require` refuses none.
            var mode = SSL_VERIFY_PEER
            if client.mode == .require { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
            SSL_CTX_set_verify(ctx, mode, nil)
        }
        OpenSSLErrors.clear()
        return context
    }

    /// SNI: the first certificate whose names cover the requested host; else the default.
    private func chooseCertificate(_ ssl: OpaquePointer) -> Int32 {
        guard contexts.count > 1, let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else {
            return SSL_TLSEXT_ERR_OK
        }
        let length = strlen(name)
        for context in contexts.dropFirst() {
            guard let leaf = context.leaf else { continue }
            if X509_check_host(leaf, name, length, 0, nil) == 1 {
                _ = SSL_set_SSL_CTX(ssl, context.ctx)
                return SSL_TLSEXT_ERR_OK
            }
        }
        return SSL_TLSEXT_ERR_OK
    }

    /// ALPN: our first protocol the client also offers. A client that offers none of ours goes on
    /// without ALPN (as nginx does) and is spoken to in HTTP/1.1.
    private func chooseProtocol(_ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ outLength: UnsafeMutablePointer<UInt8>,
                                _ offered: UnsafePointer<UInt8>, _ offeredLength: UInt32) -> Int32 {
        var p = 0
        let offeredBytes = UnsafeBufferPointer(start: offered, count: Int(offeredLength))
        return alpn.withUnsafeBufferPointer { ours -> Int32 in
            var q = 0
            while q < ours.count {
                let length = Int(ours[q])
                let candidate = ours[(q + 1)..<(q + 1 + length)]
                p = 0
                while p < offeredBytes.count {
                    let theirs = Int(offeredBytes[p])
                    guard p + 1 + theirs <= offeredBytes.count else { break }
                    if theirs == length && offeredBytes[(p + 1)..<(p + 1 + theirs)].elementsEqual(candidate) {
                        // Point into the client's list: it lives for the whole handshake.
                        out.pointee = offered + p + 1
                        outLength.pointee = UInt8(theirs)
                        return SSL_TLSEXT_ERR_OK
                    }
                    p += 1 + theirs
                }
                q += 1 + length
            }
            return SSL_TLSEXT_ERR_NOACK
        }
    }

    /// A session for a freshly accepted socket, in server mode.
    public func session(fd: Int32) throws(TLSError) -> TLSSession {
        try TLSSession(server: self, fd: fd)
    }
}
