import CNghttp2

/// Moving bytes in and out of an nghttp2 session: the same for the server and the client side.
enum SessionIO {
    static func receive(_ session: OpaquePointer?, _ bytes: UnsafeRawBufferPointer) throws(H2Session.ProtocolError) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { return }
        let rc = nghttp2_session_mem_recv(session, base, bytes.count)
        if rc < 0 { throw H2Session.ProtocolError(code: Int32(rc)) }
    }

    static func send(_ session: OpaquePointer?, budget: Int, _ sink: (UnsafeRawBufferPointer) -> Void) throws(H2Session.ProtocolError) {
        var sent = 0
        while sent < budget {
            var data: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &data)
            if n < 0 { throw H2Session.ProtocolError(code: Int32(n)) }
            guard n > 0, let data else { return }
            sink(UnsafeRawBufferPointer(start: data, count: n))
            sent += n
        }
    }

    static func isAlive(_ session: OpaquePointer?) -> Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    static func wantsWrite(_ session: OpaquePointer?) -> Bool { nghttp2_session_want_write(session) != 0 }
}

/// nghttp2 header lists built from byte arrays, one contiguous copy per call.
enum H2Fields {
    static func withList(status: [UInt8]?, _ fields: [(name: [UInt8], value: [UInt8])],
                         _ body: (UnsafePointer<nghttp2_nv>, Int) -> Void) {
        var storage: [UInt8] = []
        var spans: [(Int, Int, Int, Int)] = []
        func add(_ name: [UInt8], _ value: [UInt8]) {
            let n = storage.count
            storage += name
            let v = storage.count
            storage += value
            spans.append((n, name.count, v, value.count))
        }
        if let status { add(Array(":status".utf8), status) }
        for field in fields { add(field.name, field.value) }
        storage.append(0)
        storage.withUnsafeMutableBufferPointer { raw in
            guard let base = raw.baseAddress else { return }
            let nva = spans.map { span in
                nghttp2_nv(name: base + span.0, value: base + span.2, namelen: span.1, valuelen: span.3,
                           flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            nva.withUnsafeBufferPointer { list in
                if let start = list.baseAddress { body(start, list.count) }
            }
        }
    }
}
