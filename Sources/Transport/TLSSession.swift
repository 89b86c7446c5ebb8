public import EventLoop
import COpenSSL
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// One server-side TLS session over a non-blocking socket, driven from the event loop.
///
/// Every call returns at once: OpenSSL's WANT_READ / WANT_WRITE become "come back when the
/// socket is ready", never a wait. Owns its `SSL`; the listener's ``ServerTLS`` is held so the
/// callbacks' context outlives every handshake made from it.
public final class TLSSession {
    public enum HandshakeResult: Sendable, Equatable {
        case done
        /// Come back on the next readiness event.
        case pending
        case failed(String)
    }

    private let ssl: OpaquePointer
    /// The context's owner (a listener's ``ServerTLS`` or an upstream's ``ClientTLS``), kept
    /// alive as long as the session: OpenSSL's callbacks reach it through raw pointers.
    private let owner: AnyObject
    /// Server sessions: whether the listener asked the client for a certificate.
    public let requestsClientCertificates: Bool
    public private(set) var handshakeDone = false
    /// Set when OpenSSL must write before a read can go on (a post-handshake message): the
    /// caller retries the read once the socket is writable.
    public private(set) var readWantsWrite = false
    /// Set when the last handshake step stopped because the socket would not take OpenSSL's
    /// bytes (rather than because the peer's next flight has not come): the step is worth
    /// retrying on writability alone.
    public private(set) var handshakeWantsWrite = false

    init(server: ServerTLS, fd: Int32) throws(TLSError) {
        guard let ssl = SSL_new(server.defaultContext) else {
            throw TLSError(.context, "SSL_new failed: \(OpenSSLErrors.drain())")
        }
        self.ssl = ssl
        owner = server
        requestsClientCertificates = server.requestsClientCertificates
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    init(client: ClientTLS, fd: Int32) throws(TLSError) {
        guard let ssl = SSL_new(client.ctx) else {
            throw TLSError(.context, "SSL_new failed: \(OpenSSLErrors.drain())")
        }
        self.ssl = ssl
        owner = client
        requestsClientCertificates = false
        SSL_set_fd(ssl, fd)
        SSL_set_connect_state(ssl)
        // SNI, and the name the upstream's certificate must carry (IP addresses are checked
        // as such by OpenSSL when the name is one).
        _ = cs_SSL_set_tlsext_host_name(ssl, client.serverName)
        _ = SSL_set1_host(ssl, client.serverName)
    }

    deinit { SSL_free(ssl) }

    public func handshake() -> HandshakeResult {
        OpenSSLErrors.clear()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            handshakeDone = true
            return .done
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ:
            handshakeWantsWrite = false
            return .pending
        case SSL_ERROR_WANT_WRITE:
            handshakeWantsWrite = true
            return .pending
        case SSL_ERROR_SYSCALL:
            let detail = OpenSSLErrors.drain()
            return .failed(errno != 0 ? "connection error during handshake (errno \(errno))" : detail)
        default:
            return .failed(OpenSSLErrors.drain())
        }
    }

    /// Decrypts what the socket holds into `buffer`, holding at most `limit` bytes; the same
    /// results as a plain socket read (``IOBuffer/ReadResult``).
    public func read(into buffer: IOBuffer, maxHeld limit: Int) throws(TLSError) -> IOBuffer.ReadResult {
        readWantsWrite = false
        let space = buffer.prepareRead(maxHeld: limit)
        defer { buffer.finishRead() }
        guard space > 0 else { return .full }
        // SSL_read gives one record at a time, so a short read does not mean the socket is
        // drained: keep reading until OpenSSL wants the socket again (then it is, and an edge
        // will announce more) or the space is used. Stopping after one record left later
        // records in the kernel with no edge to come for them.
        var total = 0
        while total < space {
            var count = 0
            OpenSSLErrors.clear()
            if SSL_read_ex(ssl, buffer.base + buffer.writerIndex, space - total, &count) == 1 {
                buffer.advanceWriter(count)
                total += count
                continue
            }
            if total > 0 {
                // Whatever stopped this read (EAGAIN, the peer's close_notify, an error) is
                // seen again by the next call, after the caller has taken these bytes.
                return .read(count: total, filled: SSL_get_error(ssl, 0) != SSL_ERROR_WANT_READ || SSL_has_pending(ssl) == 1)
            }
            break
        }
        if total > 0 {
            return .read(count: total, filled: true)
        }
        switch SSL_get_error(ssl, 0) {
        case SSL_ERROR_WANT_READ:
            return .wouldBlock
        case SSL_ERROR_WANT_WRITE:
            // Still readable once the socket takes OpenSSL's bytes: not an EAGAIN.
            readWantsWrite = true
            return .full
        case SSL_ERROR_ZERO_RETURN:
            return .endOfStream
        case SSL_ERROR_SYSCALL:
            let code = errno
            _ = OpenSSLErrors.drain()
            if code == 0 { return .endOfStream }
            throw TLSError(.io, "read failed (errno \(code))")
        default:
            throw TLSError(.io, OpenSSLErrors.drain())
        }
    }

    /// Encrypts and sends what `buffer` holds; true when all of it went out.
    public func write(from buffer: IOBuffer) throws(TLSError) -> Bool {
        while buffer.readableBytes > 0 {
            var written = 0
            OpenSSLErrors.clear()
            if SSL_write_ex(ssl, buffer.base + buffer.readerIndex, buffer.readableBytes, &written) == 1 {
                buffer.consume(written)
                continue
            }
            switch SSL_get_error(ssl, 0) {
            case SSL_ERROR_WANT_WRITE, SSL_ERROR_WANT_READ:
                return false
            case SSL_ERROR_SYSCALL:
                let code = errno
                _ = OpenSSLErrors.drain()
                throw TLSError(.io, "write failed (errno \(code))")
            default:
                throw TLSError(.io, OpenSSLErrors.drain())
            }
        }
        return true
    }

    /// Sends close_notify, without waiting for the peer's (the socket closes right after).
    public func shutdown() {
        guard handshakeDone else { return }
        OpenSSLErrors.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrors.clear()
    }

    /// "TLSv1.2" or "TLSv1.3".
    public var version: String { String(cString: SSL_get_version(ssl)) }

    /// The ALPN protocol agreed on, if any.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The client's certificate when it sent one and it verified against the listener's CA.
    public func verifiedPeer() -> PeerCertificate? {
        guard SSL_get_verify_result(ssl) == X509_V_OK, let leaf = SSL_get0_peer_certificate(ssl) else { return nil }
        return PeerCertificate(leaf)
    }
}
