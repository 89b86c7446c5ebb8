import KeyFetcher
public import Tokens

/// Requests to the dev issuer through the project's own libcurl wrapper, for the tests.
public enum TestHTTP {
    public struct Answer: Sendable {
        public let status: Int
        public let body: [UInt8]
        public var json: JSONValue? { JSONValue.parse(body) }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// POSTs a form (each name and value percent-encoded).
    public static func post(_ url: String, form: [(String, String)], headers: [String] = [], caFile: String? = nil) -> Answer {
        let body = form.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
        return perform(.form(url, Array(body.utf8), headers: headers, caFile: caFile))
    }

    public static func get(_ url: String, headers: [String] = [], caFile: String? = nil) -> Answer {
        perform(.init(url: url, headers: headers, caFile: caFile))
    }

    /// A POST with whatever body and headers, for malformed requests.
    public static func postRaw(_ url: String, body: [UInt8], headers: [String]) -> Answer {
        perform(.init(url: url, method: .post, headers: headers, body: body))
    }

    private static func perform(_ request: HTTPFetch.Request) -> Answer {
        guard let http = HTTPFetch() else { return Answer(status: 0, body: Array("no libcurl".utf8)) }
        switch http.perform(request, timeoutMillis: 5_000) {
        case .success(let response): return Answer(status: response.status, body: response.body)
        case .failure(let failure): return Answer(status: 0, body: Array("\(failure)".utf8))
        }
    }

    /// RFC 3986 unreserved characters pass; everything else is %XX.
    public static func encode(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(b)))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }
}
