public import Tokens
#if canImport(Glibc)
import Glibc
#endif

/// One issuer's last fetched key set on disk (`auth.keys.state_dir`), so a restart serves at
/// once and without the identity provider.
///
/// The file is the JWKS as fetched with two members added in front, the issuer and the time
/// of the fetch: it stays a JWKS any tool reads, and the age that `max_stale` counts is the
/// fetch's, not the file's modification time (a copy or a restore would reset that).
package enum KeyStateFile {
    package struct Loaded: Sendable {
        package let keys: KeySet
        /// Wall-clock seconds of the fetch.
        package let fetchedAt: Double
    }

    /// `dir/keys-<sha256 of the issuer>.json`: issuers are URLs, not file names.
    package static func path(dir: String, issuer: String) -> String {
        let hex = Digest.sha256(Array(issuer.utf8)).map { byte in
            let digits: [Character] = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
        return dir + "/keys-" + hex + ".json"
    }

    /// Writes atomically: a temporary file, fsync, rename over the old one, fsync of the
    /// directory. A crash leaves the old file or the new one, never half of either.
    package static func write(dir: String, issuer: String, fetchedAt: Double, jwks: [UInt8]) -> Bool {
        guard let brace = jwks.firstIndex(of: UInt8(ascii: "{")) else { return false }
        var bytes = Array("{\"portcullis_issuer\":".utf8)
        bytes += JSONValue.string(issuer).serialized.utf8
        bytes += Array(",\"portcullis_fetched_at\":\(Int64(fetchedAt))".utf8)
        let rest = jwks[(brace + 1)...]
        // An empty object still needs no comma; anything else continues after ours.
        if rest.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) != UInt8(ascii: "}") {
            bytes.append(UInt8(ascii: ","))
        }
        bytes += rest
        let target = path(dir: dir, issuer: issuer)
        let temporary = target + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                close(fd)
                unlink(temporary)
                return false
            }
            written += n
        }
        guard fsync(fd) == 0, close(fd) == 0, rename(temporary, target) == 0 else {
            unlink(temporary)
            return false
        }
        let directory = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
        return true
    }

    /// The issuer's kept keys, or nil when there is no usable file (absent, for another
    /// issuer, unreadable or not a key set: a fetch will replace it).
    package static func read(dir: String, issuer: String) -> Loaded? {
        let fd = open(path(dir: dir, issuer: issuer), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while bytes.count <= 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        guard let document = JSONValue.parse(bytes), document["portcullis_issuer"]?.string == issuer,
              let fetchedAt = document["portcullis_fetched_at"]?.number,
              let keys = try? KeySet.parse(jwks: bytes) else { return nil }
        return Loaded(keys: keys, fetchedAt: fetchedAt)
    }
}
