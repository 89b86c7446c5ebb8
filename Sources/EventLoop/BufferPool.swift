import Synchronization

/// A worker's free list of ``IOBuffer``s of one standard size.
///
/// Connections come and go far faster than their memory should: taking two 16 KiB buffers from
/// malloc per connection and freeing them at its close left glibc's arenas fragmented under
/// churn (resident memory kept rising with the number of connections served while the bytes in
/// use stayed flat). Reusing buffers last-in first-out keeps the same few pages warm and makes
/// resident memory follow the number of connections open at once, not the number ever served.
/// Owned by one loop's thread, like the buffers themselves; only ``freeCount`` and ``lentCount``
/// may be read from elsewhere (atomic mirrors, for leak checks, tests and metrics).
public final class BufferPool: @unchecked Sendable {
    public let bufferSize: Int
    /// Free buffers kept at most; more are handed back to malloc.
    public let maxFree: Int
    private var free: [IOBuffer] = []
    private let freeMirror = Atomic<Int>(0)
    private var lent = 0
    private let lentMirror = Atomic<Int>(0)

    public init(bufferSize: Int = 16 * 1024, maxFree: Int = 256) {
        self.bufferSize = bufferSize
        self.maxFree = maxFree
        free.reserveCapacity(maxFree)
    }

    /// An empty buffer of `bufferSize` bytes, reused when one is free.
    @inline(__always)
    public func take() -> IOBuffer {
        lent += 1
        lentMirror.store(lent, ordering: .relaxed)
        guard let buffer = free.popLast() else { return IOBuffer(capacity: bufferSize) }
        freeMirror.store(free.count, ordering: .relaxed)
        return buffer
    }

    /// Takes `buffer` back for reuse. One that grew past the standard size is let go instead, so
    /// a single large transfer does not pin its memory in the pool.
    @inline(__always)
    public func give(_ buffer: IOBuffer) {
        lent -= 1
        lentMirror.store(lent, ordering: .relaxed)
        guard free.count < maxFree, buffer.capacity == bufferSize else { return }
        buffer.clear()
        free.append(buffer)
        freeMirror.store(free.count, ordering: .relaxed)
    }

    /// Buffers waiting for reuse; safe to read from any thread.
    public var freeCount: Int { freeMirror.load(ordering: .relaxed) }

    /// Buffers taken and not given back yet: what connections hold now. Safe to read from any
    /// thread (the loop thread is the only writer, so a load and a store suffice).
    public var lentCount: Int { lentMirror.load(ordering: .relaxed) }
}
