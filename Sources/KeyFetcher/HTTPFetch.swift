import CCurl
import CShims

/// One HTTP(S) GET with libcurl, on the calling (background) thread. The CURL handle is owned
/// here and freed in deinit; the callbacks reach the response through an Unmanaged pointer.
final class HTTPFetch {
    struct Response {
        let status: Int
        let body: [UInt8]
        /// Cache-Control max-age in seconds, if the response had one.
        let maxAge: Int?
    }

    enum Failure: Error, CustomStringConvertible {
        case transfer(String)
        case tooLarge
        case status(Int)

        var description: String {
            switch self {
            case .transfer(let reason): "transfer failed: \(reason)"
            case .tooLarge: "response larger than 1 MiB"
            case .status(let code): "HTTP status \(code)"
            }
        }
    }

    /// Collects the body (bounded) and the max-age header while libcurl runs.
    final class Sink {
        var body: [UInt8] = []
        var maxAge: Int?
        var overflow = false
        let limit: Int
        init(limit: Int) { self.limit = limit }
    }

    static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    private let handle: UnsafeMutableRawPointer

    init?() {
        guard Self.globalInit, let handle = curl_easy_init() else { return nil }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    func get(_ url: String, timeoutMillis: Int, maxBytes: Int = 1 << 20) -> Result<Response, Failure> {
        curl_easy_reset(handle)
        let sink = Sink(limit: maxBytes)
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        func opt(_ option: CURLoption, _ value: Int) { _ = cs_curl_easy_setopt_long(handle, Int32(option.rawValue), value) }
        _ = cs_curl_easy_setopt_string(handle, Int32(CURLOPT_URL.rawValue), url)
        _ = cs_curl_easy_setopt_string(handle, Int32(CURLOPT_PROTOCOLS_STR.rawValue), "http,https")
        _ = cs_curl_easy_setopt_string(handle, Int32(CURLOPT_USERAGENT.rawValue), "portcullis-keyfetcher")
        opt(CURLOPT_NOSIGNAL, 1)
        opt(CURLOPT_FOLLOWLOCATION, 0)
        opt(CURLOPT_TIMEOUT_MS, timeoutMillis)
        opt(CURLOPT_CONNECTTIMEOUT_MS, min(timeoutMillis, 5_000))
        opt(CURLOPT_SSL_VERIFYPEER, 1)
        opt(CURLOPT_SSL_VERIFYHOST, 2)
        _ = cs_curl_easy_setopt_pointer(handle, Int32(CURLOPT_WRITEDATA.rawValue), context.toOpaque())
        _ = cs_curl_easy_setopt_pointer(handle, Int32(CURLOPT_HEADERDATA.rawValue), context.toOpaque())
        _ = cs_curl_easy_setopt_write_function(handle) { data, size, count, user in
            guard let data, let user else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            let n = size * count
            if sink.body.count + n > sink.limit {
                sink.overflow = true
                return 0
            }
            data.withMemoryRebound(to: UInt8.self, capacity: n) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        }
        _ = cs_curl_easy_setopt_header_function(handle) { data, size, count, user in
            guard let data, let user else { return 0 }
            let n = size * count
            let line = data.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            if line.lowercased().hasPrefix("cache-control:") { sink.maxAge = HTTPFetch.maxAge(line) }
            return n
        }
        let code = curl_easy_perform(handle)
        if sink.overflow { return .failure(.tooLarge) }
        guard code == CURLE_OK else {
            return .failure(.transfer(String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        _ = cs_curl_easy_getinfo_long(handle, Int32(CURLINFO_RESPONSE_CODE.rawValue), &status)
        guard (200..<300).contains(status) else { return .failure(.status(status)) }
        return .success(Response(status: status, body: sink.body, maxAge: sink.maxAge))
    }

    /// `max-age=N` from a Cache-Control header line; `no-store`/`no-cache` mean 0.
    static func maxAge(_ line: String) -> Int? {
        let value = line.drop(while: { $0 != ":" }).dropFirst().lowercased()
        for directive in value.split(separator: ",") {
            let trimmed = directive.trimmingCharacters(in: " \t\r\n")
            if trimmed == "no-store" || trimmed == "no-cache" { return 0 }
            if trimmed.hasPrefix("max-age=") { return Int(trimmed.dropFirst(8)) }
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        String(drop(while: { set.contains($0) }).reversed().drop(while: { set.contains($0) }).reversed())
    }
}
