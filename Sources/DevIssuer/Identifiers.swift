import EventLoop
import Tokens
#if canImport(Glibc)
import Glibc
#endif

/// The ids and times an Entra answer carries: GUIDs (random for trace ids, derived for object
/// ids so a client keeps its `oid` across restarts), and timestamps as Entra writes them.
enum Identifiers {
    /// A random version-4 GUID.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return guid((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// A GUID derived from `seed`: the same seed always gives the same id.
    static func derived(from seed: String) -> String {
        guid(Array(Digest.sha256(Array(seed.utf8)).prefix(16)))
    }

    /// A random url-safe token identifier (`uti`, `jti`).
    static func tokenID() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    private static func guid(_ raw: [UInt8]) -> String {
        var bytes = raw
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex: [Character] = Array("0123456789abcdef")
        var text = ""
        for (i, b) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(i) { text.append("-") }
            text.append(hex[Int(b >> 4)])
            text.append(hex[Int(b & 15)])
        }
        return text
    }

    /// Seconds since the epoch, now.
    static func now() -> Int64 {
        Sys.wallClock().seconds
    }

    /// `2024-05-01 12:34:56Z`, Entra's error timestamp.
    static func timestamp(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
