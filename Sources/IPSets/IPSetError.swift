/// Why a set's document was not taken. The set keeps its last good prefixes (or stays not
/// loaded); nothing of a refused document is used.
public enum IPSetError: Error, Equatable, CustomStringConvertible {
    /// A `file:` set whose file could not be read.
    case unreadable(path: String, reason: String)
    /// A `url:` set whose fetch failed (transfer, status, size).
    case fetch(url: String, reason: String)
    case notJSON
    /// JSON, but not shaped like Microsoft's Service Tags document.
    case notServiceTags(String)
    /// No `values[]` entry has this name: a document of another cloud, or a tag renamed.
    case tagNotFound(String)
    /// One entry is not a prefix; `at` is the line or the JSON path.
    case badPrefix(at: String, text: String, reason: String)
    /// The document lists no prefixes at all (an empty or truncated file).
    case empty

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .fetch(let url, let reason): "\(url): \(reason)"
        case .notJSON: "not a JSON document"
        case .notServiceTags(let what): "not a Service Tags document: \(what)"
        case .tagNotFound(let tag): "no values[] entry named '\(tag)' in the document"
        case .badPrefix(let at, let text, let reason): "\(at): '\(text)' \(reason); the whole document is refused"
        case .empty: "the document lists no prefixes"
        }
    }
}
