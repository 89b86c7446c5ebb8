import Config
import HTTP1
import NetworkPolicy
import Proxy
import Testing

/// The network layer reads X-Forwarded-For and Forwarded through the kinds the parser gave the
/// fields; those must be exactly the fields the names select, in order, whatever their case.
@Suite("Request headers as the network layer reads them")
struct RequestHeadersTests {
    static let head = "GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-for: 1.1.1.1\r\nX-Forwarded-Fors: 2.2.2.2\r\n"
        + "X-FORWARDED-FOR: 3.3.3.3, 4.4.4.4\r\nForwarded: for=5.5.5.5\r\nX-Forwarded-Host: h\r\n"
        + "forwarded: for=6.6.6.6\r\nForwarded-For: 7.7.7.7\r\nX-Forwarded-For:\r\n\r\n"

    static func values(_ read: ((UnsafeRawBufferPointer) -> Bool) -> Void, first: Int = .max) -> [String] {
        var values: [String] = []
        read { value in
            values.append(String(decoding: value, as: UTF8.self))
            return values.count < first
        }
        return values
    }

    @Test func forwardingFieldsByKindAreTheFieldsByName() throws {
        let bytes = Array(Self.head.utf8)
        try bytes.withUnsafeBytes { (raw) throws in
            var parser = RequestParser()
            var head = RequestHead()
            let complete = try parser.parse(raw, into: &head)
            #expect(complete)
            let headers = RequestHeaders(RequestContext(bytes: raw, head: head, peer: IPAddress(v4: 0x7F00_0001)))
            #expect(Self.values { headers.forEachValue(of: .xForwardedFor, $0) } == ["1.1.1.1", "3.3.3.3, 4.4.4.4", ""])
            #expect(Self.values { headers.forEachValue(of: .forwarded, $0) } == ["for=5.5.5.5", "for=6.6.6.6"])
            for header in ClientIPSettings.Header.allCases {
                #expect(Self.values { headers.forEachValue(of: header, $0) } == Self.values { headers.forEachValue(named: header.rawValue, $0) })
                // Stops when asked to, as the by-name reading does.
                #expect(Self.values({ headers.forEachValue(of: header, $0) }, first: 1).count == 1)
            }
        }
    }
}
