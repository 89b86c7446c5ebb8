/// Why a TLS context could not be built, or a TLS session failed.
///
/// `code` is stable (access log, tests); `reason` is for a person and carries OpenSSL's own text
/// where OpenSSL had something to say.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case certificateFile = "tls_certificate_file"
        case privateKeyFile = "tls_private_key_file"
        case keyMismatch = "tls_key_mismatch"
        case caFile = "tls_ca_file"
        case context = "tls_context"
        case handshake = "tls_handshake"
        case io = "tls_io"
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}
