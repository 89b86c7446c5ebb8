import Synchronization

/// Validated tokens, so a token's signature is verified once, not on every request.
///
/// Keyed by a hash of the signature segment's tail (high-entropy, and a forger cannot choose it
/// without the key) plus the length; a hit compares the whole token, so a collision is only a
/// miss. Only valid tokens are inserted, so a flood of unique invalid tokens evicts nothing.
/// When full, an insert evicts the oldest entry (first in, first out: tokens of one identity
/// provider have about the same lifetime, so the oldest is about the first to expire), in
/// constant time: a scan for the earliest expiry would cost a full-table walk under the lock
/// for every new token once the cache is full, which a caller minting tokens could force. One
/// Mutex for all workers: the critical section is a dictionary probe and a memcmp.
public final class TokenCache: Sendable {
    struct Entry {
        let token: [UInt8]
        let identity: Identity
        let keyID: String
    }

    struct Table {
        var entries: [UInt64: Entry]
        /// Keys in insertion order from `head` on; keys removed meanwhile are skipped.
        var order: [UInt64] = []
        var head = 0

        /// Drops the oldest entry still present.
        mutating func evictOldest() -> Bool {
            while head < order.count {
                let key = order[head]
                head += 1
                if entries.removeValue(forKey: key) != nil { return true }
            }
            return false
        }

        /// Rebuilds the queue from the live keys once it is mostly consumed or stale, so it stays
        /// within a small multiple of the table.
        mutating func compactOrder() {
            // Both conditions mean at least half the queue is dead, so the rebuild is amortized
            // over as many inserts as it walks.
            guard (head > 1024 && head * 2 > order.count) || order.count > 2 * entries.count + 1024 else { return }
            order = order[head...].filter { entries[$0] != nil }
            head = 0
        }
    }

    private let entries: Mutex<Table>
    private let evicted = Atomic<Int>(0)
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
        entries = Mutex(Table(entries: [UInt64: Entry](minimumCapacity: min(capacity, 1 << 16))))
    }

    @inline(__always)
    static func key(_ token: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(token.count)
        let tail = min(token.count, 64)
        var i = token.count - tail
        while i + 8 <= token.count {
            h = (h ^ token.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            i += 8
        }
        while i < token.count {
            h = (h ^ UInt64(token[i])) &* 0x94D0_49BB_1331_11EB
            i += 1
        }
        return h ^ (h >> 32)
    }

    public var count: Int { entries.withLock { $0.entries.count } }

    /// Entries dropped to make room, since the cache was made.
    public var evictions: Int { evicted.load(ordering: .relaxed) }

    func lookup(_ token: UnsafeRawBufferPointer) -> Identity? {
        guard capacity > 0 else { return nil }
        let key = Self.key(token)
        return entries.withLock { table -> Identity? in
            guard let entry = table.entries[key], entry.token.count == token.count else { return nil }
            let same = entry.token.withUnsafeBytes { stored in
                memcmpEqual(stored, token)
            }
            return same ? entry.identity : nil
        }
    }

    func insert(_ token: UnsafeRawBufferPointer, _ identity: Identity, keyID: String) {
        guard capacity > 0 else { return }
        let key = Self.key(token)
        let entry = Entry(token: Array(token), identity: identity, keyID: keyID)
        entries.withLock { table in
            if table.entries[key] == nil {
                if table.entries.count >= capacity, table.evictOldest() { evicted.add(1, ordering: .relaxed) }
                table.order.append(key)
                table.compactOrder()
            }
            table.entries[key] = entry
        }
    }

    /// Drops the entries validated by keys that are no longer in their issuer's set.
    public func removeEntries(validatedByKeysOtherThan live: Set<String>) {
        entries.withLock { table in
            table.entries = table.entries.filter { live.contains($0.value.keyID) }
            table.compactOrder()
        }
    }

    /// Drops expired entries (called now and then, off the request path's hot loop).
    public func purge(now: Double) {
        entries.withLock { table in
            table.entries = table.entries.filter { $0.value.identity.expiresAt > now }
            table.compactOrder()
        }
    }
}

@inline(__always)
func memcmpEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard let pa = a.baseAddress, let pb = b.baseAddress else { return a.count == 0 }
    var i = 0
    while i + 8 <= a.count {
        if pa.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < a.count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
