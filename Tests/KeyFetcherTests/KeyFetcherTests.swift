import Config
import Foundation
import KeyFetcher
import Synchronization
import Testing
import TestSupport
import Tokens

/// What the fetcher published, in order.
final class Published: Sendable {
    let sets = Mutex<[(String, [String])]>([])
    func record(_ issuer: String, _ set: KeySet) { sets.withLock { $0.append((issuer, set.keys.compactMap(\.kid))) } }
    var count: Int { sets.withLock { $0.count } }
    var lastKids: [String] { sets.withLock { $0.last?.1 ?? [] } }
}

func jwks(_ kids: [String]) throws -> [UInt8] {
    let pem = try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TokensTests/Fixtures/keys/p256.pem"))
    let key = try SigningKey(pem: Array(pem))
    return Array(JSONValue.object([("keys", .array(kids.map { key.publicJWK(kid: $0) }))]).serialized.utf8)
}

@Suite("Key fetching over HTTP", .serialized)
struct KeyFetcherTests {
    static let issuer = "https://issuer.test/"

    func settings(unknownKid: Duration = .seconds(1), minRefresh: Duration = .seconds(1)) -> KeyRefreshSettings {
        var settings = KeyRefreshSettings()
        settings.unknownKidInterval = unknownKid
        settings.minRefresh = minRefresh
        settings.fetchTimeout = .seconds(2)
        return settings
    }

