// Word-at-a-time scanning (SWAR, "SIMD within a register") for the long runs of a head: the
// request target, field names and field values. Eight bytes are loaded as one UInt64 and every
// lane is classified with a handful of integer operations, so a run of ordinary bytes costs a
// fraction of a comparison per byte. The first flagged lane is then looked at bytewise with the
// same byte classes as before (ByteClasses.swift): the word test only decides how far the
// common case may skip, never what is accepted.
//
// Two rules keep it safe:
// - A word is loaded only when all eight of its bytes are inside the buffer (`p + 8 <= bound`,
//   `bound <= count`); the last few bytes are always looked at one at a time.
// - Only the lowest flagged lane is trusted. The lane tests use subtraction and addition across
//   the whole word, whose borrows and carries move upward only, so every lane below the first
//   flagged one is computed exactly and the first flag is a real one; flags above it may be
//   false, and are never used (the scan restarts bytewise at the first flag).

extension UnsafeRawBufferPointer {
    /// The eight bytes at `offset`, the first in the lowest lane. The caller has checked that
    /// `offset + 8 <= count` (debug builds check it again).
    @inline(__always)
    func word(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// Lane tests on eight bytes at once. A result has the high bit of each flagged lane set.
enum Lanes {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    @inline(__always)
    static func splat(_ byte: UInt8) -> UInt64 { ones &* UInt64(byte) }

    /// Lanes below `n` (n ≤ 0x80). A lane ≥ 0x80 is never flagged: `~x` clears its high bit.
    @inline(__always)
    static func below(_ x: UInt64, _ n: UInt8) -> UInt64 {
        (x &- splat(n)) & ~x & highBits
    }

    /// Lanes equal to `byte`.
    @inline(__always)
    static func equal(_ x: UInt64, _ byte: UInt8) -> UInt64 {
        below(x ^ splat(byte), 1)
    }

    /// Lanes ≥ `n`, for a word of ASCII lanes: the high bit of `lane + (0x80 - n)` is set
    /// exactly when lane ≥ n, and a lane under 0x80 plus at most 0x80 stays under 0x100, so no
    /// carry leaves it. Above a lane ≥ 0x80 the result is not to be trusted.
    @inline(__always)
    static func atLeast(_ x: UInt64, _ n: UInt8) -> UInt64 {
        (x &+ splat(0x80 &- n)) & highBits
    }

    /// 0x20 in the lanes of `lowercase` (ASCII) that hold a letter, 0 elsewhere: ORed into
    /// input bytes it folds exactly those lanes to lower case.
    @inline(__always)
    static func letterCaseBits(_ lowercase: UInt64) -> UInt64 {
        (atLeast(lowercase, 0x61) & ~atLeast(lowercase, 0x7B)) >> 2
    }

    /// Lanes that are not a letter, digit or "-" — what nearly every field name is made of.
    /// Exact for ASCII lanes (see `atLeast`). A lane ≥ 0x80 is flagged by itself, and lanes
    /// below it are still exact.
    @inline(__always)
    static func notNameByte(_ x: UInt64) -> UInt64 {
        // Setting bit 5 folds A–Z onto a–z and leaves nothing else in a–z ("@" and "[" land on
        // "`" and "{"), so one range test covers both cases.
        let folded = x | splat(0x20)
        let letter = atLeast(folded, 0x61) & ~atLeast(folded, 0x7B)
        let digit = atLeast(x, 0x30) & ~atLeast(x, 0x3A)
        // Exact zero test of an ASCII lane: lane + 0x7F reaches the high bit unless lane == 0.
        let dash = ~((x ^ splat(0x2D)) &+ splat(0x7F)) & highBits
        return (~(letter | digit | dash) & highBits) | (x & highBits)
    }

    /// Index (0–7) of the lowest flagged lane; `mask` is nonzero.
    @inline(__always)
    static func first(_ mask: UInt64) -> Int { mask.trailingZeroBitCount &>> 3 }
}

extension UnsafeRawBufferPointer {
    /// `equalsLowercase` a word at a time: names of four bytes or more are compared in (at most
    /// three) loads, the last overlapping the one before it so that no byte outside `range` or
    /// the literal is read. Only the literal's letter lanes are folded, so a byte matches
    /// exactly when `lower(byte)` equals the literal's, as bytewise.
    @inline(__always)
    func equalsLowercaseWords(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard range.count == n else { return false }
        let lit = UnsafeRawPointer(literal.utf8Start)
        if n >= 8 {
            var offset = 0
            while true {
                let expected = UInt64(littleEndian: lit.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                if word(at: range.lowerBound + offset) | Lanes.letterCaseBits(expected) != expected { return false }
                if offset == n - 8 { return true }
                offset = Swift.min(offset + 8, n - 8)
            }
        }
        if n >= 4 {
            @inline(__always) func matches(at offset: Int) -> Bool {
                let expected = UInt64(UInt32(littleEndian: lit.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let got = UInt64(UInt32(littleEndian: loadUnaligned(fromByteOffset: range.lowerBound + offset, as: UInt32.self)))
                return got | Lanes.letterCaseBits(expected) == expected
            }
            return matches(at: 0) && matches(at: n - 4)
        }
        return equalsLowercase(range, literal)
    }
}

/// The index of the first byte at or after `from` that is not a tchar (RFC 9110 §5.6.2); nil
/// when every byte up to `bound` is one (the rest has not arrived).
@inline(__always)
func scanToken(_ bytes: UnsafeRawBufferPointer, from: Int, bound: Int) -> Int? {
    var p = from
    while true {
        if p &+ 8 <= bound {
            let flagged = Lanes.notNameByte(bytes.word(at: p))
            if flagged == 0 { p &+= 8; continue }
            p &+= Lanes.first(flagged)
        }
        guard p < bound else { return nil }
        let b = bytes[p]
        // The colon ends nearly every name; any other flagged byte may still be a tchar ("_",
        // ".", "!", ...), which the byte class decides.
        guard b != UInt8(ascii: ":"), isTChar(b) else { return p }
        p &+= 1
    }
}

/// The index of the CR that ends a field value starting at `from`; nil when the bytes run out
/// at `bound` first. A byte not allowed in a value (NUL, LF, another control, DEL) throws.
@inline(__always)
func scanFieldValue(_ bytes: UnsafeRawBufferPointer, from: Int, bound: Int) throws(HTTPError) -> Int? {
    var p = from
    while true {
        if p &+ 8 <= bound {
            // Flags every control byte (CR, LF, HTAB, NUL, ...) and DEL; obs-text passes.
            let x = bytes.word(at: p)
            let flagged = Lanes.below(x, 0x20) | Lanes.equal(x, 0x7F)
            if flagged == 0 { p &+= 8; continue }
            p &+= Lanes.first(flagged)
        }
        guard p < bound else { return nil }
        let b = bytes[p]
        if b == 0x0D { return p }
        guard isFieldByte(b) else { throw .bad("bad_header_value", "control character in header value") }
        p &+= 1
    }
}

/// The index of the first byte at or after `from` that cannot be in a request target (space,
/// a control, DEL); nil when the bytes run out at `bound` first. Notes the first "?" in
/// `query`; a "#" throws.
@inline(__always)
func scanTarget(_ bytes: UnsafeRawBufferPointer, from: Int, bound: Int, query: inout Int) throws(HTTPError) -> Int? {
    var p = from
    while true {
        if p &+ 8 <= bound {
            let x = bytes.word(at: p)
            let flagged = Lanes.below(x, 0x21) | Lanes.equal(x, 0x7F)
                | Lanes.equal(x, UInt8(ascii: "?")) | Lanes.equal(x, UInt8(ascii: "#"))
            if flagged == 0 { p &+= 8; continue }
            p &+= Lanes.first(flagged)
        }
        guard p < bound else { return nil }
        let b = bytes[p]
        guard isTargetByte(b) else { return p }
        if b == UInt8(ascii: "?"), query < 0 { query = p }
        if b == UInt8(ascii: "#") { throw .bad("bad_target", "fragment in request target") }
        p &+= 1
    }
}
