/// A worker's free list of lending ``IOBuffer`` objects, for what needs a buffer for a while
/// rather than for its whole life (an HTTP/2 stream, an upstream request head kept for a
/// retry): taking one and giving it back moves no bytes and allocates nothing once warm.
///
/// The buffers borrow their storage from ``blocks`` while they hold bytes; a buffer given back
/// returns its storage at once, so free buffers cost only their small objects. Owned by one
/// loop's thread, like the buffers themselves; only ``freeCount`` and ``lentCount`` (the
/// blocks') may be read from elsewhere.
public final class BufferPool: @unchecked Sendable {
    /// The storage the buffers borrow; connections make their own lending buffers from it too.
    public let blocks: BlockPool
    /// Free buffer objects kept at most.
    public let maxFree: Int
    private var free: [IOBuffer] = []

    public init(bufferSize: Int = 16 * 1024, maxFree: Int = 256) {
        blocks = BlockPool(blockSize: bufferSize, maxFree: maxFree)
        self.maxFree = maxFree
        free.reserveCapacity(maxFree)
    }

    public var bufferSize: Int { blocks.blockSize }

    /// An empty lending buffer, reused when one is free.
    @inline(__always)
    public func take() -> IOBuffer {
        free.popLast() ?? IOBuffer(lendingFrom: blocks)
    }

    /// Takes back a buffer from ``take()``: its bytes are dropped and its storage returned.
    @inline(__always)
    public func give(_ buffer: IOBuffer) {
        buffer.dropAll()
        guard free.count < maxFree else { return }
        free.append(buffer)
    }

    /// Storage blocks waiting for reuse; safe to read from any thread.
    public var freeCount: Int { blocks.freeCount }

    /// Storage blocks held by buffers now; safe to read from any thread.
    public var lentCount: Int { blocks.lentCount }
}
