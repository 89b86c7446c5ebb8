public import Config
import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

extension LocatedValue {
    /// A file named by the config that the process cannot read: an error naming the key, in
    /// plain words rather than OpenSSL's error stack.
    package func requireReadable(_ what: String) throws(ConfigError) {
        guard access(value, R_OK) == 0 else {
            throw error("cannot read \(what) '\(value)': \(String(cString: strerror(errno)))")
        }
    }
}

/// OpenSSL keeps errors in a per-thread queue; these drain it into one readable line.
enum OpenSSLErrors {
    /// Every queued error, oldest first, joined; empties the queue.
    static func drain() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            let line = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "error:0A00009C:SSL routines::http request" → keep the words after the last colon group.
            parts.append(line.split(separator: ":", omittingEmptySubsequences: false).suffix(1).joined())
        }
        var unique: [String] = []
        for part in parts where !unique.contains(part) { unique.append(part) }
        return unique.isEmpty ? "no detail from OpenSSL" : unique.joined(separator: "; ")
    }

    static func clear() { ERR_clear_error() }
}
