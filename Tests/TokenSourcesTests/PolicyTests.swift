import Testing
import KeyFetcher
@testable import TokenSources

/// The pure parts: when to refresh, how long to wait after failures, how answers are read.
@Suite("Token source policies")
struct PolicyTests {
    @Test func refreshIsAtTheEarlierOfFiveMinutesAheadAndHalfTheLife() {
        // An hour: half its life. Eight minutes: five minutes ahead. Short tokens: half.
        #expect(RefreshSchedule(lifetimeMillis: 3_600_000).refreshAfter == 1_800_000)
        #expect(RefreshSchedule(lifetimeMillis: 480_000).refreshAfter == 180_000)
        #expect(RefreshSchedule(lifetimeMillis: 360_000).refreshAfter == 180_000)
        #expect(RefreshSchedule(lifetimeMillis: 4_000).refreshAfter == 2_000)
        // Used until shortly before expiry: a tenth of the life, at most 10 s.
        #expect(RefreshSchedule(lifetimeMillis: 3_600_000).usableFor == 3_590_000)
        #expect(RefreshSchedule(lifetimeMillis: 4_000).usableFor == 3_600)
        for lifetime: Int64 in [1_000, 60_000, 600_000, 5_400_000, 86_400_000] {
            let schedule = RefreshSchedule(lifetimeMillis: lifetime)
            #expect(schedule.refreshAfter > 0 && schedule.refreshAfter < schedule.usableFor && schedule.usableFor < lifetime)
        }
    }

    @Test func backoffDoublesFromOneSecondToFiveMinutesWithJitter() {
        let backoff = Backoff()
        let highest = { (range: ClosedRange<Int64>) in range.upperBound }
        let lowest = { (range: ClosedRange<Int64>) in range.lowerBound }
        #expect((1...10).map { backoff.delay(afterFailures: $0, random: highest) }
                == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000])
        #expect(backoff.delay(afterFailures: 1, random: lowest) == 750)
        #expect(backoff.delay(afterFailures: 1_000, random: highest) == 300_000)
        #expect(backoff.delay(afterFailures: 1_000, random: lowest) == 225_000)
        for failures in 1...40 {
            let delay = backoff.delay(afterFailures: failures)
            #expect(delay >= 750 && delay <= 300_000)
        }
    }

    @Test func entraAnswersAreRead() {
        let v2 = TokenAnswer.read(status: 200, body: Array(#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"t.u.v"}"#.utf8),
                                  shape: .entra, wallNow: 0)
        #expect(v2 == .success(TokenAnswer(accessToken: "t.u.v", expiresIn: 3599)))
        let v1 = TokenAnswer.read(status: 200, body: Array(#"{"token_type":"Bearer","expires_in":"3599","access_token":"t"}"#.utf8),
                                  shape: .entra, wallNow: 0)
        #expect(v1 == .success(TokenAnswer(accessToken: "t", expiresIn: 3599)))
        let mi = TokenAnswer.read(status: 200, body: Array(#"{"access_token":"t","expires_on":"1000600","token_type":"Bearer"}"#.utf8),
                                  shape: .managedIdentity, wallNow: 1_000_000)
        #expect(mi == .success(TokenAnswer(accessToken: "t", expiresIn: 600)))
    }

    @Test(arguments: [
        (200, #"{"access_token":"t"}"#, "bad_response"),
        (200, #"{"access_token":"t","expires_in":0}"#, "bad_response"),
        (200, #"{"access_token":"t","expires_in":5,"token_type":"pop"}"#, "bad_response"),
        (200, #"{"access_token":"a b","expires_in":5}"#, "bad_response"),
        (200, #"{"access_token":"t","expires_in":5,"expires_in":6}"#, "bad_response"),
        (200, "not json", "bad_response"),
        (400, #"{"error":"invalid_scope","error_description":"AADSTS1002012: The provided value for scope x is not valid.\r\nTrace ID: a","error_codes":[1002012]}"#, "AADSTS1002012"),
        (401, #"{"error":"invalid_client"}"#, "invalid_client"),
        (400, #"{"statusCode":400,"message":"bad resource"}"#, "http_400"),
        (503, "<html>down</html>", "http_503"),
    ])
    func refusalsAndBadAnswersHaveACode(status: Int, body: String, code: String) {
        guard case .failure(let error) = TokenAnswer.read(status: status, body: Array(body.utf8), shape: .managedIdentity, wallNow: 0) else {
            Issue.record("accepted: \(body)")
            return
        }
        #expect(error.code == code)
        #expect(!error.reason.contains("Trace ID"))
    }

    @Test func formEncodingKeepsEveryByteOfASecret() {
        #expect(String(decoding: FormEncoding.encode([("a", "x+y=z&w/ é"), ("b", "-._~")]), as: UTF8.self)
                == "a=x%2By%3Dz%26w%2F%20%C3%A9&b=-._~")
    }
}
