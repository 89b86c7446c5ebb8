/// One issuer's keys, parsed from a JWKS document; immutable once built.
public final class KeySet: Sendable {
    public let keys: [VerificationKey]

    public init(keys: [VerificationKey]) {
        self.keys = keys
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `{"keys": [...]}`. Keys of a type we do not verify with, or marked for
    /// encryption, are skipped; a document with no usable key at all is an error. Symmetric
    /// (`oct`) keys are refused here: an HMAC secret comes only from `hmac_secret_file`.
    public static func parse(jwks bytes: [UInt8]) throws(ParseError) -> KeySet {
        guard let document = JSONParser.parse(bytes), case .array(let entries)? = document["keys"] else {
            throw ParseError(description: "not a JWKS document (a JSON object with a \"keys\" array)")
        }
        var keys: [VerificationKey] = []
        var problems: [String] = []
        for entry in entries {
            do {
                if let key = try jwk(entry) { keys.append(key) }
            } catch {
                if case .invalid(let reason) = error { problems.append(reason) }
            }
        }
        guard !keys.isEmpty else {
            throw ParseError(description: "no usable signing key" + (problems.isEmpty ? "" : ": " + problems.joined(separator: "; ")))
        }
        return KeySet(keys: keys)
    }

    static func jwk(_ entry: JSONValue) throws(VerificationKey.BuildError) -> VerificationKey? {
        func bytes(_ name: String) throws(VerificationKey.BuildError) -> [UInt8] {
            guard let text = entry[name]?.string, let value = Base64URL.decode(text) else {
                throw .invalid("JWK member '\(name)' is missing or not base64url")
            }
            return value
        }
        let use = entry["use"]?.string
        if let use, use != "sig" { return nil }
        // key_ops, where present, must allow verification (RFC 7517 §4.3).
        if let ops = entry["key_ops"] {
            guard case .array(let list) = ops, list.contains(.string("verify")) else { return nil }
        }
        let algorithm: JWSAlgorithm?
        if let alg = entry["alg"]?.string {
            guard let known = JWSAlgorithm(rawValue: alg) else { return nil }
            algorithm = known
        } else {
            algorithm = nil
        }
        let kid = entry["kid"]?.string
        let x5t = entry["x5t"]?.string
        switch entry["kty"]?.string {
        case "RSA":
            let pkey = try VerificationKey.rsa(n: try bytes("n"), e: try bytes("e"))
            return VerificationKey(kid: kid, x5t: x5t, type: .rsa, algorithm: algorithm, use: use, pkey: pkey)
        case "EC":
            guard let curve = entry["crv"]?.string else { throw .invalid("EC JWK without crv") }
            let pkey = try VerificationKey.ec(curve: curve, x: try bytes("x"), y: try bytes("y"))
            return VerificationKey(kid: kid, x5t: x5t, type: .ec(curve: curve), algorithm: algorithm, use: use, pkey: pkey)
        case "OKP":
            guard entry["crv"]?.string == "Ed25519" else { return nil }
            let pkey = try VerificationKey.ed25519(x: try bytes("x"))
            return VerificationKey(kid: kid, x5t: x5t, type: .ed25519, algorithm: algorithm, use: use, pkey: pkey)
        default:
            return nil
        }
    }

    /// The key a token names: by `kid`, or by `x5t` when the token has no kid. A token naming
    /// neither may use the set only if it holds exactly one key.
    func key(kid: String?, x5t: String?) -> VerificationKey? {
        // Two keys under one kid make the choice ambiguous: no key is chosen rather than a guess.
        if let kid { return only(keys.filter { $0.kid == kid }) }
        if let x5t { return only(keys.filter { $0.x5t == x5t }) }
        return keys.count == 1 ? keys[0] : nil
    }

    private func only(_ matches: [VerificationKey]) -> VerificationKey? {
        matches.count == 1 ? matches[0] : nil
    }
}
