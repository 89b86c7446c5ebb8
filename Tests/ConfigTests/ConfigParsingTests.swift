import Testing
@testable import Config

@Suite("Config file parsing")
struct ConfigParsingTests {
    static let example = """
    listeners:
      - address: 0.0.0.0:8080
      - address: "[::1]:8081"
        proxy_protocol: true
    upstream:
      url: http://127.0.0.1:8000
      max_idle_connections: 64
      connect_timeout: 2s
      response_timeout: 60s
    workers: auto
    limits:
      max_header_bytes: 65536
      max_headers: 100
    timeouts:
      request_header: 10s
      idle: 60s
    log:
      level: info
    """

    @Test func parsesTheDocumentedExample() throws {
        let config = try PortcullisConfig.parse(yaml: Self.example)
        #expect(config.listeners.count == 2)
        #expect(config.listeners[0].address == SocketAddressSettings(host: "0.0.0.0", port: 8080, isIPv6: false))
        #expect(config.listeners[1].address.isIPv6)
        #expect(config.listeners[1].proxyProtocol)
        #expect(config.upstream?.host == "127.0.0.1")
        #expect(config.upstream?.port == 8000)
        #expect(config.upstream?.connectTimeout == .seconds(2))
        #expect(config.workers == nil)
        #expect(config.limits.maxHeaders == 100)
        #expect(config.timeouts.idle == .seconds(60))
    }

    @Test func numericWorkersAndDurations() throws {
        let config = try PortcullisConfig.parse(yaml: """
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://localhost:9", connect_timeout: 500ms, response_timeout: 1m}
        workers: 3
        timeouts: {idle: 1h}
        """)
        #expect(config.workers == 3)
        #expect(config.upstream?.connectTimeout == .milliseconds(500))
        #expect(config.upstream?.responseTimeout == .seconds(60))
        #expect(config.timeouts.idle == .seconds(3600))
        #expect(config.upstream?.host == "localhost")
    }

    func failure(_ yaml: String) -> ConfigError? {
        do {
            _ = try PortcullisConfig.parse(yaml: yaml)
            return nil
        } catch {
            return error
        }
    }

    @Test func unknownKeyIsNamedWithItsLineAndASuggestion() {
        let error = failure("""
        listeners: [{address: "127.0.0.1:1"}]
        upstream:
          url: http://127.0.0.1:8000
          conect_timeout: 2s
        """)
        #expect(error?.key == "upstream.conect_timeout")
        #expect(error?.line == 4)
        #expect(error?.reason.contains("did you mean 'connect_timeout'") == true)
    }

    @Test func badDurationNamesTheKey() {
        let error = failure("""
        listeners: [{address: "127.0.0.1:1"}]
        upstream: {url: "http://127.0.0.1:8000", connect_timeout: fast}
        """)
        #expect(error?.key == "upstream.connect_timeout")
        #expect(error?.reason.contains("not a duration") == true)
    }

    @Test func wrongTypesAreRefused() {
        #expect(failure("listeners: {address: x}\nupstream: {url: 'http://a:1'}")?.key == "listeners")
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'http://a:1'}\nworkers: many")?.key == "workers")
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'http://a:1'}\nlimits: {max_headers: 0}")?.key == "limits.max_headers")
    }

    @Test func badAddressesAreRefused() {
        #expect(failure("listeners: [{address: 'localhost:8080'}]\nupstream: {url: 'http://a:1'}")?.key == "listeners[0].address")
        #expect(failure("listeners: [{address: '127.0.0.1:99999'}]\nupstream: {url: 'http://a:1'}")?.key == "listeners[0].address")
        #expect(failure("listeners: [{address: '[::1]8080'}]\nupstream: {url: 'http://a:1'}")?.key == "listeners[0].address")
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'ftp://a:1'}")?.key == "upstream.url")
        // https upstreams are accepted; their TLS settings need an https url.
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'https://a:1'}") == nil)
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'http://a:1', tls: {ca: x}}")?.key == "upstream.tls")
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'https://a:1', tls: {cert: x}}")?.key == "upstream.tls")
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'http://a:1', protocol: h3}")?.key == "upstream.protocol")
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'http://a:0'}")?.key == "upstream.url")
    }

    @Test func missingUpstreamAndDuplicateKeys() {
        #expect(failure("listeners: [{address: '127.0.0.1:1'}]")?.reason.contains("'upstream' is missing") == true)
        let dup = failure("listeners: [{address: '127.0.0.1:1'}]\nupstream: {url: 'http://a:1'}\nworkers: 1\nworkers: 2")
        #expect(dup?.key == "workers")
        #expect(dup?.reason.contains("twice") == true)
        #expect(failure("")?.reason.contains("empty") == true)
        #expect(failure("listeners: [\n")?.reason.contains("not valid YAML") == true)
    }

    @Test func errorTextReadsForAPerson() {
        let error = ConfigError(key: "upstream.url", line: 3, reason: "bad")
        #expect(error.description == "config error at 'upstream.url' (line 3): bad")
    }
}
