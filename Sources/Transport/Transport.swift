public import EventLoop

/// What carries a connection's bytes: the socket itself, or a TLS session over it. Codecs read
/// and write through this and cannot tell the two apart.
public enum Transport {
    case plain(Int32)
    case tls(TLSSession)

    /// Reads into `buffer`, holding at most `limit` bytes.
    @inline(__always)
    public func read(into buffer: IOBuffer, maxHeld limit: Int) throws(TransportError) -> IOBuffer.ReadResult {
        switch self {
        case .plain(let fd):
            do { return try buffer.read(from: fd, maxHeld: limit) } catch { throw .system(error) }
        case .tls(let session):
            do { return try session.read(into: buffer, maxHeld: limit) } catch { throw .tls(error) }
        }
    }

    /// Writes what `buffer` holds; true when all of it went.
    @inline(__always)
    public func write(from buffer: IOBuffer) throws(TransportError) -> Bool {
        switch self {
        case .plain(let fd):
            do { return try buffer.write(to: fd) } catch { throw .system(error) }
        case .tls(let session):
            do { return try session.write(from: buffer) } catch { throw .tls(error) }
        }
    }

    public var isTLS: Bool {
        if case .tls = self { return true }
        return false
    }
}

public enum TransportError: Error {
    case system(SystemError)
    case tls(TLSError)
}
