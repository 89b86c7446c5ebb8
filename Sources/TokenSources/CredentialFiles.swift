import Config
import Tokens

/// The files credentials are made of: a secret without its trailing newline, a certificate, an
/// RSA private key. Read once when the provider is made (a bad file is a config error naming
/// its key, before anything is served) and again for every request (a rotated file is picked
/// up; one that has become unreadable fails that fetch, which is retried with back-off).
enum CredentialFiles {
    static func secret(_ file: LocatedValue) throws(ConfigError) -> String {
        String(decoding: try file.readSecret(), as: UTF8.self)
    }

    static func certificate(_ file: LocatedValue) throws(ConfigError) -> X509Certificate {
        let pem = try file.readFile()
        do {
            return try X509Certificate(pem: pem)
        } catch {
            throw file.error("'\(file.value)': \(error)")
        }
    }

    /// An RSA key: the assertion is signed RS256.
    static func rsaKey(_ file: LocatedValue) throws(ConfigError) -> SigningKey {
        let pem = try file.readFile()
        let key: SigningKey
        do {
            key = try SigningKey(pem: pem)
        } catch {
            throw file.error("'\(file.value)': \(error)")
        }
        guard key.type == .rsa else { throw file.error("'\(file.value)' is not an RSA key; client assertions are signed RS256") }
        return key
    }
}

extension TokenSourceError {
    /// A credential file that could not be read when a request was built.
    static func unreadable(_ error: ConfigError) -> TokenSourceError {
        TokenSourceError("credential_unreadable", error.description)
    }
}
