import EventLoop
import HTTP1

/// The upstream's HTTP/1.1 answer as every client codec reads it: the head parsed strictly, then
/// the body taken out of its framing (a length, chunks, or the connection's close) as data and
/// trailers. Each codec frames them its own way: re-chunked or delimited for an HTTP/1.1 client,
/// DATA and trailing HEADERS for an HTTP/2 stream. One reader, so a framing rule is enforced
/// once, whatever protocol the client speaks.
struct UpstreamResponse {
    enum Body {
        case done
        case length(UInt64)
        case chunked(ChunkedDecoder)
        case untilClose
    }

    enum HeadStep {
        /// More bytes are needed.
        case incomplete
        /// A 1xx head is in `head`; call ``skipInformational(_:)`` once it has been used.
        case informational
        /// The final head is in `head`, still at the start of the input; the body follows it.
        case final
    }

    enum BodyEvent {
        /// Body bytes, out of their framing.
        case data(UnsafeRawBufferPointer)
        /// The body ended; the trailer field lines (each with its CRLF), empty when none.
        case end(trailers: UnsafeRawBufferPointer)
    }

    private var parser: ResponseParser
    private let maxTrailerBytes: Int
    var head: ResponseHead
    private(set) var headDone = false
    private(set) var body = Body.done

    /// `reservingFields: 0` leaves the field list without room until the first response, for
    /// a client connection that may never send a request.
    init(maxHeadBytes: Int, reservingFields: Int = 32) {
        parser = ResponseParser(maxHeadBytes: maxHeadBytes)
        maxTrailerBytes = maxHeadBytes
        head = ResponseHead(reservingFields: reservingFields)
    }

    var bodyDone: Bool {
        if case .done = body { return true }
        return false
    }

    mutating func reset() {
        parser.reset()
        headDone = false
        body = .done
    }

    /// Parses the head at the start of `input`, leaving its bytes there for the caller to encode.
    mutating func parseHead(_ input: IOBuffer, requestMethod: HTTPMethod) throws(HTTPError) -> HeadStep {
        if head.headers.capacity == 0 { head = ResponseHead() }
        guard try parser.parse(input.readable, requestMethod: requestMethod, into: &head) else { return .incomplete }
        if head.isInformational { return .informational }
        headDone = true
        switch head.framing {
        case .none: body = .done
        case .contentLength(let n): body = .length(n)
        case .chunked: body = .chunked(ChunkedDecoder(maxTrailerBytes: maxTrailerBytes))
        case .untilClose: body = .untilClose
        }
        return .final
    }

    /// Drops a 1xx head the caller has dealt with; the next head follows.
    mutating func skipInformational(_ input: IOBuffer) {
        input.consume(head.length)
        parser.reset()
    }

    /// The 101 head in `input` was answered: what follows is no longer HTTP.
    mutating func switchedProtocols(_ input: IOBuffer) {
        input.consume(head.length)
        headDone = true
        body = .done
    }

    /// Moves body bytes out of `input` while `hasRoom()` says the client side can take more.
    /// Returns true once the body has ended (its end event emitted).
    mutating func decodeBody(_ input: IOBuffer, hasRoom: () -> Bool,
                             _ emit: (BodyEvent) -> Void) throws(HTTPError) -> Bool {
        while hasRoom(), !input.isEmpty {
            switch body {
            case .done:
                return true
            case .length(let remaining):
                let take = Int(min(UInt64(input.readableBytes), remaining))
                emit(.data(UnsafeRawBufferPointer(rebasing: input.readable[0..<take])))
                input.consume(take)
                if remaining == UInt64(take) {
                    body = .done
                    emit(.end(trailers: UnsafeRawBufferPointer(start: nil, count: 0)))
                    return true
                }
                body = .length(remaining - UInt64(take))
            case .untilClose:
                emit(.data(input.readable))
                input.clear()
            case .chunked(var decoder):
                let bytes = input.readable
                var finished = false
                let consumed = try decoder.decode(bytes) { event in
                    switch event {
                    case .data(let range):
                        emit(.data(UnsafeRawBufferPointer(rebasing: bytes[range])))
                    case .end(let trailers):
                        finished = true
                        emit(.end(trailers: UnsafeRawBufferPointer(rebasing: bytes[trailers])))
                    }
                }
                input.consume(consumed)
                if finished {
                    body = .done
                    return true
                }
                body = .chunked(decoder)
                if consumed == 0 { return false }
            }
        }
        return bodyDone
    }

    /// The upstream closed its side. A body delimited by the close ends here (true); any other
    /// unfinished answer was cut short (false).
    mutating func endAtClose(_ emit: (BodyEvent) -> Void) -> Bool {
        guard headDone, case .untilClose = body else { return false }
        body = .done
        emit(.end(trailers: UnsafeRawBufferPointer(start: nil, count: 0)))
        return true
    }
}
