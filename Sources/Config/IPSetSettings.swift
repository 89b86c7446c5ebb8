/// A named set of network prefixes loaded from a published document (`ip_sets.NAME`), which
/// network rules name in their `ip_sets`: Azure's service tags (the Front Door back end), or a
/// plain list a team maintains. Loaded and refreshed off the event loops; the rules that use it
/// fail closed until it first loads.
public struct IPSetSettings: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// Fetched with libcurl: https, or plain http to loopback only (as key URLs).
        case url(String)
        /// A local file, read at start and re-read at every refresh. The path is used as
        /// written (relative paths from the working directory, like every file in the config).
        case file(String)
    }

    public enum Format: String, Sendable, CaseIterable {
        /// Microsoft's Service Tags JSON: the `addressPrefixes` of the `values[]` entries whose
        /// `name` is ``IPSetSettings/tag``.
        case azureServiceTags = "azure_service_tags"
        /// One prefix per line; `#` starts a comment; blank lines are skipped.
        case cidrList = "cidr_list"
    }

    public var name: String
    public var source: Source
    public var format: Format
    /// The service tag to take (`AzureFrontDoor.Backend`); only for `azure_service_tags`.
    public var tag: String?
    /// How often the document is loaded again; a failed load retries sooner, with backoff.
    public var refresh: Duration = .seconds(6 * 3600)
    /// A PEM bundle trusted instead of the system's roots for an https `url`.
    public var ca: LocatedValue?
    /// Where the set is in the file (`ip_sets.NAME`), for errors found after parsing.
    public var origin: LocatedValue

    public init(name: String, source: Source, format: Format, tag: String? = nil, origin: LocatedValue) {
        self.name = name
        self.source = source
        self.format = format
        self.tag = tag
        self.origin = origin
    }

    /// Shortest refresh accepted: a second, so tests can watch a refresh happen.
    public static let minimumRefresh: Duration = .seconds(1)

    /// Decodes the `ip_sets` mapping of name → settings, in file order.
    static func decodeAll(_ node: ConfigNode) throws(ConfigError) -> [IPSetSettings] {
        var sets: [IPSetSettings] = []
        for (name, entry) in try node.namedEntries("ip set", needs: "url or file, and format") { sets.append(try decode(entry, name: name)) }
        return sets
    }

    static func decode(_ node: ConfigNode, name: String) throws(ConfigError) -> IPSetSettings {
        var map = try node.mapping()
        let urlNode = map.optional("url")
        let fileNode = map.optional("file")
        let source: Source
        switch (urlNode, fileNode) {
        case (let n?, nil):
            source = .url(try IssuerSettings.fetchURL(n))
        case (nil, let n?):
            let path = try n.string()
            guard !path.isEmpty else { throw n.error("the file path is empty") }
            source = .file(path)
        default:
            throw node.error("ip set '\(name)' needs exactly one of url or file")
        }
        let formatNode = try map.required("format")
        var settings = IPSetSettings(name: name, source: source, format: try formatNode.choice(),
                                     origin: LocatedValue(value: name, key: node.path, line: node.line))
        let tagNode = map.optional("tag")
        switch settings.format {
        case .azureServiceTags:
            guard let tagNode else {
                throw node.error("ip set '\(name)': azure_service_tags needs the tag to take, e.g. tag: AzureFrontDoor.Backend")
            }
            let tag = try tagNode.string()
            guard !tag.isEmpty else { throw tagNode.error("the tag is empty; name a service tag such as AzureFrontDoor.Backend") }
            settings.tag = tag
        case .cidrList:
            if let tagNode { throw tagNode.error("tag is for azure_service_tags; a cidr_list takes every prefix in the document") }
        }
        if let n = map.optional("refresh") {
            let refresh = try n.duration()
            guard refresh >= Self.minimumRefresh else { throw n.error("refresh must be at least 1s") }
            settings.refresh = refresh
        }
        if let n = map.optional("ca") {
            guard case .url = source else { throw n.error("ca is for sets fetched over https; this set reads a file") }
            settings.ca = try n.located()
        }
        try map.finish()
        return settings
    }
}
