#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call and the errno it returned.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: StaticString
    public let errno: Int32

    public init(_ call: StaticString, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public static func == (a: SystemError, b: SystemError) -> Bool {
        a.errno == b.errno && a.call.description == b.call.description
    }

    public var description: String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// What a non-blocking call did: some bytes, or nothing because the socket is not ready.
public enum IOResult: Sendable, Equatable {
    case processed(Int)
    case wouldBlock
}
