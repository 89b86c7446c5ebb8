import HTTP1
import EventLoop

/// One admin answer, written as an HTTP/1.1 response with a Content-Length.
struct AdminResponse {
    static let text: StaticString = "text/plain; charset=utf-8"
    /// Prometheus text exposition format 0.0.4 (the Metrics target's `MetricsRegistry.contentType`;
    /// Admin does not depend on Metrics, so the routes can be fed from anywhere).
    static let prometheus: StaticString = "text/plain; version=0.0.4; charset=utf-8"
    static let json: StaticString = "application/json"

    let status: Int
    let contentType: StaticString
    let body: [UInt8]

    init(status: Int, contentType: StaticString, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    init(status: Int, text: String) {
        self.init(status: status, contentType: Self.text, body: Array(text.utf8))
    }

    /// One line per entry, each ending in a newline.
    init(status: Int, lines: [String]) {
        self.init(status: status, text: lines.map { $0 + "\n" }.joined())
    }

    /// HEAD gets the GET response's headers, Content-Length included, without the body.
    func serialize(into output: IOBuffer, includeBody: Bool, keepAlive: Bool) {
        output.append("HTTP/1.1 ")
        output.append(decimal: UInt64(status))
        output.append(" ")
        output.append(ReasonPhrase.of(status))
        output.append("\r\nContent-Type: ")
        output.append(contentType)
        output.append("\r\nContent-Length: ")
        output.append(decimal: UInt64(body.count))
        // Health and metrics must be fresh at every probe, never a cache's copy.
        output.append("\r\nCache-Control: no-store\r\n")
        if status == 405 { output.append("Allow: GET, HEAD\r\n") }
        if !keepAlive { output.append("Connection: close\r\n") }
        output.append("\r\n")
        if includeBody { body.withUnsafeBytes { output.append($0) } }
    }

}
