import Config
import EventLoop

/// Why a probe failed, as the one line a container runtime or the kubelet records.
enum ProbeError: Error, CustomStringConvertible {
    case badURL(String)
    case badTimeout(String)
    /// Every address tried refused (localhost is two).
    case refused([String])
    case timedOut(Duration)
    case status(String)
    case malformedResponse
    case system(SystemError)

    var description: String {
        switch self {
        case .badURL(let why): "bad URL: \(why)"
        case .badTimeout(let text): "bad --timeout '\(text)'; write e.g. 2s or 500ms"
        case .refused(let addresses): "connection refused at \(addresses.joined(separator: " and "))"
        case .timedOut(let limit): "no answer within \(limit.configText)"
        case .status(let line): "answered \(line)"
        case .malformedResponse: "the answer is not an HTTP/1.x response"
        case .system(let error): "\(error)"
        }
    }
}
