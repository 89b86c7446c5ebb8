/// A streaming decoder for the chunked transfer coding (RFC 9112 §7.1).
///
/// It validates framing strictly (hex sizes without overflow, extensions of token characters or
/// quoted strings, CRLF everywhere, bounded trailer section) and reports data and trailer
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

    private enum State: Sendable {
        case size
        case sizeDigits
        case extensionBytes
        case sizeLF
        case data
        case dataCR
        case dataLF
        case trailers
    }

    private var state: State = .size
    private var remaining: UInt64 = 0
    private var digits = 0
    private var lineBytes = 0
    private var inQuote = false
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
            case .sizeDigits:
                if isHexDigit(b) {
                    digits += 1
                    guard digits <= 15 else { throw Self.badChunk }
                    remaining = remaining << 4 | hexValue(b)
                    p += 1
                } else if b == UInt8(ascii: ";") || b == 0x20 || b == 0x09 {
                    state = .extensionBytes
                    inQuote = false
                    p += 1
                } else if b == 0x0D {
                    state = .sizeLF
                    p += 1
                } else {
                    throw Self.badChunk
                }
            case .extensionBytes:
                lineBytes += 1
                guard lineBytes <= 4096 else { throw Self.badChunk }
                if inQuote {
                    if b == UInt8(ascii: "\"") { inQuote = false } else if !isFieldByte(b) { throw Self.badChunk }
                } else if b == 0x0D {
                    state = .sizeLF
                } else if b == UInt8(ascii: "\"") {
                    inQuote = true
                } else if !(isTChar(b) || b == UInt8(ascii: ";") || b == UInt8(ascii: "=") || b == 0x20 || b == 0x09) {
                    throw Self.badChunk
                }
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
