import COpenSSL

/// What a verified client certificate says about its holder, read once after the handshake.
public struct PeerCertificate: Sendable {
    /// URI subject alternative names (SPIFFE ids among them).
    public let uris: [String]
    /// DNS subject alternative names, lower-cased.
    public let dnsNames: [String]
    /// The subject's common name, if any.
    public let commonName: String?
    /// The leaf in DER, base64 (what App Service forwards as X-ARR-ClientCert).
    public let base64DER: String

    /// The identity the access log shows: the first URI, else the first DNS name, else the CN.
    public var primaryIdentity: String? {
        if let uri = uris.first { return "uri:\(uri)" }
        if let dns = dnsNames.first { return "dns:\(dns)" }
        return commonName.map { "cn:\($0)" }
    }

    init(_ leaf: OpaquePointer) {
        var uris: [String] = []
        var dnsNames: [String] = []
        if let raw = X509_get_ext_d2i(leaf, NID_subject_alt_name, nil, nil) {
            let names = OpaquePointer(raw)
            for index in 0..<OPENSSL_sk_num(names) {
                guard let element = OPENSSL_sk_value(names, index) else { continue }
                let name = element.assumingMemoryBound(to: GENERAL_NAME.self)
                switch name.pointee.type {
                case GEN_URI:
                    if let text = Self.text(name.pointee.d.uniformResourceIdentifier) { uris.append(text) }
                case GEN_DNS:
                    if let text = Self.text(name.pointee.d.dNSName) { dnsNames.append(text.lowercased()) }
                default:
                    break
                }
            }
            GENERAL_NAMES_free(names)
        }
        self.uris = uris
        self.dnsNames = dnsNames
        var commonName: String?
        if let subject = X509_get_subject_name(leaf) {
            let index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
            if index >= 0, let entry = X509_NAME_get_entry(subject, index) {
                commonName = Self.text(X509_NAME_ENTRY_get_data(entry))
            }
        }
        self.commonName = commonName
        var der: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(leaf, &der)
        if length > 0, let der {
            base64DER = Self.base64(UnsafeBufferPointer(start: der, count: Int(length)))
            CRYPTO_free(der, #fileID, #line)
        } else {
            base64DER = ""
        }
    }

    /// An IA5/UTF8 string's bytes as text; nil when it holds a byte no header may carry.
    private static func text(_ string: UnsafePointer<ASN1_STRING>?) -> String? {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return nil }
        let bytes = UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string)))
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func text(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> String? {
        text(string.map { UnsafePointer($0) })
    }

    private static func base64(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="), UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
