/// A compact JWS split and decoded, its header checked against RFC 8725's advice.
struct CompactJWS {
    let algorithm: JWSAlgorithm
    let kid: String?
    let x5t: String?
    let claims: JSONValue
    /// `header.payload` as sent: the signing input.
    let signingInput: Range<Int>
    let signature: [UInt8]

    static let maxTokenBytes = 16 * 1024

    static func parseProtected(_ token: UnsafeRawBufferPointer) throws(TokenError) -> Protected {
        guard token.count <= maxTokenBytes else { throw .malformed("token larger than 16 KiB") }
        var dots: [Int] = []
        for (i, b) in token.enumerated() where b == UInt8(ascii: ".") {
            dots.append(i)
            if dots.count > 2 { break }
        }
        guard dots.count == 2 else {
            throw .malformed(dots.count > 2 ? "more than three segments (JWE is not accepted)" : "not a compact JWS")
        }
        let headerPart = UnsafeRawBufferPointer(rebasing: token[0..<dots[0]])
        let payloadPart = UnsafeRawBufferPointer(rebasing: token[dots[0] + 1..<dots[1]])
        let signaturePart = UnsafeRawBufferPointer(rebasing: token[(dots[1] + 1)...])
        guard let headerBytes = Base64URL.decode(headerPart), let payloadBytes = Base64URL.decode(payloadPart),
              let signature = Base64URL.decode(signaturePart), !headerPart.isEmpty else {
            throw .malformed("a segment is not unpadded base64url")
        }
        guard let header = JSONParser.parse(headerBytes, maxDepth: 4), case .object = header else {
            throw .malformed("the header is not a JSON object (or repeats a member)")
        }
        guard let alg = header["alg"]?.string else { throw .malformed("the header has no alg") }
        if alg.lowercased() == "none" { throw TokenError("alg_not_allowed", "unsecured tokens (alg none) are never accepted") }
        guard let algorithm = JWSAlgorithm(rawValue: alg) else { throw TokenError("alg_not_allowed", "algorithm \(alg) is not supported") }
        if let crit = header["crit"] {
            // We implement no extension that `crit` could name, so any entry means "do not accept".
            if case .array(let names) = crit, names.isEmpty { throw .malformed("crit must not be empty") }
            throw TokenError("unsupported_crit", "the token requires header extensions this verifier does not implement")
        }
        if let b64 = header["b64"], b64 != JSONValue.bool(true) { throw .malformed("unencoded payloads are not accepted") }
        // jku, x5u, jwk and x5c are deliberately never read: keys come only from configuration.
        return Protected(algorithm: algorithm, header: header, kid: header["kid"]?.string, x5t: header["x5t"]?.string,
                         payload: payloadBytes, signingInput: 0..<dots[1], signature: signature)
    }

    /// A JWS with its header checked and its payload still bytes (JWS is not only for JWTs).
    struct Protected {
        let algorithm: JWSAlgorithm
        /// The whole header, for callers that read members the validator does not (`x5t#S256`).
        let header: JSONValue
        let kid: String?
        let x5t: String?
        let payload: [UInt8]
        let signingInput: Range<Int>
        let signature: [UInt8]
    }

    /// A JWT: the JWS, then its payload as a claim set.
    static func parse(_ token: UnsafeRawBufferPointer) throws(TokenError) -> CompactJWS {
        let jws = try parseProtected(token)
        guard let claims = JSONParser.parse(jws.payload, maxDepth: 8), case .object = claims else {
            throw .malformed("the payload is not a JSON object (or repeats a claim)")
        }
        return CompactJWS(algorithm: jws.algorithm, kid: jws.kid, x5t: jws.x5t, claims: claims,
                          signingInput: jws.signingInput, signature: jws.signature)
    }
}

/// Verifies a compact JWS against one key with the same parser and checks a token gets, for
/// callers (and test vectors) whose payload is not a claim set.
public enum JWSVerification {
    public static func verify(_ token: UnsafeRawBufferPointer, key: VerificationKey) -> Bool {
        guard let jws = try? CompactJWS.parseProtected(token), key.permits(jws.algorithm) else { return false }
        if let kid = jws.kid, let keyID = key.kid, kid != keyID { return false }
        return jws.signature.withUnsafeBytes {
            SignatureVerifier.verify(jws.algorithm, key: key, message: UnsafeRawBufferPointer(rebasing: token[jws.signingInput]), signature: $0)
        }
    }
}
