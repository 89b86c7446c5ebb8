import Foundation
import Synchronization
import Testing
@testable import Metrics

@Suite("Metrics under concurrent writers")
struct ConcurrencyTests {
    /// Each writer owns a shard; a scraper renders all the while. Every scrape must parse, and a
    /// counter may only grow from one scrape to the next; at the end nothing is lost.
    @Test func writersAndAScraperAtTheSameTime() throws {
        let registry = MetricsRegistry()
        let counter = try registry.counter("t_events_total", help: "").series()
        let histogram = try registry.histogram("t_latency_seconds", help: "", buckets: [0.001, 0.01]).series()
        let writers = 4, scrapesWanted = 50
        let scrapesDone = Atomic<Int>(0)
        let written = Mutex<[Int: Int]>([:])
        for w in 0..<writers {
            let shard = registry.makeShard()
            Thread.detachNewThread {
                // Rounds of 1000 until the scraper has seen enough of them (bounded either way),
                // so that writing and scraping overlap however fast either is.
                var total = 0
                for round in 0..<2_000 {
                    for _ in 0..<1_000 {
                        shard.increment(counter)
                        shard.observe(histogram, Double(w) * 0.004)
                    }
                    total += 1_000
                    if round >= 50, scrapesDone.load(ordering: .relaxed) >= scrapesWanted { break }
                }
                written.withLock { $0[w] = total }
            }
        }
        var last: UInt64 = 0
        let deadline = Date().addingTimeInterval(120)
        while written.withLock({ $0.count }) < writers && Date() < deadline {
            let s = samples(registry)
            let value = try #require(s["t_events_total"].flatMap({ UInt64($0) }))
            #expect(value >= last)
            let inf = try #require(s["t_latency_seconds_bucket{le=\"+Inf\"}"].flatMap({ UInt64($0) }))
            #expect(s["t_latency_seconds_count"] == String(inf))
            last = value
            scrapesDone.add(1, ordering: .relaxed)
        }
        let totals = written.withLock { $0 }
        try #require(totals.count == writers)
        let all = totals.values.reduce(0, +)
        let s = samples(registry)
        #expect(s["t_events_total"] == String(all))
        #expect(s["t_latency_seconds_count"] == String(all))
        #expect(s["t_latency_seconds_bucket{le=\"0.001\"}"] == String(totals[0] ?? 0))
        #expect(s["t_latency_seconds_bucket{le=\"0.01\"}"] == String(all - (totals[3] ?? 0)))
    }
}
