import EventLoop
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

final class Probe: TimerHandler {
    var timer = TimerSlot()
    var fired: [Int64] = []
    func deadlinePassed(now: Int64) { fired.append(now) }
}

@Suite("Event loop")
struct EventLoopTests {
    @Test func aDeadlineFiresOnceAfterItPasses() throws {
        let loop = try EventLoop()
        let probe = Probe()
        loop.setDeadline(probe, at: loop.now + 20)
        for _ in 0..<20 where probe.fired.isEmpty { try loop.runOnce(maxWaitMillis: 50) }
        #expect(probe.fired.count == 1)
        try loop.runOnce(maxWaitMillis: 30)
        #expect(probe.fired.count == 1)
    }

    @Test func pushingADeadlineBackDelaysIt() throws {
        let loop = try EventLoop()
        let probe = Probe()
        let start = loop.now
        loop.setDeadline(probe, at: start + 10)
        loop.setDeadline(probe, at: start + 80)
        for _ in 0..<40 where probe.fired.isEmpty { try loop.runOnce(maxWaitMillis: 20) }
        #expect(probe.fired.count == 1)
        #expect((probe.fired.first ?? 0) - start >= 80)
    }

    @Test func aClearedDeadlineNeverFires() throws {
        let loop = try EventLoop()
        let probe = Probe()
        loop.setDeadline(probe, at: loop.now + 5)
        loop.clearDeadline(probe)
        for _ in 0..<5 { try loop.runOnce(maxWaitMillis: 10) }
        #expect(probe.fired.isEmpty)
    }

    @Test func executeWakesTheLoopFromAnotherThread() throws {
        let loop = try EventLoop()
        let box = LoopBox(loop)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(box).toOpaque()
        pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<LoopBox>.fromOpaque(raw).takeRetainedValue()
            usleep(20_000)
            box.loop.execute { box.flag.store(true, ordering: .relaxed) }
            return nil
        }, context)
        let start = Sys.monotonicMillis()
        while !box.flag.load(ordering: .relaxed) && Sys.monotonicMillis() - start < 2000 {
            try loop.runOnce(maxWaitMillis: 1000)
        }
        pthread_join(thread, nil)
        let flagged = box.flag.load(ordering: .relaxed)
        #expect(flagged)
        // The wake-up came from the eventfd, long before the 1 s epoll timeout.
        #expect(Sys.monotonicMillis() - start < 900)
    }

    @Test func bufferGrowsCompactsAndFormatsNumbers() {
        let buffer = IOBuffer(capacity: 64)
        buffer.append("0123456789")
        buffer.consume(4)
        buffer.append(decimal: 1_234_567_890)
        buffer.append(byte: UInt8(ascii: " "))
        buffer.append(hex: 0xBEEF)
        #expect(String(decoding: buffer.readable, as: UTF8.self) == "4567891234567890 beef")
        let big = [UInt8](repeating: 7, count: 1000)
        big.withUnsafeBytes { buffer.append($0) }
        #expect(buffer.readableBytes == 21 + 1000)
        buffer.consume(buffer.readableBytes)
        #expect(buffer.readerIndex == 0 && buffer.writerIndex == 0)
    }
}

final class LoopBox: @unchecked Sendable {
    // Only `execute` (thread-safe) is called on the loop from the other thread.
    let loop: EventLoop
    let flag = Atomic<Bool>(false)
    init(_ loop: EventLoop) { self.loop = loop }
}
