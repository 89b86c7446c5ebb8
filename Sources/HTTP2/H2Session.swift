import CNghttp2
#if canImport(Glibc)
import Glibc
#endif

/// What an HTTP/2 server session tells the connection that owns it. Called from inside
/// ``H2Session/receive(_:)`` and ``H2Session/send(into:)``, on the loop thread.
public protocol H2SessionDelegate: AnyObject {
    /// A request's HEADERS began on a new stream.
    func h2StreamOpened(_ stream: Int32)
    /// One request header field (pseudo-headers first), already validated by nghttp2.
    func h2Header(_ stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    /// The request's header block is complete; `endStream` when no body follows.
    func h2HeadersComplete(_ stream: Int32, endStream: Bool)
    /// Request body bytes; give the flow-control window back with ``H2Session/consume(_:_:)``
    /// once the bytes have moved on.
    func h2Data(_ stream: Int32, _ bytes: UnsafeRawBufferPointer)
    /// The client finished the stream's request (END_STREAM on DATA or trailers).
    func h2RequestEnded(_ stream: Int32)
    /// The stream is gone (done, reset by either side, or the session ended).
    func h2StreamClosed(_ stream: Int32, errorCode: UInt32)
    /// Response body bytes for `stream`, copied into `buffer`.
    func h2ResponseBody(_ stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyChunk
}

/// A piece of a response body handed to nghttp2.
public enum H2BodyChunk {
    /// `count` bytes were written; `end` marks the last of the body, `trailers` that trailers
    /// follow (then the stream ends with them, not with the DATA frame).
    case bytes(count: Int, end: Bool, trailers: Bool)
    /// Nothing yet: ask again after ``H2Session/resume(_:)``.
    case later
}

/// How many frames of one kind a client may send on one connection: `burst` at once, then
/// `perSecond` more each second (a token bucket refilled in whole seconds, like nghttp2's own
/// rate limits). The frame that finds the bucket empty ends the connection with
/// GOAWAY(ENHANCE_YOUR_CALM).
public struct FrameBudget: Sendable, Equatable {
    public var burst: UInt64
    public var perSecond: UInt64

    public init(burst: UInt64, perSecond: UInt64) {
        self.burst = burst
        self.perSecond = perSecond
    }
}

/// Limits a server session holds its clients to: the one place for these numbers. nghttp2 1.52
/// (with Debian's security backports) enforces some itself; the frame budgets it lacks are
/// counted by ``H2Session`` in its callbacks. The bar is what nghttp2's newer releases and
/// Envoy do by default; each number says why it is what it is.
///
/// PING has no budget of its own: a PING costs one ACK, and a client that does not read its
/// ACKs is cut off by `maxOutboundAcks`; one that reads them is sending traffic like any other
/// (gRPC's flow-control probes are PINGs, legitimately frequent while data flows).
public struct H2Limits: Sendable {
    /// Streams open at once (SETTINGS_MAX_CONCURRENT_STREAMS), so also the most requests one
    /// client connection can have at the upstream: a reset stream closes its upstream
    /// connection at once. RFC 9113 §6.5.2 asks for no fewer than 100; nginx uses 128.
    public var maxConcurrentStreams: UInt32 = 100
    public var maxHeaderListBytes: UInt32 = 65_536
    /// Per-stream receive window; the connection window is the same times the stream limit.
    public var initialWindow: UInt32 = 256 * 1024

    // Enforced by nghttp2 itself.

    /// SETTINGS entries in one frame (nghttp2's default): seven settings exist, so a frame
    /// with more than 32 is an attack on the parser, answered with ENHANCE_YOUR_CALM.
    public var maxSettings: Int = 32
    /// CONTINUATION frames after one HEADERS (CVE-2024-28182, the 2024 CONTINUATION class):
    /// nghttp2 1.61's default. Real header blocks fit in HEADERS plus a few at most; past 8
    /// nghttp2 stops the session (the connection then sends GOAWAY(ENHANCE_YOUR_CALM) itself).
    public var maxContinuations: Int = 8
    /// PING and SETTINGS ACKs queued inside nghttp2 and not yet taken by the connection's
    /// output, which stops taking at 256 KiB: a client that floods and never reads
    /// (CVE-2019-9512, CVE-2019-9515) is cut off here. nghttp2's default, and Envoy's
    /// max_outbound_control_frames.
    public var maxOutboundAcks: Int = 1000

    // Counted by H2Session; over budget → GOAWAY(ENHANCE_YOUR_CALM) and close.

    /// RST_STREAM frames from the client (rapid reset, CVE-2023-44487): each reset stream may
    /// already have started a request upstream, so this bounds the requests a reset loop can
    /// start to 200 + 33 a second. A browser leaving a page cancels at most a page's worth of
    /// streams (≤ maxConcurrentStreams) at once; 200 covers two. nghttp2 1.57's default is
    /// 1000 + 33/s; nghttp2 is given these numbers too, as a backstop (it answers with
    /// INTERNAL_ERROR, so the session's own count acts first).
    public var resets = FrameBudget(burst: 200, perSecond: 33)
    /// Frames nghttp2 answers with RST_STREAM (a stream error: a malformed header, DATA past
    /// Content-Length, a zero window increment, a stream over the limit...). Each is a reset
    /// the client caused on purpose, the way around the RST_STREAM budget (2025's
    /// "MadeYouReset"), and bounded like it. A working client causes none, except streams
    /// refused because it opened more than 100 before our SETTINGS reached it: the burst lets
    /// such a client open 300 in its first round trip. nghttp2 ≥ 1.62 counts all of these as
    /// "glitches" (1000 + 33/s, shared with the kinds below).
    public var streamErrors = FrameBudget(burst: 200, perSecond: 10)
    /// DATA frames with no data and no END_STREAM: they move nothing. Some clients send one to
    /// flush before END_STREAM; none sends a stream of them. Envoy closes the connection at the
    /// second in a row (max_consecutive_inbound_frames_with_empty_payload: 1); nghttp2 ≥ 1.62
    /// counts each as a glitch.
    public var emptyData = FrameBudget(burst: 100, perSecond: 10)
    /// PRIORITY frames (RFC 7540 priorities, deprecated by RFC 9113): each reshapes nghttp2's
    /// dependency tree. Clients that still send them send a handful per connection and one
    /// per reprioritised stream, so 200 is two reprioritisations of every stream at once.
    /// Envoy allows 100 per stream opened (+100); nghttp2 ≥ 1.62 counts each as a glitch.
    public var priority = FrameBudget(burst: 200, perSecond: 50)
    /// WINDOW_UPDATE frames. A client sends them as it reads our DATA, at most one for the
    /// stream and one for the connection per DATA frame, so each DATA frame sent adds
    /// `windowUpdatesPerDataFrame` (twice that) to this budget; the bucket itself covers the
    /// windows a client opens at the start or grows later. Envoy allows
    /// 5 + 2 × (streams opened + 10 × DATA frames sent).
    public var windowUpdates = FrameBudget(burst: 200, perSecond: 100)
    public var windowUpdatesPerDataFrame: UInt64 = 4
    /// SETTINGS frames (not ACKs): each is owed an ACK and may touch every open stream (a new
    /// initial window). Clients send one at the start and rarely another; nghttp2 alone
    /// bounds them only through unsent ACKs, i.e. not at all for a client that reads.
    public var settings = FrameBudget(burst: 100, perSecond: 10)

    public init() {}
}

/// Which budget a client went over (``H2Session/flood``).
public enum H2Flood: String, Sendable {
    case resets, streamErrors, emptyData, priority, windowUpdates, settings
    /// Found by nghttp2 itself: ACKs the client does not read, or a header block that never ends.
    case outboundAcks, continuations
}

/// A token bucket for one ``FrameBudget``.
struct FrameBucket {
    let burst: UInt64
    let perSecond: UInt64
    private var tokens: UInt64
    private var stamp: UInt64

    init(_ budget: FrameBudget, now: UInt64) {
        burst = budget.burst
        perSecond = budget.perSecond
        tokens = budget.burst
        stamp = now
    }

    /// Takes one frame's token; false when the budget is spent.
    mutating func take(now: UInt64) -> Bool {
        if now > stamp {
            // Refill only up to the burst: tokens earned by progress (`earn`) are kept.
            if tokens < burst {
                let (refill, overflow) = (now - stamp).multipliedReportingOverflow(by: perSecond)
                tokens = overflow ? burst : min(burst, tokens + min(refill, burst))
            }
            stamp = now
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }

    /// Frames the client may send because of work we did (e.g. DATA frames sent).
    mutating func earn(_ count: UInt64) {
        tokens = tokens.addingReportingOverflow(count).overflow ? .max : tokens + count
    }
}

/// The framing, HPACK and flow control of one HTTP/2 server connection (nghttp2). It knows no
/// policy and no sockets: bytes go in through ``receive(_:)`` and come out of ``send(into:)``.
/// Owns its `nghttp2_session`; nghttp2 finds this object through its user-data pointer.
public final class H2Session {
    private var session: OpaquePointer?
    public unowned let delegate: any H2SessionDelegate
    private var resets: FrameBucket
    private var streamErrors: FrameBucket
    private var emptyData: FrameBucket
    private var priority: FrameBucket
    private var windowUpdates: FrameBucket
    private var settingsFrames: FrameBucket
    private let windowUpdatesPerDataFrame: UInt64
    /// The highest odd stream id a client's HEADERS used, and the ids it skipped to get
    /// there (at most `maxSkippedRanges` runs, the latest kept): see ``headersBegin(_:)``.
    private var highestStream: Int32 = -1
    private var skipped: [ClosedRange<Int32>] = []
    private static let maxSkippedRanges = 16
    /// The budget the client went over, once it has: the session is ending with
    /// GOAWAY(ENHANCE_YOUR_CALM) and the connection should close as soon as that is sent.
    public private(set) var flood: H2Flood?

    public struct ProtocolError: Error, CustomStringConvertible {
        public let code: Int32
        public var description: String { String(cString: nghttp2_strerror(code)) }
    }

    public init(delegate: any H2SessionDelegate, limits: H2Limits = H2Limits()) {
        self.delegate = delegate
        let now = Self.nowSeconds()
        resets = FrameBucket(limits.resets, now: now)
        streamErrors = FrameBucket(limits.streamErrors, now: now)
        emptyData = FrameBucket(limits.emptyData, now: now)
        priority = FrameBucket(limits.priority, now: now)
        windowUpdates = FrameBucket(limits.windowUpdates, now: now)
        settingsFrames = FrameBucket(limits.settings, now: now)
        windowUpdatesPerDataFrame = limits.windowUpdatesPerDataFrame
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks) { _, header, user in
            guard let header, let user, header.pointee.type == UInt8(NGHTTP2_HEADERS.rawValue) else { return 0 }
            Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue().headersBegin(header.pointee.stream_id)
            return 0
        }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, user in
            guard let frame, let user else { return 0 }
            let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
            if frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue), frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
                me.delegate.h2StreamOpened(frame.pointee.hd.stream_id)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, let user, let name, let value else { return 0 }
            // Trailers of a request are not forwarded (HTTP/1.1 upstreams rarely take them).
            guard frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
            let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
            me.delegate.h2Header(frame.pointee.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: nameLength),
                                 value: UnsafeRawBufferPointer(start: value, count: valueLength))
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame, let user else { return 0 }
            let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
            let stream = frame.pointee.hd.stream_id
            let endStream = frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            switch UInt32(frame.pointee.hd.type) {
            case NGHTTP2_HEADERS.rawValue:
                if frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
                    me.delegate.h2HeadersComplete(stream, endStream: endStream)
                } else if endStream {
                    me.delegate.h2RequestEnded(stream)
                }
            case NGHTTP2_DATA.rawValue:
                if endStream {
                    me.delegate.h2RequestEnded(stream)
                } else if frame.pointee.hd.length <= frame.pointee.data.padlen {
                    // No data (padding at most) and no end: a frame that moves nothing.
                    me.spend(.emptyData)
                }
            case NGHTTP2_RST_STREAM.rawValue:
                me.spend(.resets)
            case NGHTTP2_PRIORITY.rawValue:
                me.spend(.priority)
            case NGHTTP2_WINDOW_UPDATE.rawValue:
                me.spend(.windowUpdates)
            case NGHTTP2_SETTINGS.rawValue:
                if frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0 { me.spend(.settings) }
            default:
                break
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks) { _, _, _, user in
            // nghttp2 answered the frame with RST_STREAM (or is ending the session anyway).
            guard let user else { return 0 }
            Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue().spend(.streamErrors)
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, user in
            guard let frame, let user, frame.pointee.hd.type == UInt8(NGHTTP2_DATA.rawValue) else { return 0 }
            let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
            // The client will open its windows again for this frame's bytes.
            me.windowUpdates.earn(me.windowUpdatesPerDataFrame)
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, stream, data, length, user in
            guard let user, let data else { return 0 }
            let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
            me.delegate.h2Data(stream, UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, stream, errorCode, user in
            guard let user else { return 0 }
            Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue().delegate.h2StreamClosed(stream, errorCode: errorCode)
            return 0
        }
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        // The window is given back only as the upstream takes the bytes (backpressure).
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_settings(option, limits.maxSettings)
        // The same budget the session counts (and acts on first, with ENHANCE_YOUR_CALM).
        nghttp2_option_set_stream_reset_rate_limit(option, limits.resets.burst, limits.resets.perSecond)
        nghttp2_option_set_max_continuations(option, limits.maxContinuations)
        nghttp2_option_set_max_outbound_ack(option, limits.maxOutboundAcks)
        let user = Unmanaged.passUnretained(self).toOpaque()
        nghttp2_session_server_new2(&session, callbacks, user, option)
        nghttp2_option_del(option)
        nghttp2_session_callbacks_del(callbacks)

        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: limits.maxConcurrentStreams),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: limits.maxHeaderListBytes),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: limits.initialWindow),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        // Open the connection window as wide as all streams' windows together.
        let connectionWindow = Int32(min(UInt64(limits.initialWindow) * UInt64(limits.maxConcurrentStreams), UInt64(Int32.max)))
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, connectionWindow)
    }

    deinit { nghttp2_session_del(session) }

    /// Feeds received bytes; throws on a fatal error. Then the session is unusable: when
    /// ``flood`` is set, the client flooded us and deserves ``goawayFrame(errorCode:)``'s
    /// ENHANCE_YOUR_CALM; for other errors nghttp2 may have queued a GOAWAY of its own.
    public func receive(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { return }
        let rc = nghttp2_session_mem_recv(session, base, bytes.count)
        if rc < 0 {
            switch Int32(rc) {
            case NGHTTP2_ERR_FLOODED.rawValue: flood = flood ?? .outboundAcks
            case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue: flood = flood ?? .continuations
            default: break
            }
            throw ProtocolError(code: Int32(rc))
        }
    }

    /// RFC 9113 §5.1.1: a client's new stream id must be higher than every id it used
    /// before, and using one closes every lower idle stream; HEADERS on such an id is a
    /// connection error PROTOCOL_ERROR. nghttp2 ignores HEADERS on any unknown lower id,
    /// since it cannot tell an id never used from a stream it has forgotten (trailers racing
    /// our RST_STREAM are legitimate). The ids a client skipped were never used, so HEADERS
    /// on one of them ends the session; other lower ids are left to nghttp2.
    private func headersBegin(_ id: Int32) {
        guard id & 1 == 1 else { return }  // even ids: nghttp2's PROTOCOL_ERROR
        if id > highestStream {
            if id > highestStream + 2 {
                skipped.append((highestStream + 2)...(id - 2))
                if skipped.count > Self.maxSkippedRanges { skipped.removeFirst() }
            }
            highestStream = id
        } else if skipped.contains(where: { $0.contains(id) }) {
            _ = nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR.rawValue)
        }
    }

    /// One more frame of a budgeted kind; over budget, the session ends with ENHANCE_YOUR_CALM
    /// (nghttp2 ignores the rest of the input and sends the GOAWAY next).
    private func spend(_ kind: H2Flood) {
        guard flood == nil else { return }
        let now = Self.nowSeconds()
        let allowed: Bool
        switch kind {
        case .resets: allowed = resets.take(now: now)
        case .streamErrors: allowed = streamErrors.take(now: now)
        case .emptyData: allowed = emptyData.take(now: now)
        case .priority: allowed = priority.take(now: now)
        case .windowUpdates: allowed = windowUpdates.take(now: now)
        case .settings: allowed = settingsFrames.take(now: now)
        case .outboundAcks, .continuations: allowed = true
        }
        guard !allowed else { return }
        flood = kind
        _ = nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM.rawValue)
    }

    private static func nowSeconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return UInt64(now.tv_sec)
    }

    /// A GOAWAY frame to write by hand after a fatal error, when nghttp2 can send nothing more.
    public func goawayFrame(errorCode: UInt32) -> [UInt8] {
        let last = UInt32(max(0, nghttp2_session_get_last_proc_stream_id(session)))
        var frame: [UInt8] = [0, 0, 8, UInt8(NGHTTP2_GOAWAY.rawValue), 0, 0, 0, 0, 0]
        for value in [last, errorCode] {
            frame += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        return frame
    }

    /// Hands what nghttp2 wants to send to `sink`, stopping once about `budget` bytes went.
    public func send(budget: Int, _ sink: (UnsafeRawBufferPointer) -> Void) throws(ProtocolError) {
        try SessionIO.send(session, budget: budget, sink)
    }

    /// False once the session has nothing more to read or write: the connection can close.
    public var isAlive: Bool { SessionIO.isAlive(session) }

    public var wantsWrite: Bool { SessionIO.wantsWrite(session) }

    /// Starts a response; `fields` are lower-case names with values. With `body`, the body is
    /// pulled through the delegate's ``H2SessionDelegate/h2ResponseBody(_:into:)``.
    public func respond(_ stream: Int32, status: Int, fields: [(name: [UInt8], value: [UInt8])], body: Bool) {
        H2Fields.withList(status: Array(String(status).utf8), fields) { nva, count in
            if body {
                var provider = nghttp2_data_provider(source: nghttp2_data_source(fd: 0), read_callback: { _, stream, buffer, length, flags, _, user in
                    guard let user, let buffer, let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
                    let me = Unmanaged<H2Session>.fromOpaque(user).takeUnretainedValue()
                    switch me.delegate.h2ResponseBody(stream, into: UnsafeMutableRawBufferPointer(start: buffer, count: length)) {
                    case .later:
                        return Int(NGHTTP2_ERR_DEFERRED.rawValue)
                    case .bytes(let count, let end, let trailers):
                        if end {
                            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                            if trailers { flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue }
                        }
                        return count
                    }
                })
                _ = nghttp2_submit_response(session, stream, nva, count, &provider)
            } else {
                _ = nghttp2_submit_response(session, stream, nva, count, nil)
            }
        }
    }

    /// Ends `stream` with trailer fields (after a body whose last chunk said `trailers`).
    public func sendTrailers(_ stream: Int32, fields: [(name: [UInt8], value: [UInt8])]) {
        H2Fields.withList(status: nil, fields) { nva, count in
            _ = nghttp2_submit_trailer(session, stream, nva, count)
        }
    }

    /// Body bytes are ready again for a stream whose provider said `.later`.
    public func resume(_ stream: Int32) {
        _ = nghttp2_session_resume_data(session, stream)
    }

    /// Gives `count` bytes of window back to the client, on the stream and the connection.
    public func consume(_ stream: Int32, _ count: Int) {
        guard count > 0 else { return }
        _ = nghttp2_session_consume(session, stream, count)
    }

    public func reset(_ stream: Int32, code: UInt32) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code)
    }

    /// Graceful: tell the client no new streams will be taken; streams in flight finish.
    public func shutdownNotice() {
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
                                  NGHTTP2_NO_ERROR.rawValue, nil, 0)
    }

    /// Ends the session with GOAWAY(`code`), e.g. ENHANCE_YOUR_CALM.
    public func terminate(code: UInt32) {
        _ = nghttp2_session_terminate_session(session, code)
    }
}

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
public enum H2Preface {
    public static let bytes: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Whether `input` starts with the preface (`nil`: too few bytes to tell).
    public static func matches(_ input: UnsafeRawBufferPointer) -> Bool? {
        let n = min(input.count, bytes.count)
        for i in 0..<n where input[i] != bytes[i] { return false }
        return n == bytes.count ? true : nil
    }
}
