import Synchronization

/// The metric cells of one writer thread (a worker, or one background thread), summed with all
/// other shards when the registry renders.
///
/// Get one from ``MetricsRegistry/makeShard()`` per worker and write to it only from that
/// worker's thread. Because each cell has a single writer, an update is a relaxed load and a
/// relaxed store of an `Atomic<UInt64>` (a plain `mov` on x86, no `lock` prefix): no lock, no
/// shared read-modify-write and no allocation on the request path. The scrape thread reads the
/// same cells with relaxed loads at any time; it may see a histogram's bucket before its sum,
/// which Prometheus tolerates the way every client library's lock-free histograms do.
///
/// Cells live in chunks of ``chunkSize`` that the registry adds when series are registered, so
/// series can be registered after the shards exist (a reload that adds a listener). A chunk is
/// published once with a releasing store and never moves or goes away before the shard does.
///
/// Two threads writing the same shard lose increments (never memory safety: every access is
/// atomic); that is the one rule of use.
public final class MetricsShard: @unchecked Sendable {
    // Unchecked because of the raw pointers only. Every cell and every chunk slot they point to
    // is an `Atomic`, so the writer and the scraper never race on plain memory; the pointers
    // themselves are `let`s set in init; chunk slots are filled while the registry's lock is held
    // (one filler at a time) and freed in deinit, when no other reference exists.
    typealias Cells = UnsafeMutablePointer<Atomic<UInt64>>

    static let chunkShift: UInt32 = 9
    /// Cells per chunk; a histogram series (buckets + 2 cells) must fit in one.
    public static let chunkSize = 1 << chunkShift
    static let chunkMask = UInt32(chunkSize - 1)
    static let maxChunks = 1024
    static let capacity = chunkSize * maxChunks

    private let table: UnsafeMutablePointer<Atomic<Cells?>>

    init() {
        table = .allocate(capacity: Self.maxChunks)
        for i in 0..<Self.maxChunks { (table + i).initialize(to: Atomic(nil)) }
    }

    deinit {
        for i in 0..<Self.maxChunks {
            guard let chunk = table[i].load(ordering: .acquiring) else { continue }
            chunk.deinitialize(count: Self.chunkSize)
            chunk.deallocate()
        }
        table.deinitialize(count: Self.maxChunks)
        table.deallocate()
    }

    /// Makes sure cells `0..<count` exist. Called with the registry's lock held.
    func ensureCells(_ count: Int) {
        let chunks = (count + Self.chunkSize - 1) >> Int(Self.chunkShift)
        for i in 0..<min(chunks, Self.maxChunks) where table[i].load(ordering: .relaxed) == nil {
            let chunk = Cells.allocate(capacity: Self.chunkSize)
            for j in 0..<Self.chunkSize { (chunk + j).initialize(to: Atomic(0)) }
            table[i].store(chunk, ordering: .releasing)
        }
    }

    @inline(__always)
    private func cell(_ index: UInt32) -> Cells? {
        // Acquiring pairs with the releasing store in ensureCells; on x86 it is an ordinary load.
        guard let chunk = table[Int(index >> Self.chunkShift)].load(ordering: .acquiring) else {
            // Only a handle from another registry gets here; dropping the update beats a crash.
            assertionFailure("a metric handle from another registry")
            return nil
        }
        return chunk + Int(index & Self.chunkMask)
    }

    @inline(__always)
    private static func bump(_ cell: Cells, _ amount: UInt64) {
        cell.pointee.store(cell.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    // MARK: Writing (the owning thread only)

    /// Adds one to `counter`.
    @inline(__always)
    public func increment(_ counter: Counter) {
        add(counter, 1)
    }

    /// Adds `amount` to `counter`.
    @inline(__always)
    public func add(_ counter: Counter, _ amount: UInt64) {
        guard let cell = cell(counter.cell) else { return }
        Self.bump(cell, amount)
    }

    /// Sets this shard's part of `gauge`; the exposition shows the sum over all shards.
    @inline(__always)
    public func set(_ gauge: Gauge, _ value: Double) {
        guard let cell = cell(gauge.cell) else { return }
        cell.pointee.store(value.bitPattern, ordering: .relaxed)
    }

    /// Moves this shard's part of `gauge` by `delta` (negative to decrease).
    @inline(__always)
    public func add(_ gauge: Gauge, _ delta: Double) {
        guard let cell = cell(gauge.cell) else { return }
        let old = Double(bitPattern: cell.pointee.load(ordering: .relaxed))
        cell.pointee.store((old + delta).bitPattern, ordering: .relaxed)
    }

    /// Counts `value` into the first bucket whose upper bound is at least `value` (Prometheus'
    /// `le` is inclusive) and adds it to the sum.
    @inline(__always)
    public func observe(_ histogram: Histogram, _ value: Double) {
        guard let base = cell(histogram.cell) else { return }
        let bounds = histogram.bounds
        var bucket = 0
        while bucket < bounds.count, value > bounds[bucket] { bucket += 1 }
        Self.bump(base + bucket, 1)
        let sum = base + bounds.count + 1
        let old = Double(bitPattern: sum.pointee.load(ordering: .relaxed))
        sum.pointee.store((old + value).bitPattern, ordering: .relaxed)
    }

    /// Observes a duration measured in nanoseconds (e.g. two `Sys.monotonicNanos()` readings) as
    /// seconds, the unit of the `_seconds` histograms.
    @inline(__always)
    public func observe(_ histogram: Histogram, nanoseconds: Int64) {
        observe(histogram, Double(nanoseconds) * 1e-9)
    }

    // MARK: Reading (any thread)

    /// The raw bits of one cell, read relaxed.
    func load(_ index: UInt32) -> UInt64 {
        guard let chunk = table[Int(index >> Self.chunkShift)].load(ordering: .acquiring) else { return 0 }
        return chunk[Int(index & Self.chunkMask)].load(ordering: .relaxed)
    }
}
