import HTTP1
import EventLoop

/// Turns a ``Decision`` into an HTTP/1.1 response: the single place where a refusal becomes bytes.
enum LocalReply {
    static func write(_ decision: Decision, keepAlive: Bool, into output: IOBuffer) {
        output.append("HTTP/1.1 ")
        output.append(decimal: UInt64(decision.status))
        output.append(byte: 0x20)
        output.append(ReasonPhrase.of(decision.status))
        output.append("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")
        var message = decision.message
        message.withUTF8 { body in
            output.append(decimal: UInt64(body.count + 1))
        }
        output.append("\r\nCache-Control: no-store\r\n")
        for header in decision.headers {
            var line = header
            line.withUTF8 { output.append(UnsafeRawBufferPointer($0)) }
            output.append("\r\n")
        }
        output.append(keepAlive ? "\r\n" : "Connection: close\r\n\r\n")
        message.withUTF8 { output.append(UnsafeRawBufferPointer($0)) }
        output.append(byte: 0x0A)
    }

}
