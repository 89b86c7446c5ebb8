import CCurl
import CShims

/// One HTTP(S) request with libcurl, on the calling (background) thread: the key fetcher's GETs
/// and the token sources' POSTs to token endpoints. Never on an event loop: it blocks for up to
/// its timeout. The CURL handle is owned here and freed in deinit; the callbacks reach the
/// response through an Unmanaged pointer.
///
/// `package`: the token sources (another target) share this one libcurl wrapper.
package final class HTTPFetch {
    /// What to send. Redirects are never followed, only http and https are spoken, and TLS
    /// peers are always verified (against `caFile` when set, else the system's roots).
    package struct Request {
        package enum Method: Sendable { case get, post }

        package var url: String
        package var method: Method
        /// Header lines, `Name: value`.
        package var headers: [String]
        /// The request body (POST).
        package var body: [UInt8]
        /// A PEM bundle of CAs to trust instead of the system's (a private or test CA).
        package var caFile: String?
        package var userAgent: String

        package init(url: String, method: Method = .get, headers: [String] = [], body: [UInt8] = [],
                     caFile: String? = nil, userAgent: String = "portcullis") {
            self.url = url
            self.method = method
            self.headers = headers
            self.body = body
            self.caFile = caFile
            self.userAgent = userAgent
        }

        /// A POST of an `application/x-www-form-urlencoded` body.
        package static func form(_ url: String, _ body: [UInt8], headers: [String] = [], caFile: String? = nil) -> Request {
            Request(url: url, method: .post, headers: ["Content-Type: application/x-www-form-urlencoded"] + headers,
                    body: body, caFile: caFile)
        }
    }

    package struct Response {
        package let status: Int
        package let body: [UInt8]
        /// Cache-Control max-age in seconds, if the response had one.
        package let maxAge: Int?
    }

    package enum Failure: Error, CustomStringConvertible {
        case transfer(String)
        case tooLarge
        case status(Int)

        package var description: String {
            switch self {
            case .transfer(let reason): "transfer failed: \(reason)"
            case .tooLarge: "response larger than the limit"
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

    package init?() {
        guard Self.globalInit, let handle = curl_easy_init() else { return nil }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    /// A GET that succeeds only with a 2xx status (the key fetcher's and IP-set loader's documents).
    package func get(_ url: String, timeoutMillis: Int, maxBytes: Int = 1 << 20, caFile: String? = nil,
                     userAgent: String = "portcullis-keyfetcher") -> Result<Response, Failure> {
        let result = perform(Request(url: url, caFile: caFile, userAgent: userAgent), timeoutMillis: timeoutMillis, maxBytes: maxBytes)
        if case .success(let response) = result, !(200..<300).contains(response.status) { return .failure(.status(response.status)) }
        return result
    }

    /// Sends `request` and returns the response whatever its status (a token endpoint's 400
    /// carries the error the caller must read); fails only when no complete response came.
    package func perform(_ request: Request, timeoutMillis: Int, maxBytes: Int = 1 << 20) -> Result<Response, Failure> {
        curl_easy_reset(handle)
        let sink = Sink(limit: maxBytes)
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        func opt(_ option: CURLoption, _ value: Int) { _ = cs_curl_easy_setopt_long(handle, Int32(option.rawValue), value) }
        _ = cs_curl_easy_setopt_string(handle, Int32(CURLOPT_URL.rawValue), request.url)
        _ = cs_curl_easy_setopt_string(handle, Int32(CURLOPT_PROTOCOLS_STR.rawValue), "http,https")
        _ = cs_curl_easy_setopt_string(handle, Int32(CURLOPT_USERAGENT.rawValue), request.userAgent)
        opt(CURLOPT_NOSIGNAL, 1)
        opt(CURLOPT_FOLLOWLOCATION, 0)
        opt(CURLOPT_TIMEOUT_MS, timeoutMillis)
        opt(CURLOPT_CONNECTTIMEOUT_MS, min(timeoutMillis, 5_000))
        opt(CURLOPT_SSL_VERIFYPEER, 1)
        opt(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = request.caFile { _ = cs_curl_easy_setopt_string(handle, Int32(CURLOPT_CAINFO.rawValue), caFile) }
        if request.method == .post {
            // The size first, so COPYPOSTFIELDS copies exactly these bytes (a body may hold NUL).
            opt(CURLOPT_POSTFIELDSIZE, request.body.count)
            request.body.withUnsafeBytes { raw in
                _ = cs_curl_easy_setopt_pointer(handle, Int32(CURLOPT_COPYPOSTFIELDS.rawValue), UnsafeMutableRawPointer(mutating: raw.baseAddress))
            }
        }
        // libcurl keeps the list until the transfer is over; it is freed after curl_easy_perform.
        var headerList: UnsafeMutablePointer<curl_slist>?
        for line in request.headers { headerList = curl_slist_append(headerList, line) }
        // Expect: 100-continue would cost a round trip on every token request for nothing.
        if request.method == .post { headerList = curl_slist_append(headerList, "Expect:") }
        defer { curl_slist_free_all(headerList) }
        if let headerList { _ = cs_curl_easy_setopt_pointer(handle, Int32(CURLOPT_HTTPHEADER.rawValue), headerList) }
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
        // The handle would otherwise point at the list freed above until the next reset.
        _ = cs_curl_easy_setopt_pointer(handle, Int32(CURLOPT_HTTPHEADER.rawValue), nil)
        if sink.overflow { return .failure(.tooLarge) }
        guard code == CURLE_OK else {
            return .failure(.transfer(String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        _ = cs_curl_easy_getinfo_long(handle, Int32(CURLINFO_RESPONSE_CODE.rawValue), &status)
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
