#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer with a read and a write index, owned by one connection on one loop.
///
/// Bytes are appended at `writerIndex` and consumed from `readerIndex`; once all is consumed the
/// indices return to zero, so a keep-alive connection reuses the same memory for every request.
/// A lending buffer (``init(lendingFrom:)``) has storage only while it holds bytes: it borrows a
/// block from its ``BlockPool`` when first written or read into, and ``shed()`` gives it back.
public final class IOBuffer {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public private(set) var readerIndex = 0
    public private(set) var writerIndex = 0
    /// Where a lending buffer's storage comes from and goes back to; nil: its own, for its life.
    /// Used through optional chaining, never bound to a local: a binding costs a retain and a
    /// release on every take and give, which are per request.
    private let blocks: BlockPool?

    /// `base` of a buffer without storage: capacity 0, so never read or written through (every
    /// copy is guarded by a count). A constant, not a global, so using it costs no lazy-init check.
    @inline(__always) private static var noStorage: UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: 16).unsafelyUnwrapped
    }

    public init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 16)
        blocks = nil
    }

    /// A buffer that borrows its storage from `blocks`, none until it is first written or read into.
    public init(lendingFrom blocks: BlockPool) {
        self.blocks = blocks
        capacity = 0
        base = Self.noStorage
    }

    deinit { releaseStorage() }

    /// Whether the buffer has storage now (a lending buffer between uses has none).
    @inline(__always) public var holdsStorage: Bool { capacity > 0 }

    /// A lending buffer that holds no bytes gives its storage back (to the pool if it is one of
    /// its blocks, else to malloc: a buffer that grew for a large transfer); the next write or
    /// read takes a block again. Bytes are never dropped: a buffer with any is left as it is.
    @inline(__always)
    public func shed() {
        guard readerIndex == writerIndex, capacity > 0, blocks != nil else { return }
        releaseStorage()
        base = Self.noStorage
        capacity = 0
        readerIndex = 0
        writerIndex = 0
    }

    /// Drops every byte and, for a lending buffer, gives the storage back: for bytes whose use
    /// is over (an upstream head kept for a retry, once the exchange has ended).
    @inline(__always)
    public func dropAll() {
        readerIndex = 0
        writerIndex = 0
        shed()
    }

    private func releaseStorage() {
        guard capacity > 0 else { return }
        if capacity == blocks?.blockSize {
            blocks?.give(base)
        } else {
            base.deallocate()
        }
    }

    @inline(__always) public var readableBytes: Int { writerIndex - readerIndex }
    @inline(__always) public var writableBytes: Int { capacity - writerIndex }
    @inline(__always) public var isEmpty: Bool { writerIndex == readerIndex }

    /// The unread bytes. Valid until the next mutation.
    @inline(__always)
    public var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + readerIndex, count: writerIndex - readerIndex)
    }

    /// The unread bytes, writable in place (a parsed head's path is normalized where it lies).
    /// Valid until the next mutation.
    @inline(__always)
    public var mutableReadable: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + readerIndex, count: writerIndex - readerIndex)
    }

    @inline(__always)
    public func consume(_ count: Int) {
        readerIndex += count
        if readerIndex == writerIndex {
            readerIndex = 0
            writerIndex = 0
        }
    }

    public func clear() {
        readerIndex = 0
        writerIndex = 0
    }

    /// Makes room for `count` more bytes, first by moving unread bytes to the front, then by growing.
    @inline(__always)
    public func reserve(_ count: Int) {
        if writableBytes >= count { return }
        reserveSlow(count)
    }

    private func reserveSlow(_ count: Int) {
        if capacity == 0 {
            // A lending buffer without storage (so with no bytes): a block, or more if asked.
            if let size = blocks?.blockSize, count <= size, let block = blocks?.take() {
                base = block
                capacity = size
            } else {
                var size = max(64, 2 * (blocks?.blockSize ?? 32))
                while size < count { size *= 2 }
                base = .allocate(byteCount: size, alignment: 16)
                capacity = size
            }
            return
        }
        let unread = readableBytes
        if readerIndex > 0 && capacity - unread >= count {
            (base).copyMemory(from: base + readerIndex, byteCount: unread)
        } else {
            var newCapacity = capacity * 2
            while newCapacity - unread < count { newCapacity *= 2 }
            let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            grown.copyMemory(from: base + readerIndex, byteCount: unread)
            releaseStorage()
            base = grown
            capacity = newCapacity
        }
        readerIndex = 0
        writerIndex = unread
    }

    /// Moves unread bytes to the front so the whole tail is free for the next read.
    public func compact() {
        guard readerIndex > 0 else { return }
        let unread = readableBytes
        if unread > 0 { base.copyMemory(from: base + readerIndex, byteCount: unread) }
        readerIndex = 0
        writerIndex = unread
    }

    /// Marks `count` bytes written directly at `base + writerIndex` (after `reserve`).
    @inline(__always)
    public func advanceWriter(_ count: Int) {
        precondition(count <= writableBytes)
        writerIndex += count
    }

    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + writerIndex).copyMemory(from: source, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    @inline(__always)
    public func append(_ literal: StaticString) {
        append(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    @inline(__always)
    public func append(byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: writerIndex, as: UInt8.self)
        writerIndex += 1
    }

    /// Appends a decimal number without allocating.
    public func append(decimal value: UInt64) {
        reserve(20)
        var v = value
        var length = 0
        repeat { length += 1; v /= 10 } while v > 0
        v = value
        var i = length - 1
        while i >= 0 {
            base.storeBytes(of: UInt8(48 + v % 10), toByteOffset: writerIndex + i, as: UInt8.self)
            v /= 10
            i -= 1
        }
        writerIndex += length
    }

    /// Appends a number in lower-case hexadecimal (chunk sizes).
    public func append(hex value: UInt64) {
        reserve(16)
        var length = 0
        var v = value
        repeat { length += 1; v >>= 4 } while v > 0
        v = value
        var i = length - 1
        while i >= 0 {
            let d = UInt8(v & 0xF)
            base.storeBytes(of: d < 10 ? 48 + d : 87 + d, toByteOffset: writerIndex + i, as: UInt8.self)
            v >>= 4
            i -= 1
        }
        writerIndex += length
    }

    /// What one read did.
    public enum ReadResult: Equatable {
        /// `count` bytes arrived; `filled` means they used all the free space, so more may wait.
        case read(count: Int, filled: Bool)
        case endOfStream
        /// The socket had nothing (EAGAIN).
        case wouldBlock
        /// The buffer already holds `maxHeld` bytes: the socket was not read, it may still be readable.
        case full
    }

    /// Makes room for one read so the buffer holds at most `limit` bytes (moving unread bytes to
    /// the front, or growing) and returns the free space to read into at `base + writerIndex`.
    /// A lending buffer without storage reads into its pool's scratch block, so a read that
    /// finds nothing takes no block; ``finishRead()`` must follow.
    @inline(__always)
    public func prepareRead(maxHeld limit: Int) -> Int {
        if capacity == 0, let scratch = blocks?.scratch, let size = blocks?.blockSize {
            base = scratch
            capacity = size
        } else if writableBytes < 4096 {
            if readableBytes + 4096 > limit { compact() } else { reserve(min(capacity, limit - readableBytes)) }
        }
        return min(writableBytes, max(0, limit - readableBytes))
    }

    /// Ends a read begun with ``prepareRead(maxHeld:)``: a buffer reading into the scratch block
    /// keeps it if bytes came (its pool takes another for scratch) and is left without storage
    /// if none did.
    @inline(__always)
    public func finishRead() {
        guard base == blocks?.scratch else { return }
        if writerIndex == 0 {
            base = Self.noStorage
            capacity = 0
        } else {
            _ = blocks?.lendScratch()
        }
    }

    /// Reads from `fd` into free space, growing to hold at most `limit` bytes.
    @inline(__always)
    public func read(from fd: Int32, maxHeld limit: Int) throws(SystemError) -> ReadResult {
        let space = prepareRead(maxHeld: limit)
        defer { finishRead() }
        guard space > 0 else { return .full }
        switch try Sys.read(fd, base + writerIndex, space) {
        case .processed(let n):
            if n == 0 { return .endOfStream }
            writerIndex += n
            return .read(count: n, filled: n == space)
        case .wouldBlock:
            return .wouldBlock
        }
    }

    /// Writes unread bytes to `fd`; returns true when all were written.
    @inline(__always)
    public func write(to fd: Int32) throws(SystemError) -> Bool {
        while readableBytes > 0 {
            switch try Sys.write(fd, base + readerIndex, readableBytes) {
            case .processed(let n):
                consume(n)
            case .wouldBlock:
                return false
            }
        }
        return true
    }
}
