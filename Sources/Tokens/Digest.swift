import COpenSSL

/// One-shot message digests through OpenSSL, for certificate thumbprints (`x5t`, `x5t#S256`)
/// and JWK thumbprints. `package`: the dev issuer and the token sources compute them too.
package enum Digest {
    package static func sha1(_ bytes: some Collection<UInt8>) -> [UInt8] {
        digest(bytes, EVP_sha1(), length: 20)
    }

    package static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        digest(bytes, EVP_sha256(), length: 32)
    }

    private static func digest(_ bytes: some Collection<UInt8>, _ md: OpaquePointer?, length: Int) -> [UInt8] {
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        // EVP_Digest cannot fail for these built-in digests short of memory exhaustion; a zero
        // digest then would compare unequal to any real thumbprint, which is the safe outcome.
        _ = input.withUnsafeBytes { message in
            out.withUnsafeMutableBufferPointer { EVP_Digest(message.baseAddress, message.count, $0.baseAddress, &written, md, nil) }
        }
        return out
    }
}
