import KeyFetcher

/// How one kind of token source asks for a token. A request is built fresh for every fetch, so
/// a rotated secret, certificate or federated token file is picked up without a restart.
protocol Credential: Sendable {
    /// The request for a token for `scope` (as configured, e.g. `api://service-b/.default`);
    /// `wallNow` is epoch seconds, for assertions.
    func request(scope: String, wallNow: Int64) throws(TokenSourceError) -> HTTPFetch.Request

    /// The shape of the answer.
    var shape: TokenAnswer.Shape { get }
}

extension Credential {
    /// A managed identity takes a resource, not a scope: `api://service-b/.default` →
    /// `api://service-b`.
    static func resource(fromScope scope: String) -> String {
        scope.hasSuffix("/.default") ? String(scope.dropLast(9)) : scope
    }

    /// `endpoint` with `query` appended (after `&` when it already has a query).
    static func url(_ endpoint: String, _ query: [(String, String)]) -> String {
        endpoint + (endpoint.contains("?") ? "&" : "?") + FormEncoding.query(query)
    }
}