    @Test func aJWKSURLIsFetchedAndPublishedBeforeServing() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        server.set("/keys", .init(body: try jwks(["k1"])))
        let published = Published()
        let fetcher = KeyFetcher(sources: [.init(issuer: Self.issuer, location: .jwksURL(server.url("/keys")))], settings: settings()) {
            published.record($0, $1)
        }
        fetcher.start()
        defer { fetcher.stop() }
        #expect(fetcher.isReady)
        #expect(published.lastKids == ["k1"])
    }

    @Test func discoveryChecksTheIssuerThenFetchesJwksURI() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        server.set("/keys", .init(body: try jwks(["k1"])))
        server.set("/.well-known/openid-configuration", .init(body: Array("{\"issuer\":\"\(Self.issuer)\",\"jwks_uri\":\"\(server.url("/keys"))\"}".utf8)))
        server.set("/evil/.well-known/openid-configuration", .init(body: Array("{\"issuer\":\"https://evil/\",\"jwks_uri\":\"\(server.url("/keys"))\"}".utf8)))
        let published = Published()
        let good = KeyFetcher(sources: [.init(issuer: Self.issuer, location: .discovery(url: server.url("/.well-known/openid-configuration")))],
                              settings: settings()) { published.record($0, $1) }
        good.start()
        good.stop()
        #expect(published.lastKids == ["k1"])
        let mismatched = Published()
        let bad = KeyFetcher(sources: [.init(issuer: Self.issuer, location: .discovery(url: server.url("/evil/.well-known/openid-configuration")))],
                             settings: settings()) { mismatched.record($0, $1) }
        bad.start()
        bad.stop()
        #expect(mismatched.count == 0)
        #expect(!bad.isReady)
    }

    @Test func rotationIsPickedUpThroughAnUnknownKidAndRateLimited() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        server.set("/keys", .init(body: try jwks(["k1"])))
        let published = Published()
        let fetcher = KeyFetcher(sources: [.init(issuer: Self.issuer, location: .jwksURL(server.url("/keys")))],
                                 settings: settings(unknownKid: .seconds(1))) { published.record($0, $1) }
        fetcher.start()
        defer { fetcher.stop() }
        #expect(server.count("/keys") == 1)
        // The provider rotates; a token with the new kid arrives, many times over.
        server.set("/keys", .init(body: try jwks(["k2"])))
        for _ in 0..<20 { fetcher.requestRefresh(issuer: Self.issuer) }
        #expect(waitUntil(2) { published.lastKids == ["k2"] })
        usleep(200_000)
        for _ in 0..<20 { fetcher.requestRefresh(issuer: Self.issuer) }
        usleep(300_000)
        // One early fetch for the whole flood, none for the second flood within the interval.
        #expect(server.count("/keys") == 2)
        fetcher.requestRefresh(issuer: "https://not-configured/")
        usleep(100_000)
        #expect(server.count("/keys") == 2)
    }

    /// A flood of tokens naming one unknown kid asks the provider once per unknown_kid_ttl,
    /// however short the per-issuer interval; a different unknown kid may ask again.
    @Test func theSameUnknownKidAsksOncePerTTL() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        server.set("/keys", .init(body: try jwks(["k1"])))
        let fetcher = KeyFetcher(sources: [.init(issuer: Self.issuer, location: .jwksURL(server.url("/keys")))],
                                 settings: settings(unknownKid: .milliseconds(50))) { _, _ in }
        fetcher.start()
        defer { fetcher.stop() }
        #expect(server.count("/keys") == 1)
        for _ in 0..<30 {
            fetcher.requestRefresh(issuer: Self.issuer, kid: "never-published")
            usleep(30_000)
        }
        #expect(waitUntil(2) { server.count("/keys") == 2 })
        usleep(200_000)
        #expect(server.count("/keys") == 2, "the same unknown kid asked again within its TTL")
        fetcher.requestRefresh(issuer: Self.issuer, kid: "another-one")
        #expect(waitUntil(2) { server.count("/keys") == 3 })
    }

    @Test func aDeadProviderKeepsTheLastGoodKeys() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        server.set("/keys", .init(body: try jwks(["k1"])))
        let published = Published()
        let fetcher = KeyFetcher(sources: [.init(issuer: Self.issuer, location: .jwksURL(server.url("/keys")))],
                                 settings: settings(unknownKid: .milliseconds(100))) { published.record($0, $1) }
        fetcher.start()
        defer { fetcher.stop() }
        server.failing.store(true, ordering: .relaxed)
        fetcher.requestRefresh(issuer: Self.issuer)
        #expect(waitUntil(2) { server.count("/keys") >= 2 })
        // Garbage and errors are not published; what workers hold stays the last good set.
        server.failing.store(false, ordering: .relaxed)
        server.set("/keys", .init(body: Array("{\"keys\":[]}".utf8)))
        usleep(150_000)
        fetcher.requestRefresh(issuer: Self.issuer)
        #expect(waitUntil(2) { server.count("/keys") >= 3 })
        server.set("/keys", .init(status: 500, body: []))
        usleep(150_000)
        fetcher.requestRefresh(issuer: Self.issuer)
        #expect(waitUntil(2) { server.count("/keys") >= 4 })
        #expect(published.count == 1)
        #expect(published.lastKids == ["k1"])
        #expect(fetcher.isReady)
    }

    @Test func cacheControlMaxAgeDrivesTheScheduleWithinItsBounds() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        server.set("/keys", .init(body: try jwks(["k1"]), headers: ["Cache-Control: public, max-age=0"]))
        let fetcher = KeyFetcher(sources: [.init(issuer: Self.issuer, location: .jwksURL(server.url("/keys")))],
                                 settings: settings(minRefresh: .seconds(1))) { _, _ in }
        fetcher.start()
        defer { fetcher.stop() }
        // max-age=0 is clamped up to min_refresh (1 s): a second fetch after about a second, not a storm.
        usleep(500_000)
        #expect(server.count("/keys") == 1)
        #expect(waitUntil(3) { server.count("/keys") >= 2 })
        #expect(server.count("/keys") <= 3)
    }

    @Test func anOversizedBodyIsRefused() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        server.set("/keys", .init(body: [UInt8](repeating: 0x20, count: 2 << 20)))
        let published = Published()
        let fetcher = KeyFetcher(sources: [.init(issuer: Self.issuer, location: .jwksURL(server.url("/keys")))], settings: settings()) {
            published.record($0, $1)
        }
        fetcher.start()
        fetcher.stop()
        #expect(published.count == 0)
        #expect(!fetcher.isReady)
    }
}
