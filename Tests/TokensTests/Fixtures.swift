import Foundation
@testable import Tokens

enum Fixtures {
    static func data(_ path: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "Fixtures/" + path, withExtension: nil) else {
            throw FixtureError(description: "missing fixture \(path)")
        }
        return Array(try Data(contentsOf: url))
    }

    static func signingKey(_ name: String) throws -> SigningKey {
        try SigningKey(pem: try data("keys/\(name).pem"))
    }

    static func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let a = iterator.next(), let b = iterator.next() {
            out.append(UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16) ?? 0)
        }
        return out
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}
