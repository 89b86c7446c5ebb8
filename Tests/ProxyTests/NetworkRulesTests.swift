import TestSupport
import Testing

/// Network rules through the real proxy, from 127.0.0.1.
@Suite("Network rules through the proxy", .serialized)
struct NetworkRulesTests {
    @Test func denyingLoopbackGets403AndNothingIsForwarded() throws {
        let harness = try Harness(extraYAML: """
        network:
          default_action: allow
          rules: [{name: no-loopback, priority: 1, action: deny, cidrs: [127.0.0.0/8]}]
        """)
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /again HTTP/1.1\r\nHost: a\r\n\r\n", responses: 2)
        #expect(response.statuses == [403, 403])
        #expect(response.text.contains("forbidden"))
        #expect(harness.receivedCount == 0)
    }

    @Test func allowingLoopbackForwards() throws {
        let harness = try Harness(extraYAML: """
        network:
          rules: [{name: loopback, priority: 1, action: allow, cidrs: [127.0.0.0/8, "::1/128"]}]
        """)
        let response = try harness.exchange("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.status == 200)
        #expect(harness.received.contains("X-Forwarded-For: 127.0.0.1\r\n"))
    }

    @Test func aSpoofedForwardedForFromAnUntrustedPeerDecidesNothing() throws {
        let harness = try Harness(extraYAML: """
        network:
          rules: [{name: inside, priority: 1, action: allow, cidrs: [10.0.0.0/8]}]
        """)
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n")
        #expect(response.status == 403)
        #expect(harness.receivedCount == 0)
    }

    @Test func aTrustedProxysHeaderDecidesAndEndsTheForwardedList() throws {
        let harness = try Harness(extraYAML: """
        client_ip: {trusted_proxies: [127.0.0.0/8, 10.0.0.0/8]}
        network:
          rules:
            - {name: partners, priority: 10, action: allow, cidrs: [198.51.100.0/24]}
            - {name: blocked, priority: 5, action: deny, cidrs: [203.0.113.0/24]}
        """)
        let allowed = try harness.exchange("GET /p HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1, 198.51.100.7, 10.0.0.5\r\nConnection: close\r\n\r\n")
        #expect(allowed.status == 200)
        // The deciding address is the last element; the trusted hop to its right is gone.
        #expect(harness.received.contains("X-Forwarded-For: 1.1.1.1, 198.51.100.7\r\n"))
        let denied = try harness.exchange("GET /d HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n")
        #expect(denied.status == 403)
        #expect(!harness.received.contains("GET /d"))
    }

    @Test func proxyProtocolV1SuppliesTheClient() throws {
        let harness = try Harness(extraYAML: """
        network:
          rules: [{name: lb-clients, priority: 1, action: allow, cidrs: [198.51.100.0/24]}]
        """, listenerYAML: ", proxy_protocol: true")
        let response = try harness.exchange("PROXY TCP4 198.51.100.7 127.0.0.1 40000 8080\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.status == 200)
        #expect(harness.received.contains("X-Forwarded-For: 198.51.100.7\r\n"))
    }

    @Test func proxyProtocolV2SuppliesTheClient() throws {
        let harness = try Harness(extraYAML: """
        network:
          rules: [{name: lb-clients, priority: 1, action: allow, cidrs: [198.51.100.0/24]}]
        """, listenerYAML: ", proxy_protocol: true")
        let header: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C,
                               198, 51, 100, 8, 127, 0, 0, 1, 0x9C, 0x40, 0x1F, 0x90]
        let response = try RawClient.exchange(port: harness.port, bytes: header + Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), responses: 1, halfClose: false)
        #expect(response.status == 200)
        #expect(harness.received.contains("X-Forwarded-For: 198.51.100.8\r\n"))
    }

    @Test func aConnectionWithoutTheProxyHeaderIsClosed() throws {
        let harness = try Harness(listenerYAML: ", proxy_protocol: true")
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.bytes.isEmpty)
        #expect(response.closed)
        #expect(harness.receivedCount == 0)
    }
}
