import Synchronization
import Tokens

/// The dev issuer's signing keys: the one that signs now, and the one before it, which the
/// JWKS still publishes so tokens it signed stay valid until they expire (as Entra keeps a
/// rolled-over key in its document). A rotation makes a new key current.
final class KeyRing: Sendable {
    struct Entry: Sendable {
        let key: SigningKey
        /// The RFC 7638 thumbprint: stable for a key loaded from a file across restarts.
        let kid: String
    }

    private struct Keys {
        var current: Entry
        var previous: Entry?
    }

    private let keys: Mutex<Keys>

    init(first: SigningKey) {
        keys = Mutex(Keys(current: Entry(key: first, kid: first.jwkThumbprint), previous: nil))
    }

    var current: Entry { keys.withLock { $0.current } }

    /// Key ids in the JWKS, the signing key first.
    var kids: [String] { keys.withLock { [$0.current.kid] + ($0.previous.map { [$0.kid] } ?? []) } }

    /// Generates a new key (off the event loop's critical path only in the sense that it is
    /// rare: an RSA-2048 generation takes tens of milliseconds) and makes it current.
    func rotate() throws(SigningKey.LoadError) -> (current: String, previous: String) {
        let fresh = try SigningKey.generateRSA()
        let entry = Entry(key: fresh, kid: fresh.jwkThumbprint)
        return keys.withLock { keys in
            keys.previous = keys.current
            keys.current = entry
            return (entry.kid, keys.previous?.kid ?? "")
        }
    }

    /// `{"keys": [...]}` with the current key first.
    func jwks() -> [UInt8] {
        let entries = keys.withLock { [$0.current] + ($0.previous.map { [$0] } ?? []) }
        let document = JSONValue.object([("keys", .array(entries.map { $0.key.publicJWK(kid: $0.kid) }))])
        return Array(document.serialized.utf8)
    }
}
