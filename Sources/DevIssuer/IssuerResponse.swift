import HTTP1
import EventLoop
import Tokens

/// One answer of the dev issuer, written as an HTTP/1.1 response with a Content-Length.
struct IssuerResponse: Sendable {
    let status: Int
    let contentType: String
    let body: [UInt8]
    /// Further header lines, `Name: value`.
    var headers: [String] = []

    /// JSON, never cached: token answers must not be kept by anything between (RFC 6749 §5.1).
    static func json(_ status: Int, _ value: JSONValue) -> IssuerResponse {
        IssuerResponse(status: status, contentType: "application/json; charset=utf-8", body: Array(value.serialized.utf8),
                       headers: ["Cache-Control: no-store", "Pragma: no-cache"])
    }

    static func text(_ status: Int, _ text: String) -> IssuerResponse {
        IssuerResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8), headers: ["Cache-Control: no-store"])
    }

    /// An Entra refusal with its status and JSON body.
    static func entra(_ error: EntraError, baseURL: String, correlationID: String?) -> IssuerResponse {
        IssuerResponse(status: error.status, contentType: "application/json; charset=utf-8",
                       body: error.body(baseURL: baseURL, correlationID: correlationID, now: Identifiers.now()),
                       headers: ["Cache-Control: no-store", "Pragma: no-cache"])
    }

    func serialize(into output: IOBuffer, includeBody: Bool, keepAlive: Bool) {
        output.append("HTTP/1.1 ")
        output.append(decimal: UInt64(status))
        output.append(" ")
        output.append(ReasonPhrase.of(status))
        output.append("\r\nContent-Type: ")
        append(contentType, to: output)
        output.append("\r\nContent-Length: ")
        output.append(decimal: UInt64(body.count))
        output.append("\r\n")
        for line in headers {
            append(line, to: output)
            output.append("\r\n")
        }
        if !keepAlive { output.append("Connection: close\r\n") }
        output.append("\r\n")
        if includeBody { body.withUnsafeBytes { output.append($0) } }
    }

    private func append(_ text: String, to output: IOBuffer) {
        var text = text
        text.withUTF8 { output.append(UnsafeRawBufferPointer($0)) }
    }

}
