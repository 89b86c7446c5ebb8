/// A streaming decoder for the chunked transfer coding (RFC 9112 §7.1).
///
/// It validates framing strictly (hex sizes without overflow, chunk-size lines exactly as the
/// grammar has them, CRLF everywhere, bounded trailer section) and reports data and trailer
/// fields to the caller, who re-encodes them for the next hop. Chunk extensions are dropped:
/// they mean nothing to us and would only carry an ambiguity further.
public struct ChunkedDecoder: Sendable {
    public enum Event: Equatable, Sendable {
        /// `range` of the input holds chunk data.
        case data(Range<Int>)
        /// The last chunk was read; `trailers` is the range of the trailer field lines
        /// (each ending in CRLF, the final empty line excluded), empty when there are none.
        case end(trailers: Range<Int>)
    }

    /// Where the decoder is. The size line is
    /// `chunk-size *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ) CRLF`,
    /// one state per position in it: a lenient size line is where two servers start to disagree
    /// on where a chunk ends, so every byte of it is checked, across reads.
    private enum State: Sendable {
        case size
        case sizeDigits
        /// BWS after the digits: only `;` may follow.
        case afterSize
        /// After `;`: BWS, then an extension name.
        case beforeName
        case name
        /// BWS after a name: `=` or the next `;` may follow, not the end of the line.
        case afterName
        /// After `=`: BWS, then a token or a quoted string.
        case beforeValue
        case tokenValue
        case quotedValue
        /// After a backslash inside a quoted string: any visible byte, quote included.
        case quotedPair
        /// Just after the closing quote.
        case quotedEnd
        /// BWS after a value: only `;` may follow.
        case afterValue
        case sizeLF
        case data
        case dataCR
        case dataLF
        case trailers
    }

    /// The most bytes a chunk-size line may take, CR included: extensions are ignored, so a
    /// client has no reason to send more, and without a bound it could stream them forever.
    static let maxSizeLineBytes = 4096

    private var state: State = .size
    private var remaining: UInt64 = 0
    private var digits = 0
    private var lineBytes = 0
    private var trailerStart = -1
    public var maxTrailerBytes: Int
    /// True once a whole chunk-size line has been read and accepted.
    public private(set) var pastFirstSizeLine = false

    public init(maxTrailerBytes: Int = 16_384) {
        self.maxTrailerBytes = maxTrailerBytes
    }

    public static let badChunk = HTTPError(status: 400, code: "bad_chunk", reason: "malformed chunked body")

    /// Consumes bytes from `input`, calling `onEvent` for data and the end. Returns how many input
    /// bytes were consumed; fewer than `input.count` only after `.end` or when a trailer section
    /// is incomplete (then call again with those bytes at the start of `input`).
    public mutating func decode(_ input: UnsafeRawBufferPointer, _ onEvent: (Event) -> Void) throws(HTTPError) -> Int {
        var p = 0
        let n = input.count
        while p < n {
            let b = input[p]
            switch state {
            case .size:
                guard isHexDigit(b) else { throw Self.badChunk }
                remaining = hexValue(b)
                digits = 1
                lineBytes = 1
                state = .sizeDigits
                p += 1
            case .sizeDigits where isHexDigit(b):
                digits += 1
                lineBytes += 1
                guard digits <= 15 else { throw Self.badChunk }
                remaining = remaining << 4 | hexValue(b)
                p += 1
            case .sizeDigits, .afterSize, .beforeName, .name, .afterName, .beforeValue, .tokenValue,
                 .quotedValue, .quotedPair, .quotedEnd, .afterValue:
                lineBytes += 1
                guard lineBytes <= Self.maxSizeLineBytes, let next = Self.sizeLineStep(state, b) else {
                    throw Self.badChunk
                }
                state = next
                p += 1
            case .sizeLF:
                guard b == 0x0A else { throw Self.badChunk }
                p += 1
                pastFirstSizeLine = true
                if remaining == 0 {
                    state = .trailers
                    trailerStart = p
                    // Trailers must be wholly in the buffer; hand back the rest until they are.
                    return try finishTrailers(input, from: p, onEvent) ?? p
                }
                state = .data
            case .data:
                let take = Int(min(UInt64(n - p), remaining))
                onEvent(.data(p..<p + take))
                p += take
                remaining -= UInt64(take)
                if remaining == 0 { state = .dataCR }
            case .dataCR:
                guard b == 0x0D else { throw Self.badChunk }
                state = .dataLF
                p += 1
            case .dataLF:
                guard b == 0x0A else { throw Self.badChunk }
                state = .size
                p += 1
            case .trailers:
                return try finishTrailers(input, from: p, onEvent) ?? p
            }
        }
        return p
    }

