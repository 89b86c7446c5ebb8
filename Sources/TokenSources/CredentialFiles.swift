import Config
import Tokens

/// The files credentials are made of: a secret without its trailing newline, a certificate, an
/// RSA private key. Read once when the provider is made (a bad one is a config error naming its
/// key, before anything is served) and again for every request (a rotated file is picked up;
/// one that has become unreadable fails that fetch, which is retried with back-off).
enum CredentialFiles {
    static func secret(_ file: LocatedValue) throws(ConfigError) -> String {
        String(decoding: try file.readSecret(), as: UTF8.self)
    }

    static func certificate(_ file: LocatedValue) throws(ConfigError) -> X509Certificate {
        try X509Certificate.load(file)
    }

    /// An RSA key: the assertion is signed RS256.
    static func rsaKey(_ file: LocatedValue) throws(ConfigError) -> SigningKey {
        try SigningKey.load(file, type: .rsa, because: "client assertions are signed RS256, so the key must be RSA")
    }

    /// Runs `read` when a request is built: a file problem then fails the fetch.
    static func atFetch<T>(_ read: () throws(ConfigError) -> T) throws(TokenSourceError) -> T {
        do {
            return try read()
        } catch {
            throw TokenSourceError("credential_unreadable", error.description)
        }
    }
}
