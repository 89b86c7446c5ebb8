import COpenSSL
import CShims
import EventLoop
import Synchronization

/// Session-ticket keys that rotate: a new key encrypts every ``rotation``; the previous ones
/// still decrypt (and ask the client to take a fresh ticket) until they are ``retained``
/// rotations old. One ring for the process, so a SIGHUP reload does not void every ticket.
///
/// OpenSSL's default is one random key per context for the context's whole life: a key stolen
/// from memory then decrypts every session resumed since start. Rotating bounds that window.
final class TicketKeys: Sendable {
    struct Key: Sendable {
        let name: [UInt8]     // 16 bytes, chosen at random; tickets carry it
        let aes: [UInt8]      // AES-256-CBC key
        let hmac: [UInt8]     // HMAC-SHA256 key
        let created: Int64    // monotonic milliseconds
    }

    static let shared = TicketKeys(rotationMillis: 3_600_000, retained: 2)

    let rotationMillis: Int64
    let retained: Int
    private let ring: Mutex<[Key]>

    init(rotationMillis: Int64, retained: Int) {
        self.rotationMillis = rotationMillis
        self.retained = retained
        ring = Mutex([Self.fresh()])
    }

    static func fresh() -> Key {
        func random(_ n: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: n)
            _ = bytes.withUnsafeMutableBytes { RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(n)) }
            return bytes
        }
        return Key(name: random(16), aes: random(32), hmac: random(32), created: Sys.monotonicMillis())
    }

    /// The key to encrypt with now (rotating first when due).
    func current() -> Key {
        ring.withLock { keys in
            let now = Sys.monotonicMillis()
            if let last = keys.last, now - last.created < rotationMillis { return last }
            keys.append(Self.fresh())
            if keys.count > retained + 1 { keys.removeFirst(keys.count - retained - 1) }
            return keys[keys.count - 1]
        }
    }

    /// The key a ticket names, and whether it is the current one.
    func find(_ name: UnsafePointer<UInt8>) -> (Key, isCurrent: Bool)? {
        ring.withLock { keys in
            let wanted = UnsafeBufferPointer(start: name, count: 16)
            for (index, key) in keys.enumerated().reversed() where key.name.elementsEqual(wanted) {
                return (key, index == keys.count - 1)
            }
            return nil
        }
    }

    /// Installs the rotating keys on `ctx`.
    static func install(on ctx: OpaquePointer) {
        cs_SSL_CTX_set_ticket_key_callback(ctx) { _, name, iv, cipher, mac, encrypt in
            guard let name, let iv, let cipher, let mac else { return -1 }
            let keys = TicketKeys.shared
            let key: Key
            var result: Int32 = 1
            if encrypt == 1 {
                key = keys.current()
                for i in 0..<16 { name[i] = key.name[i] }
                guard RAND_bytes(iv, 16) == 1 else { return -1 }
            } else {
                // An unknown name (a ticket from before a restart, or too old): full handshake.
                guard let (found, isCurrent) = keys.find(name) else { return 0 }
                key = found
                result = isCurrent ? 1 : 2
            }
            let cipherOK = key.aes.withUnsafeBufferPointer {
                encrypt == 1
                    ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nil, $0.baseAddress, iv)
                    : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nil, $0.baseAddress, iv)
            }
            guard cipherOK == 1 else { return -1 }
            var hmac = key.hmac
            let macOK = hmac.withUnsafeMutableBytes { raw -> Int32 in
                var digest = Array("SHA256".utf8CString)
                return digest.withUnsafeMutableBufferPointer { digestName -> Int32 in
                    var params = [
                        OSSL_PARAM_construct_octet_string(cs_PARAM_MAC_KEY, raw.baseAddress, raw.count),
                        OSSL_PARAM_construct_utf8_string(cs_PARAM_MAC_DIGEST, digestName.baseAddress, 0),
                        OSSL_PARAM_construct_end(),
                    ]
                    return EVP_MAC_CTX_set_params(mac, &params)
                }
            }
            return macOK == 1 ? result : -1
        }
    }
}
