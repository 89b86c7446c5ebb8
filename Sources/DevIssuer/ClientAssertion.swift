import Tokens

/// Checks a client assertion (`private_key_jwt`, RFC 7523) as Entra does: a JWT signed with
/// RS256 or PS256 by the key of a certificate registered for the client, naming that
/// certificate by `x5t#S256` (or the older SHA-1 `x5t`), with `iss` = `sub` = the client id,
/// `aud` the token endpoint, and a current `exp`.
struct ClientAssertion {
    static let type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// Clock difference tolerated between the client and the issuer, as Entra's five minutes.
    static let skew: Int64 = 300

    let directory: Directory
    /// Audiences accepted: the tenant's token endpoints (v1 and v2) and its v2 issuer.
    let audiences: [String]

    func verify(_ assertion: String, clientID: String?, now: Int64) -> Result<Directory.RegisteredClient, EntraError> {
        let jws: DecodedJWS
        do {
            jws = try DecodedJWS(assertion)
        } catch {
            return .failure(.assertion(50027, "JWT token is invalid or malformed: \(error.reason)."))
        }
        guard jws.algorithm == .rs256 || jws.algorithm == .ps256 else {
            return .failure(.assertion(5002738, "Invalid JWT token. '\(jws.algorithm.rawValue)' is not a supported signature algorithm. Supported signing algorithms are: 'RS256, PS256'."))
        }
        guard let issuer = jws.claims["iss"]?.string else { return .failure(Self.missing("iss")) }
        guard let subject = jws.claims["sub"]?.string else { return .failure(Self.missing("sub")) }
        guard issuer == subject, clientID == nil || clientID?.lowercased() == issuer.lowercased() else {
            return .failure(.assertion(700021, "Client assertion application identifier doesn't match 'client_id' parameter."))
        }
        guard let client = directory.client(id: issuer) else {
            return .failure(.unknownClient(issuer, tenant: directory.settings.tenantID))
        }
        guard let certificate = client.certificate, let key = client.certificateKey else {
            return .failure(Self.unregistered(issuer))
        }
        if let sha256 = jws.header["x5t#S256"]?.string {
            guard Self.unpadded(sha256) == certificate.sha256Thumbprint else { return .failure(Self.unregistered(issuer)) }
        } else if let sha1 = jws.header["x5t"]?.string {
            guard Self.unpadded(sha1) == certificate.sha1Thumbprint else { return .failure(Self.unregistered(issuer)) }
        } else {
            return .failure(.assertion(700027, "Client assertion failed signature validation: the header names no certificate (x5t#S256 or x5t)."))
        }
        guard jws.verify(with: key) else {
            return .failure(.assertion(700027, "Client assertion failed signature validation."))
        }
        let audience: [String]
        switch jws.claims["aud"] {
        case .string(let one)?: audience = [one]
        case .array(let many)?: audience = many.compactMap(\.string)
        default: return .failure(Self.missing("aud"))
        }
        guard audience.contains(where: { audiences.contains($0) }) else {
            return .failure(.assertion(700023, "Client assertion audience claim does not match Realm issuer."))
        }
        guard let exp = jws.claims["exp"]?.number else { return .failure(Self.missing("exp")) }
        let notBefore = jws.claims["nbf"]?.number ?? -Double.infinity
        guard Double(now - Self.skew) < exp, notBefore <= Double(now + Self.skew) else {
            return .failure(.assertion(700024, "Client assertion is not within its valid time range. Current time: \(Identifiers.timestamp(now)), expiry time of assertion \(Identifiers.timestamp(Int64(min(max(exp, 0), 1e12))))."))
        }
        return .success(client)
    }

    /// A thumbprint header without its base64 padding. MSAL Python writes `x5t` and `x5t#S256`
    /// with Python's `urlsafe_b64encode`, which pads (`…=`), and Entra takes them; MSAL.NET and
    /// the token sources write them unpadded, as JOSE's base64url is. Padding is accepted only
    /// as much as the length calls for, so one thumbprint still has exactly two spellings.
    static func unpadded(_ thumbprint: String) -> String? {
        let padding = thumbprint.utf8.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard padding > 0 else { return thumbprint }
        guard padding <= 2, thumbprint.utf8.count % 4 == 0 else { return nil }
        return String(thumbprint.dropLast(padding))
    }

    private static func missing(_ claim: String) -> EntraError {
        .assertion(90014, "The required field '\(claim)' is missing from the credential. Ensure that you have all the necessary parameters for the login request.")
    }

    private static func unregistered(_ clientID: String) -> EntraError {
        .assertion(700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '\(clientID)'.]")
    }
}
