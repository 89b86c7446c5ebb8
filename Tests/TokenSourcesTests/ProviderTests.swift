import DevIssuer
import Foundation
import IssuerTestSupport
import Synchronization
import Testing
import TestSupport
import Tokens
import TokenSources

/// The token provider against the dev issuer: first fetch, caching, refresh ahead, single
/// flight, and what happens when the issuer goes away.
@Suite("Token provider", .serialized)
struct ProviderTests {
    @Test func aClientSecretSourceFetchesAtRegistrationAndReusesTheToken() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let log = LogRecorder()
        let provider = try Sources.provider(issuer, log: log)
        defer { provider.stop() }
        #expect(try Sources.start(provider, "with-secret"), "\(provider.unready)")
        let token = try #require(provider.current(source: "with-secret", scope: Sources.scopeB).token)
        let claims = try DecodedJWS(token).claims
        #expect(claims["azp"]?.string == TestIssuer.serviceA)
        #expect(claims["azpacr"]?.string == "1")
        #expect(claims["aud"]?.string == TestIssuer.serviceB)
        for _ in 0..<100 { #expect(provider.current(source: "with-secret", scope: Sources.scopeB).token == token) }
        #expect(issuer.tokenRequests == 1)
        #expect(provider.fetchCount(source: "with-secret", scope: Sources.scopeB) == 1)
        // The secret (sent with its trailing newline dropped, or the issuer would have refused
        // it) and the token never reach the log.
        #expect(!log.text.contains(TestIssuer.secretA))
        #expect(!log.text.contains(token))
    }

