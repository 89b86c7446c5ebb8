/// The timer state a ``TimerHandler`` carries; only ``EventLoop`` changes it.
public struct TimerSlot: Sendable {
    /// When the handler wants to be called; `.max` for never.
    public internal(set) var deadline: Int64 = .max
    /// The deadline the handler's heap entry is ordered by; at most `deadline` (a later deadline
    /// is taken up lazily when the entry comes to the top).
    var scheduled: Int64 = .max
    /// Where the handler's one entry sits in the heap; -1 when it has none.
    var heapIndex = -1

    public init() {}
}

public protocol TimerHandler: AnyObject {
    var timer: TimerSlot { get set }
    func deadlinePassed(now: Int64)
}

/// A min-heap of timer handlers with at most one entry per handler, each entry knowing its place.
///
/// Pushing a deadline back (every read on a busy connection does) is an integer store: the entry
/// keeps its earlier key and is re-sorted only when it reaches the top. Clearing removes the entry
/// at once, which matters more than it looks: an entry holds its handler strongly, so a lazily
/// cleared entry kept every closed connection (and its buffers) alive until its old deadline, and
/// a churn of short connections grew memory by the idle timeout's worth of them.
struct TimerHeap {
    private struct Entry {
        var deadline: Int64
        let handler: any TimerHandler
    }

    private var entries: [Entry] = []

    var count: Int { entries.count }

    /// The earliest key in the heap: no handler is due before it.
    var earliest: Int64? { entries.first?.deadline }

    mutating func set(_ handler: some TimerHandler, at deadline: Int64) {
        handler.timer.deadline = deadline
        let index = handler.timer.heapIndex
        if index < 0 {
            handler.timer.scheduled = deadline
            handler.timer.heapIndex = entries.count
            entries.append(Entry(deadline: deadline, handler: handler))
            siftUp(entries.count - 1)
        } else if deadline < handler.timer.scheduled {
            handler.timer.scheduled = deadline
            entries[index].deadline = deadline
            siftUp(index)
        }
    }

    mutating func clear(_ handler: some TimerHandler) {
        handler.timer.deadline = .max
        let index = handler.timer.heapIndex
        guard index >= 0 else { return }
        remove(at: index)
    }

    /// Takes out the next handler whose deadline is at or before `now`, re-keying entries that
    /// were pushed back on the way. The caller calls it back outside this mutation, so the
    /// callback may set or clear timers freely.
    mutating func popDue(now: Int64) -> (any TimerHandler)? {
        while let top = entries.first, top.deadline <= now {
            let handler = top.handler
            let wanted = handler.timer.deadline
            if wanted <= now {
                remove(at: 0)
                handler.timer.deadline = .max
                return handler
            }
            handler.timer.scheduled = wanted
            entries[0].deadline = wanted
            siftDown(0)
        }
        return nil
    }

    private mutating func remove(at index: Int) {
        let handler = entries[index].handler
        handler.timer.heapIndex = -1
        handler.timer.scheduled = .max
        let last = entries.count - 1
        if index != last {
            entries.swapAt(index, last)
            entries[index].handler.timer.heapIndex = index
        }
        entries.removeLast()
        if index < entries.count {
            siftDown(index)
            siftUp(index)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            swap(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count && entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count && entries[right].deadline < entries[smallest].deadline { smallest = right }
            if smallest == parent { return }
            swap(parent, smallest)
            parent = smallest
        }
    }

    private mutating func swap(_ a: Int, _ b: Int) {
        entries.swapAt(a, b)
        entries[a].handler.timer.heapIndex = a
        entries[b].handler.timer.heapIndex = b
    }
}
