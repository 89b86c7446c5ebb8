import CNghttp2

/// What an HTTP/2 client session (to the upstream) tells its connection, on the loop thread.
public protocol H2ClientSessionDelegate: AnyObject {
    /// One response header field (`:status` first) or, with `trailer`, one trailer field.
    func h2UpstreamField(_ stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool)
    /// The response head is complete (`endStream`: no body follows), or the trailers are.
    func h2UpstreamFieldsComplete(_ stream: Int32, endStream: Bool, trailer: Bool)
    func h2UpstreamData(_ stream: Int32, _ bytes: UnsafeRawBufferPointer)
    /// END_STREAM arrived on a DATA frame.
    func h2UpstreamEnded(_ stream: Int32)
    func h2UpstreamClosed(_ stream: Int32, errorCode: UInt32)
    /// Request body bytes for `stream`, copied into `buffer`.
    func h2UpstreamRequestBody(_ stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyChunk
}

/// The client side of one HTTP/2 connection to the upstream (nghttp2): requests in, frames out,
/// responses back to the delegate. Like ``H2Session`` it knows no sockets and no policy.
public final class H2ClientSession {
    private var session: OpaquePointer?
    public unowned let delegate: any H2ClientSessionDelegate

    public init(delegate: any H2ClientSessionDelegate, window: UInt32 = 256 * 1024) {
        self.delegate = delegate
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, let user, let name, let value else { return 0 }
            let me = Unmanaged<H2ClientSession>.fromOpaque(user).takeUnretainedValue()
            me.delegate.h2UpstreamField(frame.pointee.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: nameLength),
                                        value: UnsafeRawBufferPointer(start: value, count: valueLength),
                                        trailer: frame.pointee.headers.cat == NGHTTP2_HCAT_HEADERS)
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame, let user else { return 0 }
            let me = Unmanaged<H2ClientSession>.fromOpaque(user).takeUnretainedValue()
            let stream = frame.pointee.hd.stream_id
            let endStream = frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            switch UInt32(frame.pointee.hd.type) {
            case NGHTTP2_HEADERS.rawValue:
                let category = frame.pointee.headers.cat
                // 1xx heads are informational and not passed on.
                if category == NGHTTP2_HCAT_RESPONSE || category == NGHTTP2_HCAT_HEADERS {
                    me.delegate.h2UpstreamFieldsComplete(stream, endStream: endStream, trailer: category == NGHTTP2_HCAT_HEADERS)
                }
            case NGHTTP2_DATA.rawValue:
                if endStream { me.delegate.h2UpstreamEnded(stream) }
            default:
                break
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { session, _, stream, data, length, user in
            guard let user, let data else { return 0 }
            let me = Unmanaged<H2ClientSession>.fromOpaque(user).takeUnretainedValue()
            me.delegate.h2UpstreamData(stream, UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, stream, errorCode, user in
            guard let user else { return 0 }
            Unmanaged<H2ClientSession>.fromOpaque(user).takeUnretainedValue().delegate.h2UpstreamClosed(stream, errorCode: errorCode)
            return 0
        }
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        // The upstream's window comes back only as the client takes the response.
        nghttp2_option_set_no_auto_window_update(option, 1)
        let user = Unmanaged.passUnretained(self).toOpaque()
        nghttp2_session_client_new2(&session, callbacks, user, option)
        nghttp2_option_del(option)
        nghttp2_session_callbacks_del(callbacks)
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: window),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(window) * 64)
    }

    deinit { nghttp2_session_del(session) }

    /// Opens a stream; returns its id, or nil when the session cannot take one (then the
    /// connection is finished and the request should go elsewhere or fail).
    public func request(fields: [(name: [UInt8], value: [UInt8])], body: Bool) -> Int32? {
        var id: Int32 = -1
        H2Fields.withList(status: nil, fields) { nva, count in
            if body {
                var provider = nghttp2_data_provider(source: nghttp2_data_source(fd: 0), read_callback: { _, stream, buffer, length, flags, _, user in
                    guard let user, let buffer, let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
                    let me = Unmanaged<H2ClientSession>.fromOpaque(user).takeUnretainedValue()
                    switch me.delegate.h2UpstreamRequestBody(stream, into: UnsafeMutableRawBufferPointer(start: buffer, count: length)) {
                    case .later:
                        return Int(NGHTTP2_ERR_DEFERRED.rawValue)
                    case .bytes(let count, let end, _):
                        if end { flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
                        return count
                    }
                })
                id = nghttp2_submit_request(session, nil, nva, count, &provider, nil)
            } else {
                id = nghttp2_submit_request(session, nil, nva, count, nil, nil)
            }
        }
        return id > 0 ? id : nil
    }

    public func receive(_ bytes: UnsafeRawBufferPointer) throws(H2Session.ProtocolError) {
        try SessionIO.receive(session, bytes)
    }

    public func send(budget: Int, _ sink: (UnsafeRawBufferPointer) -> Void) throws(H2Session.ProtocolError) {
        try SessionIO.send(session, budget: budget, sink)
    }

    public var isAlive: Bool { SessionIO.isAlive(session) }
    public var wantsWrite: Bool { SessionIO.wantsWrite(session) }

    /// Whether new streams may still be opened here (no GOAWAY seen, ids left).
    public var acceptsStreams: Bool { nghttp2_session_check_request_allowed(session) != 0 }

    public func resume(_ stream: Int32) { _ = nghttp2_session_resume_data(session, stream) }

    public func consume(_ stream: Int32, _ count: Int) {
        guard count > 0 else { return }
        _ = nghttp2_session_consume(session, stream, count)
    }

    public func reset(_ stream: Int32, code: UInt32) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, code)
    }
}
