/// A path-compressed binary trie over 128-bit keys, built once, read by many threads.
///
/// Each node holds the prefix it stands for and the values stored at exactly that prefix. A
/// lookup walks the key's path from the root and sees every stored prefix that contains the
/// key, so "lowest rank among all matching prefixes" costs one walk, never a scan of the rules.
/// Nodes live in one array and refer to each other by index: no pointers to chase through
/// reference counts, nothing allocated on lookup.
struct PrefixTrie: Sendable {
    struct Node: Sendable {
        var prefix: IPAddress
        var length: Int32
        var children: (Int32, Int32) = (-1, -1)
        /// Best (lowest) rank stored at this prefix with no condition, or Int32.max.
        var best: Int32 = .max
        /// Ranks stored here that carry a condition, ascending: `conditional[start..<start+count]`.
        var conditionalStart: Int32 = 0
        var conditionalCount: Int32 = 0
    }

    private(set) var nodes: [Node]
    private(set) var conditional: [Int32] = []

    /// A direct-indexed first level over the first 16 bits of each family (after `::ffff:` for
    /// IPv4): the path-compressed walk through those bits is ~16 dependent loads in a large
    /// table, one array read here. Built only for tables large enough to need it.
    struct Slot: Sendable {
        /// Best unconditional rank among prefixes shorter than 16 bits covering the slot.
        var best: Int32 = .max
        /// Where the walk continues: the first node of 16 bits or longer under the slot, or -1.
        /// A node of exactly 16 bits is where the walk starts, not a step taken here: which of
        /// its children to follow depends on the key's 17th bit, which the slot does not fix.
        var node: Int32 = -1
        /// Some prefix on the way carries a header condition: take the full walk instead.
        var conditional = false
    }
    private(set) var v4Slots: [Slot] = []
    private(set) var v6Slots: [Slot] = []
    static let directIndexThreshold = 512

    init() {
        nodes = [Node(prefix: IPAddress(high: 0, low: 0), length: 0)]
    }

    private var pending: [Int: [Int32]] = [:]

    /// Stores `rank` at `cidr`; `conditional` ranks are checked by the caller's predicate.
    mutating func insert(_ cidr: CIDR, rank: Int32, conditional isConditional: Bool) {
        var index = 0
        while true {
            let node = nodes[index]
            if Int(node.length) == cidr.length {
                if isConditional {
                    pending[index, default: []].append(rank)
                } else {
                    nodes[index].best = min(node.best, rank)
                }
                return
            }
            let bit = cidr.address.bit(Int(node.length))
            let child = bit == 0 ? node.children.0 : node.children.1
            if child < 0 {
                let leaf = Int32(nodes.count)
                nodes.append(Node(prefix: cidr.address, length: Int32(cidr.length)))
                setChild(index, bit, leaf)
                index = Int(leaf)
                continue
            }
            let next = nodes[Int(child)]
            let common = min(cidr.address.commonPrefixLength(next.prefix), cidr.length, Int(next.length))
            if common == Int(next.length) {
                index = Int(child)
                continue
            }
            // Split: a new inner node for the common part, holding the old child below it.
            let split = Int32(nodes.count)
            nodes.append(Node(prefix: cidr.address.masked(common), length: Int32(common)))
            setChild(index, bit, split)
            setChild(Int(split), next.prefix.bit(common), child)
            index = Int(split)
        }
    }

    private mutating func setChild(_ index: Int, _ bit: Int, _ child: Int32) {
        if bit == 0 { nodes[index].children.0 = child } else { nodes[index].children.1 = child }
    }

