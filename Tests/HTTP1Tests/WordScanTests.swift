import Testing
@testable import HTTP1

/// The word-at-a-time scans against the plain byte loops they replace: every byte value at
/// every lane of a word, pairs of awkward bytes, and every bound (so every split of the tail
/// between whole words and single bytes, and every place the bytes can run out).
@Suite("Word-at-a-time scans agree with the byte classes")
struct WordScanTests {
    /// What the scans must do, one byte at a time.
    enum Expected: Equatable { case stop(Int), needMore, error }

    static func bytewise(_ bytes: [UInt8], bound: Int, stop: (UInt8) -> Bool, error: (UInt8) -> Bool = { _ in false }) -> Expected {
        var p = 0
        while p < bound {
            if stop(bytes[p]) { return .stop(p) }
            if error(bytes[p]) { return .error }
            p += 1
        }
        return .needMore
    }

    static func token(_ bytes: [UInt8], bound: Int) -> Expected {
        bytes.withUnsafeBytes { raw in
            scanToken(UnsafeRawBufferPointer(rebasing: raw[0..<bound]), from: 0, bound: bound).map(Expected.stop) ?? .needMore
        }
    }

    static func value(_ bytes: [UInt8], bound: Int) -> Expected {
        bytes.withUnsafeBytes { raw in
            do {
                return try scanFieldValue(UnsafeRawBufferPointer(rebasing: raw[0..<bound]), from: 0, bound: bound).map(Expected.stop) ?? .needMore
            } catch {
                return .error
            }
        }
    }

    static func target(_ bytes: [UInt8], bound: Int) -> (Expected, query: Int) {
        bytes.withUnsafeBytes { raw in
            var query = -1
            do {
                let end = try scanTarget(UnsafeRawBufferPointer(rebasing: raw[0..<bound]), from: 0, bound: bound, query: &query)
                return (end.map(Expected.stop) ?? .needMore, query)
            } catch {
                return (.error, query)
            }
        }
    }

    static func targetBytewise(_ bytes: [UInt8], bound: Int) -> (Expected, query: Int) {
        var query = -1
        var p = 0
        while p < bound {
            let b = bytes[p]
            guard isTargetByte(b) else { return (.stop(p), query) }
            if b == UInt8(ascii: "?"), query < 0 { query = p }
            if b == UInt8(ascii: "#") { return (.error, query) }
            p += 1
        }
        return (.needMore, query)
    }

    /// Runs of 19 bytes (two words and a tail) of each filler with `inserts` placed in them.
    static func runs(fillers: [UInt8], inserts: [[(Int, UInt8)]]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        for filler in fillers {
            for insert in inserts {
                var run = [UInt8](repeating: filler, count: 19)
                for (index, byte) in insert { run[index] = byte }
                result.append(run)
            }
        }
        return result
    }

    /// Every byte value at every position.
    static let singles: [[(Int, UInt8)]] = (0..<19).flatMap { i in (0...255).map { b in [(i, UInt8(b))] } }
    /// Bytes where the lane tests have edges, in pairs at every two positions.
    static let awkward: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x2C, 0x2D, 0x2F, 0x30, 0x39,
                                   0x3A, 0x3F, 0x40, 0x41, 0x5A, 0x5B, 0x5E, 0x5F, 0x60, 0x61, 0x7A, 0x7B, 0x7E, 0x7F,
                                   0x80, 0xA0, 0xFF]
    static let pairs: [[(Int, UInt8)]] = {
        var result: [[(Int, UInt8)]] = []
        for i in stride(from: 0, to: 19, by: 3) {
            for j in (i + 1)..<19 {
                for a in awkward { for b in awkward where (Int(a) + Int(b) + i + j) % 3 == 0 { result.append([(i, a), (j, b)]) } }
            }
        }
        return result
    }()

    /// Runs `check` on every run at every bound; returns the first few disagreements.
    static func disagreements(_ runs: [[UInt8]], _ check: ([UInt8], Int) -> Bool) -> [String] {
        var found: [String] = []
        for run in runs {
            for bound in 0...run.count where !check(run, bound) {
                if found.count < 5 { found.append("\(run) bound \(bound)") }
            }
        }
        return found
    }

    @Test func tokenScanStopsWhereTheByteLoopStops() {
        let found = Self.disagreements(Self.runs(fillers: Array("aZ0-_~".utf8), inserts: Self.singles + Self.pairs)) { run, bound in
            Self.token(run, bound: bound) == Self.bytewise(run, bound: bound, stop: { !isTChar($0) })
        }
        #expect(found.isEmpty, "\(found)")
    }

    @Test func valueScanStopsAtTheCRAndRefusesWhatTheByteLoopRefuses() {
        let found = Self.disagreements(Self.runs(fillers: [0x61, 0x20, 0x09, 0x80, 0xFF, 0x7E], inserts: Self.singles + Self.pairs)) { run, bound in
            Self.value(run, bound: bound) == Self.bytewise(run, bound: bound, stop: { $0 == 0x0D }, error: { !isFieldByte($0) })
        }
        #expect(found.isEmpty, "\(found)")
    }

    @Test func targetScanStopsNotesTheQueryAndRefusesAFragmentAsTheByteLoopDoes() {
        let found = Self.disagreements(Self.runs(fillers: Array("a/%~".utf8) + [0x80], inserts: Self.singles + Self.pairs)) { run, bound in
            let got = Self.target(run, bound: bound), expected = Self.targetBytewise(run, bound: bound)
            if case .stop = expected.0 { return got.0 == expected.0 && got.query == expected.query }
            return got.0 == expected.0
        }
        #expect(found.isEmpty, "\(found)")
    }

    static let knownNames = ["te", "host", "expect", "upgrade", "trailer", "forwarded", "connection", "keep-alive",
                             "authorization", "content-length", "x-forwarded-for", "x-forwarded-host", "proxy-connection",
                             "transfer-encoding", "x-forwarded-proto", "x-ms-client-principal", "x-ms-client-principal-id"]

    /// Every known name in random case, and with each byte in turn replaced by every byte value
    /// (in lower and upper case), placed at an odd offset in a larger buffer.
    @Test func headerKindsByWordsMatchTheBytewiseCompare() {
        var random = SplitMix(seed: 0xC1A5)
        var found: [String] = []
        func check(_ name: [UInt8]) {
            let buffer = [UInt8](repeating: 0x61, count: 3) + name + [UInt8(ascii: ":")]
            buffer.withUnsafeBytes { raw in
                let range = 3..<(3 + name.count)
                if HeaderKind.classify(raw, range) != referenceClassify(raw, range), found.count < 5 {
                    found.append(String(decoding: name, as: UTF8.self).debugDescription)
                }
            }
        }
        for known in Self.knownNames {
            let lower = Array(known.utf8)
            for _ in 0..<64 {
                check(lower.map { random.below(2) == 0 ? $0 : ($0 &- 97 < 26 ? $0 - 32 : $0) })
            }
            for upper in [lower, Array(known.uppercased().utf8)] {
                for i in upper.indices {
                    for b in 0...255 {
                        var name = upper
                        name[i] = UInt8(b)
                        check(name)
                    }
                }
            }
        }
        #expect(found.isEmpty, "\(found)")
    }
}
