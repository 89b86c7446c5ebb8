import Synchronization

/// A worker's free list of raw storage blocks of one size, which ``IOBuffer``s borrow while they
/// hold bytes and give back once empty (``IOBuffer/shed()``).
///
/// A connection's buffers are objects it keeps for its whole life; their storage is what comes
/// and goes. So a kept-alive connection waiting for its next request holds no storage, and the
/// request path moves plain pointers (no reference counting, no allocation) when it takes or
/// gives a block. Reusing blocks last-in first-out keeps the same few pages warm, and resident
/// memory follows the bytes in flight rather than the connections open (malloc per connection
/// fragmented glibc's arenas under churn). Owned by one loop's thread; only ``freeCount`` and
/// ``lentCount`` may be read from elsewhere (atomic mirrors, for leak checks and tests).
public final class BlockPool: @unchecked Sendable {
    public let blockSize: Int
    /// Free blocks kept at most; more go back to malloc.
    public let maxFree: Int
    /// The free blocks, a stack of at most `maxFree`: plain memory rather than an Array, so taking
    /// and giving are a few instructions (no uniqueness check, no growth path).
    private let free: UnsafeMutablePointer<UnsafeMutableRawPointer>
    private var freeTop = 0
    private var lent = 0
    private let freeMirror = Atomic<Int>(0)
    private let lentMirror = Atomic<Int>(0)
    /// Where a buffer without storage reads: most reads of an idle connection find nothing
    /// (EAGAIN, or the first read after accept), and those should not take a block. A read that
    /// does bring bytes keeps this block (``lendScratch()``). Not counted as lent.
    public private(set) var scratch: UnsafeMutableRawPointer

    public init(blockSize: Int = 16 * 1024, maxFree: Int = 256) {
        self.blockSize = blockSize
        self.maxFree = maxFree
        scratch = .allocate(byteCount: blockSize, alignment: 16)
        free = .allocate(capacity: max(maxFree, 1))
    }

    deinit {
        scratch.deallocate()
        for index in 0..<freeTop { free[index].deallocate() }
        free.deallocate()
    }

    /// A block of ``blockSize`` bytes, reused when one is free.
    @inline(__always)
    public func take() -> UnsafeMutableRawPointer {
        lent += 1
        lentMirror.store(lent, ordering: .relaxed)
        guard freeTop > 0 else { return .allocate(byteCount: blockSize, alignment: 16) }
        freeTop -= 1
        freeMirror.store(freeTop, ordering: .relaxed)
        return free[freeTop]
    }

    /// Takes `block` back for reuse, or lets malloc have it when enough are free.
    @inline(__always)
    public func give(_ block: UnsafeMutableRawPointer) {
        lent -= 1
        lentMirror.store(lent, ordering: .relaxed)
        guard freeTop < maxFree else {
            block.deallocate()
            return
        }
        free[freeTop] = block
        freeTop += 1
        freeMirror.store(freeTop, ordering: .relaxed)
    }

    /// The scratch block, which a read has just filled, becomes the reader's (counted as lent);
    /// another takes its place. No bytes are copied.
    @inline(__always)
    public func lendScratch() -> UnsafeMutableRawPointer {
        let filled = scratch
        // take() counts one more block lent: the filled one, now the reader's.
        scratch = take()
        return filled
    }

    /// Blocks waiting for reuse; safe to read from any thread.
    public var freeCount: Int { freeMirror.load(ordering: .relaxed) }

    /// Blocks buffers hold now; safe to read from any thread (the loop thread is the only
    /// writer, so a load and a store suffice).
    public var lentCount: Int { lentMirror.load(ordering: .relaxed) }
}