    /// Lays conditional ranks out in one array, sorted per node, and the nodes in depth-first
    /// order, so a lookup that follows 0-bits reads consecutive memory; call once after all inserts.
    mutating func finish() {
        for (index, ranks) in pending.sorted(by: { $0.key < $1.key }) {
            nodes[index].conditionalStart = Int32(conditional.count)
            nodes[index].conditionalCount = Int32(ranks.count)
            conditional.append(contentsOf: ranks.sorted())
        }
        pending = [:]
        var ordered: [Node] = []
        ordered.reserveCapacity(nodes.count)
        var newIndex = [Int32](repeating: -1, count: nodes.count)
        var stack: [Int32] = [0]
        while let index = stack.popLast() {
            newIndex[Int(index)] = Int32(ordered.count)
            let node = nodes[Int(index)]
            ordered.append(node)
            if node.children.1 >= 0 { stack.append(node.children.1) }
            if node.children.0 >= 0 { stack.append(node.children.0) }
        }
        for i in ordered.indices {
            let (zero, one) = ordered[i].children
            ordered[i].children = (zero >= 0 ? newIndex[Int(zero)] : -1, one >= 0 ? newIndex[Int(one)] : -1)
        }
        nodes = ordered
        if nodes.count >= Self.directIndexThreshold {
            v4Slots = buildSlots(v4: true)
            v6Slots = buildSlots(v4: false)
        }
    }

    private func buildSlots(v4: Bool) -> [Slot] {
        let boundary = v4 ? 112 : 16
        var slots = [Slot](repeating: Slot(), count: 65_536)
        for s in 0..<65_536 {
            let key = v4 ? IPAddress(high: 0, low: 0xFFFF_0000_0000 | UInt64(s) << 16) : IPAddress(high: UInt64(s) << 48, low: 0)
            var slot = Slot()
            var index = 0
            while index >= 0 {
                let node = nodes[index]
                let length = Int(node.length)
                if length >= boundary {
                    if key.sharesPrefix(node.prefix, boundary) { slot.node = Int32(index) }
                    break
                }
                guard key.sharesPrefix(node.prefix, length) else { break }
                slot.best = min(slot.best, node.best)
                if node.conditionalCount > 0 { slot.conditional = true }
                index = Int(key.bit(length) == 0 ? node.children.0 : node.children.1)
            }
            slots[s] = slot
        }
        return slots
    }

    /// The lowest rank among prefixes containing `key`; a conditional rank counts only if
    /// `accept(rank)` says so, and is asked only when it would beat what was found already.
    @inline(__always)
    func lookup(_ key: IPAddress, accept: (Int32) -> Bool) -> Int32 {
        var best = Int32.max
        var hasConditional = false
        var start = 0
        if !v4Slots.isEmpty {
            let slot = key.isIPv4 ? v4Slots[Int(truncatingIfNeeded: key.low >> 16) & 0xFFFF] : v6Slots[Int(truncatingIfNeeded: key.high >> 48)]
            best = slot.best
            hasConditional = slot.conditional
            start = Int(slot.node)
        }
        nodes.withUnsafeBufferPointer { nodes in
            var index = start
            while index >= 0 {
                let node = nodes[index]
                guard key.sharesPrefix(node.prefix, Int(node.length)) else { break }
                if node.best < best { best = node.best }
                if node.conditionalCount > 0 { hasConditional = true }
                if node.length >= 128 { break }
                index = Int(key.bit(Int(node.length)) == 0 ? node.children.0 : node.children.1)
            }
        }
        guard hasConditional else { return best }
        // Second walk only when some prefix on the path carries header conditions.
        nodes.withUnsafeBufferPointer { nodes in
            conditional.withUnsafeBufferPointer { ranks in
                var index = 0
                while index >= 0 {
                    let node = nodes[index]
                    guard key.sharesPrefix(node.prefix, Int(node.length)) else { break }
                    let start = Int(node.conditionalStart)
                    for i in start..<start + Int(node.conditionalCount) {
                        let rank = ranks[i]
                        if rank >= best { break }
                        if accept(rank) { best = rank; break }
                    }
                    if node.length >= 128 { break }
                    index = Int(key.bit(Int(node.length)) == 0 ? node.children.0 : node.children.1)
                }
            }
        }
        return best
    }
}
