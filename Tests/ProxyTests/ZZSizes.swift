@testable import Proxy
import Testing

@Suite struct ZZSizes {
    static func instanceSize(_ type: AnyClass) -> Int {
        let metadata = unsafeBitCast(type, to: UnsafeRawPointer.self)
        return Int(metadata.load(fromByteOffset: 24, as: UInt32.self))
    }
    @Test func sizes() {
        print("SIZE ClientConnection", Self.instanceSize(ClientConnection.self))
        print("SIZE UpstreamConnection", Self.instanceSize(UpstreamConnection.self))
        print("SIZE H2Connection", Self.instanceSize(H2Connection.self))
    }
}