    /// The state after byte `b` of a chunk-size line past its first digit, or nil when `b` cannot
    /// continue the line there. A CR ends the line only right after the size, a name or a value:
    /// whitespace is allowed before `;` and around `=`, never before the CRLF.
    @inline(__always)
    private static func sizeLineStep(_ state: State, _ b: UInt8) -> State? {
        let space = b == 0x20 || b == 0x09
        switch state {
        case .sizeDigits:
            if b == 0x0D { return .sizeLF }
            if b == UInt8(ascii: ";") { return .beforeName }
            return space ? .afterSize : nil
        case .afterSize, .afterValue:
            if b == UInt8(ascii: ";") { return .beforeName }
            return space ? state : nil
        case .beforeName:
            if isTChar(b) { return .name }
            return space ? .beforeName : nil
        case .name:
            if isTChar(b) { return .name }
            if b == 0x0D { return .sizeLF }
            if b == UInt8(ascii: ";") { return .beforeName }
            if b == UInt8(ascii: "=") { return .beforeValue }
            return space ? .afterName : nil
        case .afterName:
            if b == UInt8(ascii: ";") { return .beforeName }
            if b == UInt8(ascii: "=") { return .beforeValue }
            return space ? .afterName : nil
        case .beforeValue:
            if isTChar(b) { return .tokenValue }
            if b == UInt8(ascii: "\"") { return .quotedValue }
            return space ? .beforeValue : nil
        case .tokenValue:
            if isTChar(b) { return .tokenValue }
            if b == 0x0D { return .sizeLF }
            if b == UInt8(ascii: ";") { return .beforeName }
            return space ? .afterValue : nil
        case .quotedValue:
            // qdtext: HTAB, SP, VCHAR but `"` and `\`, obs-text.
            if b == UInt8(ascii: "\"") { return .quotedEnd }
            if b == UInt8(ascii: "\\") { return .quotedPair }
            return isFieldByte(b) ? .quotedValue : nil
        case .quotedPair:
            return isFieldByte(b) ? .quotedValue : nil
        case .quotedEnd:
            if b == 0x0D { return .sizeLF }
            if b == UInt8(ascii: ";") { return .beforeName }
            return space ? .afterValue : nil
        case .size, .sizeLF, .data, .dataCR, .dataLF, .trailers:
            return nil
        }
    }

    /// Looks for the end of the trailer section starting at `from`; nil when it is not all here yet.
    private mutating func finishTrailers(_ input: UnsafeRawBufferPointer, from: Int,
                                         _ onEvent: (Event) -> Void) throws(HTTPError) -> Int? {
        let available = input.count - from
        if available >= 2, input[from] == 0x0D, input[from + 1] == 0x0A {
            state = .size
            onEvent(.end(trailers: from..<from))
            return from + 2
        }
        if available >= 1, input[from] == 0x0D, available < 2 { return nil }
        guard let end = input.findHeadEnd(from: from, limit: from + maxTrailerBytes) else {
            if available >= maxTrailerBytes { throw Self.badChunk }
            return nil
        }
        // Validate the field lines; forbidden ones are filtered by the caller.
        do {
            _ = try parseFieldLines(input, from: from, end: end, maxFields: 100) { _ in }
        } catch {
            throw Self.badChunk
        }
        state = .size
        onEvent(.end(trailers: from..<end + 2))
        return end + 4
    }
}