    @Test func aClientCertificateSourceSignsAnAssertion() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let provider = try Sources.provider(issuer)
        defer { provider.stop() }
        #expect(try Sources.start(provider, "with-certificate"), "\(provider.unready)")
        let token = try #require(provider.current(source: "with-certificate", scope: Sources.scopeB).token)
        let claims = try DecodedJWS(token).claims
        #expect(claims["azpacr"]?.string == "2")
        #expect(claims["roles"] == .array([.string("Reader")]))
    }

    @Test func eachScopeHasItsOwnToken() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let provider = try Sources.provider(issuer)
        defer { provider.stop() }
        #expect(try Sources.start(provider, "with-secret", scopes: [Sources.scopeB, "api://service-c/.default"]), "\(provider.unready)")
        let b = try DecodedJWS(try #require(provider.current(source: "with-secret", scope: Sources.scopeB).token)).claims
        let c = try DecodedJWS(try #require(provider.current(source: "with-secret", scope: "api://service-c/.default").token)).claims
        #expect(b["aud"]?.string == TestIssuer.serviceB)
        #expect(c["aud"]?.string == "api://service-c")
        #expect(issuer.tokenRequests == 2)
    }

    @Test func anUnknownSourceIsUnavailableAtOnce() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let provider = try Sources.provider(issuer)
        #expect(provider.current(source: "nope", scope: Sources.scopeB).reason?.contains("no token source named 'nope'") == true)
    }

    /// Many threads ask for a pair nobody registered, all at once: one request reaches the
    /// issuer, and everyone gets that token once it is there.
    @Test func concurrentCallersCauseOneRequest() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let provider = try Sources.provider(issuer)
        defer { provider.stop() }
        try provider.start()
        let tokens = Mutex<Set<String>>([])
        let unavailable = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let deadline = Date().addingTimeInterval(10)
            // Bounded: until a token is seen, then 50 more asks; at most 10 s.
            var seen = 0
            while seen < 50 && Date() < deadline {
                switch provider.current(source: "with-secret", scope: Sources.scopeB) {
                case .token(let token):
                    tokens.withLock { _ = $0.insert(token) }
                    seen += 1
                case .unavailable:
                    unavailable.add(1, ordering: .relaxed)
                    usleep(1_000)
                }
            }
        }
        #expect(tokens.withLock { $0.count } == 1)
        #expect(issuer.tokenRequests == 1)
        #expect(provider.fetchCount(source: "with-secret", scope: Sources.scopeB) == 1)
    }

    /// A 4 s token is refreshed at half its life, before it expires: callers never go without.
    @Test func shortLivedTokensAreRefreshedAhead() throws {
        let issuer = try TestIssuer.start(lifetime: "4s")
        defer { issuer.stop() }
        let provider = try Sources.provider(issuer)
        defer { provider.stop() }
        #expect(try Sources.start(provider, "with-secret"), "\(provider.unready)")
        let first = try #require(provider.current(source: "with-secret", scope: Sources.scopeB).token)
        var gaps = 0
        var latest = first
        // Bounded: 8 s of asks every 20 ms.
        let refreshed = waitUntil(8) {
            switch provider.current(source: "with-secret", scope: Sources.scopeB) {
            case .token(let token): latest = token
            case .unavailable: gaps += 1
            }
            return issuer.tokenRequests >= 3
        }
        #expect(refreshed)
        #expect(gaps == 0)
        #expect(latest != first)
    }

    /// The issuer goes away: the token in hand is used until shortly before it expires, then
    /// calls are refused with the reason, and retries back off instead of hammering.
    @Test func whenTheIssuerFailsTheValidTokenIsUsedThenItIsUnavailable() throws {
        let issuer = try TestIssuer.start(lifetime: "3s")
        let log = LogRecorder()
        let provider = try Sources.provider(issuer, log: log)
        defer { provider.stop() }
        #expect(try Sources.start(provider, "with-secret"), "\(provider.unready)")
        let token = try #require(provider.current(source: "with-secret", scope: Sources.scopeB).token)
        let received = Date()
        issuer.stop()
        // Until the first refresh has failed, the token is still handed out.
        #expect(waitUntil(5) { provider.fetchCount(source: "with-secret", scope: Sources.scopeB) >= 2 })
        if Date().timeIntervalSince(received) < 2.0 {
            #expect(provider.current(source: "with-secret", scope: Sources.scopeB).token == token)
        }
        #expect(waitUntil(5) { provider.current(source: "with-secret", scope: Sources.scopeB).token == nil })
        let reason = try #require(provider.current(source: "with-secret", scope: Sources.scopeB).reason)
        #expect(reason.contains("transfer_failed"), "\(reason)")
        #expect(!provider.waitUntilReady(timeout: .milliseconds(100)))
        #expect(provider.unready.first?.contains("with-secret") == true)
        // About 4 s after the token arrived: the refresh at 1.5 s and retries 1 s and 2 s
        // apart at the most; never a tight loop.
        #expect(provider.fetchCount(source: "with-secret", scope: Sources.scopeB) <= 5)
        #expect(log.text.contains("transfer_failed"))
        #expect(log.text.contains("retrying in"))
    }

    /// The identity provider's refusal is kept as the reason and logged with its AADSTS code;
    /// the wrong secret itself is not logged.
    @Test func anIdentityProviderRefusalIsLoggedWithItsCode() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let wrong = try TestFiles.shared.write("wrong-secret-\(UUID().uuidString)", "not-the-secret-0123\n")
        let log = LogRecorder()
        let provider = try Sources.provider(issuer, secretFile: wrong, log: log)
        defer { provider.stop() }
        provider.register(source: "with-secret", scope: Sources.scopeB)
        try provider.start()
        #expect(!provider.waitUntilReady(timeout: .milliseconds(500)))
        #expect(waitUntil(5) { provider.fetchCount(source: "with-secret", scope: Sources.scopeB) >= 1 })
        let reason = try #require(provider.current(source: "with-secret", scope: Sources.scopeB).reason)
        #expect(reason.contains("AADSTS7000215"), "\(reason)")
        #expect(reason.contains("invalid_client"))
        #expect(log.text.contains("AADSTS7000215: invalid_client: Invalid client secret provided"), "\(log.text)")
        #expect(!log.text.contains("not-the-secret-0123"))
    }

    /// A reload keeps the tokens of sources it did not change, fetches anew for a changed one,
    /// and forgets a removed one.
    @Test func aReloadKeepsWhatDidNotChange() throws {
        let issuer = try TestIssuer.start()
        defer { issuer.stop() }
        let provider = try Sources.provider(issuer)
        defer { provider.stop() }
        #expect(try Sources.start(provider, "with-secret"), "\(provider.unready)")
        let first = try #require(provider.current(source: "with-secret", scope: Sources.scopeB).token)
        let yaml = try Sources.yaml(issuer)
        try provider.update(sources: try Sources.settings(yaml))
        // Another secret file (same secret): the settings changed, so the token is fetched anew.
        #expect(waitUntil(5) { provider.current(source: "with-secret", scope: Sources.scopeB).token.map { $0 != first } ?? false })
        #expect(issuer.tokenRequests == 2)
        let second = try #require(provider.current(source: "with-secret", scope: Sources.scopeB).token)
        try provider.update(sources: try Sources.settings(yaml))
        #expect(provider.current(source: "with-secret", scope: Sources.scopeB).token == second)
        // The same settings further down the file are the same settings.
        try provider.update(sources: try Sources.settings("# a comment\n# and another\n" + yaml))
        #expect(provider.current(source: "with-secret", scope: Sources.scopeB).token == second)
        try provider.update(sources: try Sources.settings("token_sources:\n  vm: {kind: imds}\n"))
        #expect(provider.current(source: "with-secret", scope: Sources.scopeB).reason?.contains("no token source named") == true)
        #expect(provider.sourceNames == ["vm"])
        #expect(issuer.tokenRequests == 2)
    }
}
