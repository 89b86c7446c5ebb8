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

    /// Lays conditional ranks out in one array, sorted per node; call once after all inserts.
    mutating func finish() {
        for (index, ranks) in pending.sorted(by: { $0.key < $1.key }) {
            nodes[index].conditionalStart = Int32(conditional.count)
            nodes[index].conditionalCount = Int32(ranks.count)
            conditional.append(contentsOf: ranks.sorted())
        }
        pending = [:]
    }

    /// The lowest rank among prefixes containing `key`; a conditional rank counts only if
    /// `accept(rank)` says so, and is asked only when it would beat what was found already.
    @inline(__always)
    func lookup(_ key: IPAddress, accept: (Int32) -> Bool) -> Int32 {
        var best = Int32.max
        var hasConditional = false
        nodes.withUnsafeBufferPointer { nodes in
            var index = 0
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
