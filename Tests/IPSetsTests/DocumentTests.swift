import Foundation
import IPSets
import NetworkPolicy
import Testing

/// The repository's files: the README's examples are the ones tested.
func repositoryFile(_ path: String) throws -> [UInt8] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
    return Array(try Data(contentsOf: root.appendingPathComponent(path)))
}

func prefixes(_ result: Result<IPSetDocument.Parsed, IPSetError>) -> [String]? {
    guard case .success(let parsed) = result else { return nil }
    return parsed.prefixes.map(\.description)
}

/// The documents sets are read from: Microsoft's Service Tags JSON and plain CIDR lists, taken
/// whole or not at all.
@Suite("IP set documents")
struct DocumentTests {
    @Test func theServiceTagsSampleGivesItsTagsIPv4AndIPv6Prefixes() throws {
        let document = try repositoryFile("config/examples/service-tags.sample.json")
        let backend = IPSetDocument.serviceTags(document, tag: "AzureFrontDoor.Backend")
        #expect(prefixes(backend) == ["192.0.2.0/28", "198.51.100.64/26", "2001:db8:f0::/48", "2001:db8:f1:8::/64"])
        if case .success(let parsed) = backend {
            #expect(parsed.version == "changeNumber 321, AzureFrontDoor.Backend changeNumber 7")
            let v4 = try #require(IPAddress.parse("198.51.100.70"))
            let v6 = try #require(IPAddress.parse("2001:db8:f1:8::1"))
            #expect(parsed.prefixes.contains { $0.contains(v4) })
            #expect(parsed.prefixes.contains { $0.contains(v6) })
        }
        // Another tag of the same document: only its own entry.
        #expect(prefixes(IPSetDocument.serviceTags(document, tag: "AzureFrontDoor.Frontend")) == ["203.0.113.0/25", "2001:db8:f2::/48"])
    }

    /// Names are matched exactly (no prefix match, no case folding); a missing tag is a failed
    /// load, so the last good set stays, never an empty one.
    @Test func aTagTheDocumentDoesNotHaveIsAFailureNotAnEmptySet() throws {
        let document = try repositoryFile("config/examples/service-tags.sample.json")
        for tag in ["AzureFrontDoor", "azurefrontdoor.backend", "AzureFrontDoor.Backend.westeurope"] {
            guard case .failure(let error) = IPSetDocument.serviceTags(document, tag: tag) else {
                Issue.record("tag \(tag) gave a set")
                continue
            }
            #expect(error == .tagNotFound(tag))
        }
        let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(prefixes(IPSetDocument.serviceTags(byteOrderMark + document, tag: "AzureFrontDoor.Frontend")) == ["203.0.113.0/25", "2001:db8:f2::/48"])
    }

    @Test func oneBadEntryRefusesTheWholeDocument() {
        func tags(_ prefixes: String) -> [UInt8] {
            Array(#"{"changeNumber":1,"cloud":"Public","values":[{"name":"T","id":"T","properties":{"addressPrefixes":[\#(prefixes)]}}]}"#.utf8)
        }
        #expect(prefixes(IPSetDocument.serviceTags(tags(#""10.0.0.0/8""#), tag: "T")) == ["10.0.0.0/8"])
        #expect(IPSetDocument.serviceTags(tags(#""10.0.0.0/8","10.1.2.3/24""#), tag: "T").failure
                == .badPrefix(at: "values[0].properties.addressPrefixes[1]", text: "10.1.2.3/24", reason: "has host bits set (did you mean 10.1.2.0/24?)"))
        #expect(IPSetDocument.serviceTags(tags(#""10.0.0.0/8","bogus""#), tag: "T").failure?.description.contains("'bogus'") == true)
        #expect(IPSetDocument.serviceTags(tags(#""10.0.0.0/8",7"#), tag: "T").failure?.description.contains("is not a string") == true)
        #expect(IPSetDocument.serviceTags(tags(""), tag: "T").failure == .empty)
        #expect(IPSetDocument.serviceTags(Array("<html>".utf8), tag: "T").failure == .notJSON)
        #expect(IPSetDocument.serviceTags(Array(#"{"value":[]}"#.utf8), tag: "T").failure == .notServiceTags("no values[] list"))
        // A document cut short in transit is not JSON, so nothing of it is used.
        let whole = tags(#""10.0.0.0/8","192.168.0.0/16""#)
        #expect(IPSetDocument.serviceTags(Array(whole.prefix(whole.count - 10)), tag: "T").failure == .notJSON)
    }

    @Test func aCIDRListTakesOnePrefixALineWithCommentsAndBlankLines() {
        let text = """
        # office egress, owned by the network team
        10.20.0.0/16
          192.168.7.0/24   # branch office\r

        2001:db8:abc::/48
        198.51.100.7
        ::ffff:203.0.113.5
        """
        #expect(prefixes(IPSetDocument.cidrList(Array(text.utf8))) == ["10.20.0.0/16", "192.168.7.0/24", "2001:db8:abc::/48", "198.51.100.7/32", "203.0.113.5/32"])
        #expect(IPSetDocument.cidrList(Array("10.0.0.0/8\n\n# x\n10.0.0.1/8\n".utf8)).failure
                == .badPrefix(at: "line 4", text: "10.0.0.1/8", reason: "has host bits set (did you mean 10.0.0.0/8?)"))
        #expect(IPSetDocument.cidrList(Array("10.0.0.0/33\n".utf8)).failure?.description == "line 1: '10.0.0.0/33' has a prefix length out of range 0-32; the whole document is refused")
        #expect(IPSetDocument.cidrList(Array("# nothing here yet\n\n".utf8)).failure == .empty)
        #expect(IPSetDocument.cidrList([]).failure == .empty)
    }

    @Test func theSampleBlockListParses() throws {
        #expect(prefixes(IPSetDocument.cidrList(try repositoryFile("config/examples/blocked-networks.sample.txt")))
                == ["192.0.2.8/29", "2001:db8:f0:bad::/64", "198.51.100.99/32"])
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
