@testable import EventLoop
import Testing

final class Sleeper: TimerHandler {
    var timer = TimerSlot()
    let id: Int
    var firedAt: [Int64] = []
    init(id: Int) { self.id = id }
    func deadlinePassed(now: Int64) { firedAt.append(now) }
}

@Suite("Timer heap")
struct TimerHeapTests {
    @Test func aClearedDeadlineLetsGoOfItsHandlerAtOnce() throws {
        // The soak's leak: a closed connection stayed alive until its old idle deadline because
        // the heap entry still held it.
        let loop = try EventLoop()
        weak var gone: Sleeper?
        do {
            let sleeper = Sleeper(id: 0)
            gone = sleeper
            loop.setDeadline(sleeper, at: loop.now + 60_000)
            loop.setDeadline(sleeper, at: loop.now + 120_000)
            loop.clearDeadline(sleeper)
        }
        #expect(gone == nil)
        #expect(loop.timerCount == 0)
    }

    @Test func aHandlerHasOneEntryHoweverOftenItsDeadlineMoves() {
        var heap = TimerHeap()
        let sleeper = Sleeper(id: 0)
        for step in 0..<1000 { heap.set(sleeper, at: Int64(10_000 - step)) }
        for step in 0..<1000 { heap.set(sleeper, at: Int64(20_000 + step)) }
        #expect(heap.count == 1)
        #expect(heap.popDue(now: 20_998) == nil)
        #expect(heap.popDue(now: 20_999) === sleeper)
        #expect(heap.count == 0)
    }

    /// Random sets, push-backs and clears against a plain model: every handler comes out once,
    /// at its latest deadline, in deadline order, and cleared ones never.
    @Test func randomScheduleMatchesAModel() {
        var rng = SplitMix(seed: 0x5EED)
        var heap = TimerHeap()
        let sleepers = (0..<300).map { Sleeper(id: $0) }
        var model: [Int: Int64] = [:]
        var now: Int64 = 0
        for _ in 0..<20_000 {
            let sleeper = sleepers[Int(rng.next() % 300)]
            switch rng.next() % 4 {
            case 0:
                heap.clear(sleeper)
                model[sleeper.id] = nil
            default:
                let deadline = now + Int64(rng.next() % 500)
                heap.set(sleeper, at: deadline)
                model[sleeper.id] = deadline
            }
            if rng.next() % 8 == 0 {
                now += Int64(rng.next() % 50)
                var fired: [(Int, Int64)] = []
                while let handler = heap.popDue(now: now) {
                    let s = handler as! Sleeper
                    fired.append((s.id, model[s.id] ?? -1))
                    model[s.id] = nil
                }
                let due = model.filter { $0.value <= now }
                #expect(due.isEmpty, "due but not fired: \(due)")
                #expect(fired.allSatisfy { $0.1 >= 0 && $0.1 <= now }, "fired without a due deadline: \(fired)")
            }
        }
        #expect(heap.count == model.count)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
