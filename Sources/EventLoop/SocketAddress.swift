#if canImport(Glibc)
public import Glibc
#endif

/// An IPv4 or IPv6 socket address held by value, as the kernel gives it.
public struct SocketAddress: Sendable {
    public var storage: sockaddr_storage

    public init(storage: sockaddr_storage) {
        self.storage = storage
    }

    /// Parses a numeric host (no brackets) and a port.
    public init?(host: String, port: UInt16) {
        var storage = sockaddr_storage()
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: v4) { dst.copyMemory(from: $0) }
            }
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: v6) { dst.copyMemory(from: $0) }
            }
        } else {
            return nil
        }
        self.storage = storage
    }

    /// Resolves a host name once (at startup, never on an event loop) to its first address.
    public static func resolve(host: String, port: UInt16) -> SocketAddress? {
        if let numeric = SocketAddress(host: host, port: port) { return numeric }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return SocketAddress(storage: storage)
    }

    public var family: Int32 { Int32(storage.ss_family) }

    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            // sin_port and sin6_port sit at the same offset.
            UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
        }
    }

    /// The address bytes: 4 for IPv4, 16 for IPv6, in network order.
    public func withAddressBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                return body(UnsafeRawBufferPointer(rebasing: raw[8..<24]))
            }
            return body(UnsafeRawBufferPointer(rebasing: raw[4..<8]))
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        let length = family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        return withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
        }
    }

    public var hostString: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        withAddressBytes { bytes in
            _ = inet_ntop(family, bytes.baseAddress, &buffer, socklen_t(buffer.count))
        }
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension SocketAddress: CustomStringConvertible {
    public var description: String {
        family == AF_INET6 ? "[\(hostString)]:\(port)" : "\(hostString):\(port)"
    }
}

extension SocketAddress: Equatable {
    /// Same family, address and port (a reload keeps what did not change).
    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        a.family == b.family && a.port == b.port
            && a.withAddressBytes { x in b.withAddressBytes { y in x.elementsEqual(y) } }
    }
}
