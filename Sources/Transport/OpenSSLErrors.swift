import COpenSSL

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
        return parts.isEmpty ? "no detail from OpenSSL" : parts.joined(separator: "; ")
    }

    static func clear() { ERR_clear_error() }
}
