import CNghttp2

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

/// Limits a server session holds its clients to.
public struct H2Limits: Sendable {
    public var maxConcurrentStreams: UInt32 = 100
    public var maxHeaderListBytes: UInt32 = 65_536
    /// Per-stream receive window; the connection window is the same times the stream limit.
    public var initialWindow: UInt32 = 256 * 1024
    /// RST_STREAM frames a client may send: a burst, then so many per second (rapid reset).
    public var resetBurst: UInt64 = 200
    public var resetsPerSecond: UInt64 = 33
    /// SETTINGS entries in one frame, CONTINUATION frames after one HEADERS.
    public var maxSettings: Int = 32
    public var maxContinuations: Int = 8

    public init() {}
}

/// The framing, HPACK and flow control of one HTTP/2 server connection (nghttp2). It knows no
/// policy and no sockets: bytes go in through ``receive(_:)`` and come out of ``send(into:)``.
/// Owns its `nghttp2_session`; nghttp2 finds this object through its user-data pointer.
public final class H2Session {
    private var session: OpaquePointer?
    public unowned let delegate: any H2SessionDelegate

    public struct ProtocolError: Error, CustomStringConvertible {
        public let code: Int32
        public var description: String { String(cString: nghttp2_strerror(code)) }
    }

    public init(delegate: any H2SessionDelegate, limits: H2Limits = H2Limits()) {
        self.delegate = delegate
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
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
                if endStream { me.delegate.h2RequestEnded(stream) }
            default:
                break
            }
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
        nghttp2_option_set_stream_reset_rate_limit(option, limits.resetBurst, limits.resetsPerSecond)
        nghttp2_option_set_max_continuations(option, limits.maxContinuations)
        nghttp2_option_set_max_outbound_ack(option, 1000)
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

    /// Feeds received bytes; throws on a connection error (a GOAWAY is then queued to send).
    public func receive(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) {
        try SessionIO.receive(session, bytes)
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
