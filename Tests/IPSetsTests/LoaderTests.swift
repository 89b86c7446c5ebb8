import Config
import Foundation
import IPSets
import Synchronization
import TestSupport
import Testing

/// What the loader reported, in order.
final class Reports: Sendable {
    let entries = Mutex<[(set: String, prefixes: [String]?, failure: String?)]>([])

    func record(_ source: IPSetSource, _ report: IPSetLoader.Report) {
        entries.withLock {
            switch report {
            case .loaded(let set): $0.append((source.name, set.prefixes.map(\.description), nil))
            case .failed(let reason): $0.append((source.name, nil, reason))
            }
        }
    }

    var loaded: [[String]] { entries.withLock { $0.compactMap(\.prefixes) } }
    var failures: [String] { entries.withLock { $0.compactMap(\.failure) } }
}

func serviceTags(_ tag: String, _ prefixes: [String]) -> [UInt8] {
    let list = prefixes.map { "\"\($0)\"" }.joined(separator: ",")
    return Array(#"{"changeNumber":1,"cloud":"Public","values":[{"name":"\#(tag)","id":"\#(tag)","properties":{"changeNumber":1,"region":"","addressPrefixes":[\#(list)]}}]}"#.utf8)
}

/// One set as the config file would give it.
func ipSet(_ yaml: String, name: String = "s") throws -> IPSetSource {
    let config = try PortcullisConfig.parse(yaml: """
    listeners: [{address: "127.0.0.1:1"}]
    upstream: {url: "http://127.0.0.1:2"}
    ip_sets:
      \(name): \(yaml)
    network: {rules: [{name: r, priority: 1, action: allow, ip_sets: [\(name)]}]}
    """)
    return IPSetSource(try #require(config.ipSets.first))
}

/// Loading and refreshing off the loops: the first load before serving, then every `refresh`;
/// a failure reports its reason and nothing else.
@Suite("IP set loader", .serialized)
struct LoaderTests {
    @Test func aURLSetLoadsAtStartAndIsRefreshed() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        server.set("/tags.json", .init(body: serviceTags("AzureFrontDoor.Backend", ["192.0.2.0/28", "2001:db8:f0::/48"])))
        let reports = Reports()
        let source = try ipSet("{url: \"\(server.url("/tags.json"))\", format: azure_service_tags, tag: AzureFrontDoor.Backend, refresh: 1s}")
        let loader = IPSetLoader(sources: [source]) { reports.record($0, $1) }
        loader.start()
        defer { loader.stop() }
        // In before start returns: the first request already sees the set.
        #expect(reports.loaded == [["192.0.2.0/28", "2001:db8:f0::/48"]])
        server.set("/tags.json", .init(body: serviceTags("AzureFrontDoor.Backend", ["198.51.100.0/24"])))
        #expect(waitUntil(4) { reports.loaded.last == ["198.51.100.0/24"] })

        // Down, then garbage, then a document without the tag: each a failure, nothing loaded.
        let loads = reports.loaded.count
        server.failing.store(true, ordering: .relaxed)
        #expect(waitUntil(4) { !reports.failures.isEmpty })
        server.failing.store(false, ordering: .relaxed)
        server.set("/tags.json", .init(body: Array("<html>maintenance</html>".utf8)))
        #expect(waitUntil(6) { reports.failures.contains("not a JSON document") })
        server.set("/tags.json", .init(body: serviceTags("AzureCloud", ["10.0.0.0/8"])))
        #expect(waitUntil(10) { reports.failures.contains("no values[] entry named 'AzureFrontDoor.Backend' in the document") })
        #expect(reports.loaded.count == loads)
    }

    @Test func aFileSetIsReadAtStartAndAgainAtEachRefresh() throws {
        let path = NSTemporaryDirectory() + "ipset-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        defer { unlink(path) }
        try "# allowed\n10.1.0.0/16\n".write(toFile: path, atomically: true, encoding: .utf8)
        let reports = Reports()
        let loader = IPSetLoader(sources: [try ipSet("{file: \"\(path)\", format: cidr_list, refresh: 1s}")]) { reports.record($0, $1) }
        loader.start()
        defer { loader.stop() }
        #expect(reports.loaded == [["10.1.0.0/16"]])
        try "10.1.0.0/16\n10.2.0.0/16\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(waitUntil(4) { reports.loaded.last == ["10.1.0.0/16", "10.2.0.0/16"] })
        unlink(path)
        #expect(waitUntil(4) { reports.failures.contains { $0.hasPrefix("cannot read \(path): No such file") } })
    }

    @Test func aMissingFileAtStartIsAFailedLoadNotACrash() throws {
        let reports = Reports()
        let source = try ipSet("{file: /nonexistent/portcullis/sets.txt, format: cidr_list}")
        let loader = IPSetLoader(sources: [source]) { reports.record($0, $1) }
        loader.start()
        loader.stop()
        #expect(reports.loaded.isEmpty)
        #expect(reports.failures == ["cannot read /nonexistent/portcullis/sets.txt: No such file or directory"])
    }

    @Test func aDocumentOverSixteenMebibytesIsRefused() throws {
        let path = NSTemporaryDirectory() + "ipset-large-\(getpid()).txt"
        defer { unlink(path) }
        let line = Array("10.0.0.0/8\n".utf8)
        let bytes = [[UInt8]](repeating: line, count: (IPSetDocument.maxBytes / line.count) + 1).flatMap { $0 }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let result = IPSetLoader.load(try ipSet("{file: \"\(path)\", format: cidr_list}"))
        #expect(result.failure == .unreadable(path: path, reason: "the file is larger than 16 MiB"))
    }

    /// A set whose source is unchanged keeps its schedule through an update; one the owner just
    /// loaded itself (a reload) waits for its refresh instead of loading again at once.
    @Test func anUpdateKeepsUnchangedSetsAndTrustsWhatTheOwnerLoaded() throws {
        let server = TestHTTPServer()
        defer { server.stop() }
        for path in ["/a", "/b", "/c"] { server.set(path, .init(body: Array("10.0.0.0/8\n".utf8))) }
        let (a, b, c) = (try ipSet("{url: \"\(server.url("/a"))\", format: cidr_list, refresh: 1h}", name: "a"),
                         try ipSet("{url: \"\(server.url("/b"))\", format: cidr_list, refresh: 1h}", name: "b"),
                         try ipSet("{url: \"\(server.url("/c"))\", format: cidr_list, refresh: 1h}", name: "c"))
        let reports = Reports()
        let loader = IPSetLoader(sources: [a]) { reports.record($0, $1) }
        loader.start()
        defer { loader.stop() }
        #expect(server.count("/a") == 1)
        // a unchanged, b loaded by the owner, c new: only c is fetched.
        loader.update(sources: [a, b, c], holding: ["a", "b"])
        #expect(waitUntil(2) { server.count("/c") == 1 })
        usleep(200_000)
        #expect(server.count("/a") == 1 && server.count("/b") == 0)
        #expect(reports.loaded.count == 2)
    }
}
