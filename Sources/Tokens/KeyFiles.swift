public import Config

extension SigningKey {
    /// The PEM private key in the file `file` names; an unreadable file, or one that is not a
    /// key (of `type`, when given), is a config error naming the key the path came from.
    public static func load(_ file: LocatedValue, type: VerificationKey.KeyType? = nil, because why: String = "") throws(ConfigError) -> SigningKey {
        let pem = try file.readFile()
        let key: SigningKey
        do {
            key = try SigningKey(pem: pem)
        } catch {
            throw file.error("'\(file.value)': \(error)")
        }
        if let type, key.type != type { throw file.error("'\(file.value)' is not the right kind of key: \(why)") }
        return key
    }
}

extension X509Certificate {
    /// The first certificate in the PEM file `file` names; a problem is a config error naming
    /// the key the path came from.
    public static func load(_ file: LocatedValue) throws(ConfigError) -> X509Certificate {
        let pem = try file.readFile()
        do {
            return try X509Certificate(pem: pem)
        } catch {
            throw file.error("'\(file.value)': \(error)")
        }
    }
}
