import Benchmark
import Config
import Tokens

/// Test-only keys (the same as Tests/TokensTests/Fixtures/keys), generated for this suite; they protect nothing.
enum PEMs {
    static let all: [String: String] = [
        "rsa": """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDcEvTdjCx6piTV
        OqP01GZp7dxId0zb9OrREtRCCGNA+W3JrVSmaRbivK7eCRWPVbQvNhL20RDG/LHL
        yhUqZNGVT3QbGanAcrYaOsI5VnkTDijL/57b/b3kK2cR0hycaJjCWntgbfM/XOXx
        AyExF7P+4cchzvhiRz4Z6TUQOOb8cIYsqkjUBGn8SleqwCuoMa5uPf4uOuoCpHg7
        zmhFTJduj/jZIK68vBVYPKIL8mjEVd29/j10EzSDr/nVRuV3n4xsNxhtY26X2Esg
        O8mX4G3VhRynuLhaehGPrFoJAsv2wJvJIsZ7kVicLVPM3BWda95ey8UXHJtanvWV
        0jfqZ3BxAgMBAAECggEAGbXrPpDYR3Hunqytp/ZCisCbuimZ5J6d6lQZUSeatOYP
        Ef86gwCHCHFDurPz/V1lYhieqZAuNhkiimzvARdrNtbj+SCL6Oxd4v2XYEx+c5/1
        WzPfctMXorcBYR8bcZh0tEwO2uqtfusTAA++Cna69B2bfpMoCI9LLYrFxMHpFne1
        c2hgxOGHSaDWxUqfmmNCnoos1BFEVUTEF6/2BzCEeq2xHHrQczpXHy/WO9txYtji
        ZG0GgpA9QngflSSAW4AfN/7yx4vOa+ZkmhQYrAYNSaYdXj98TM7sVugSPBI0etZe
        uNQphrg14eFu/1ta4/9lownIdGD5RquC1WuuH8pGOQKBgQDy+TXOrvtxl01L2WQ+
        i+pD8WlnWMbD1GeVdwUl/L8UNc9ryUxM8kd7mzjU3/uKfR6QuCS12Tysr7aZxzZR
        oK+9DGJxCXqTUtK/Vgnn5jIQr9M1oZIEd69XJbAveQK6NIbCPAG4FYaPqt2Ee3An
        97M4VmKodUMPDefoa0F4eWnONQKBgQDn33QjCUG9BjX9jZr0t3mejbjorRf8s9fl
        6cfqDvVXYYm09idOAyLJ3jfDWhU4PmnUsb6/+W+SSVIHMNoLQUNGWePodMquk3N/
        xUo24lKOTsHVfdsNjOv1UQuGdKKdc46S4N9gdCCZKPi2zM3WGMwR9xw+WL7Cy4KX
        PbT1BeIQzQKBgB/eeCRH50sa4VSViwR5LZ0DySN5DXkaHwwHtHErGZT5Cd/FY3Ck
        RqP71BR33HJpvtyUipwfhknQMk8xRfqm7OYK/c59w8oXDvVxv5LfKqntpfJe4twb
        JrBzjQxs/uKViSdo34DZsfCeJLf/yNI1NxionAAkgUs0M7rUdp3qruoRAoGAHH7T
        kPK0R3yZ6f0bC/P4WEnmbYHILuATKkger18DO6fa+og9sFKmVdSfWbyaWv0gmGj3
        njQTSBEGqaeRREzS7bRiU9D2j5nDWfJu+mu55Y88NvZuky28WbuKBQ4UZfErllVY
        XkwnLWthlWV57lPB0Htj1y2k09+avudwc6QzcgkCgYEAhg5wpQSBQ/fXU2vJpLN6
        Hv5LjLdPc/8oZPpwy3JF6grz5jeA7mmU2IN7JraLhHWKUnT8s8U0zuIrJgdJi4wK
        XqOI9PsxaCbMp8lg/aRWtORwVfNNKtQX/rZiNnro9fnbrTGoQYxcRNMxtSv9gmuL
        x2loqUOAAtnVAzedxar9zfg=
        -----END PRIVATE KEY-----
        """,
        "p256": """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdmR46jzJFhO+3ljA
        D6eoyB/CoXUvNH38cLusdYL7+3ehRANCAAQIJpDJ0IeCdoM/PON9FY30h8ZbHNcR
        OTUqnkjnffcY2cC3z77xYBa3gXOL7cD0id2a/kEbVfRvWps58dUt/CDK
        -----END PRIVATE KEY-----
        """,
        "ed25519": """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEIIpghQjuLkLDukL1yTzAKnWzafPdDMgdMY8PkiLvFGVv
        -----END PRIVATE KEY-----
        """,
    ]
}

let issuer = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"

/// An Entra-like access token payload: with an RS256 signature the token is ~1.2 KB.
func claims(exp: Int) -> String {
    """
    {"aud":"api://service-b","iss":"\(issuer)","iat":1700000000,"nbf":1700000000,"exp":\(exp),\
    "aio":"E2ZgYJjc3Cvp0+6WbS8hXjL0vG7PAQA=","azp":"11111111-2222-3333-4444-555555555555","azpacr":"1",\
    "oid":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","rh":"0.AXEAv4j5cvGGr0GRqy180BHbR5J8eNMO7E5Km2WeI4QzQg1xAAA.",\
    "roles":["Data.Read","Data.Write"],"sub":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47",\
    "uti":"Xk4bVpW1dEyk1nQ2mZ7uAA","ver":"2.0","xms_tcdt":1289241547,"xms_mirid":"/subscriptions/0000/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/service-a"}
    """
}

/// What the proxy checks after authentication: a role the benchmarks' token holds.
let requirement: AuthorizationRequirement = {
    var settings = AuthorizationSettings()
    settings.roles = RequiredValues(allOf: ["Data.Read"])
    return AuthorizationRequirement(settings)
}()

func setup(_ pemName: String, alg: String) -> (TokenValidator, KeySnapshot, String, SigningKey) {
    do {
        let signer = try SigningKey(pem: Array(PEMs.all[pemName]!.utf8))
        let jwks = Array(JSONValue.object([("keys", .array([signer.publicJWK(kid: "k1")]))]).serialized.utf8)
        var auth = AuthSettings()
        auth.issuers = [IssuerSettings(issuer: issuer, keySource: .jwksFile(path: "-"), audiences: ["api://service-b"], algorithms: [alg])]
        let validator = TokenValidator(auth)
        let token = try signer.mint(claims: claims(exp: 4_000_000_000), kid: "k1")
        return (validator, KeySnapshot(sets: [issuer: try KeySet.parse(jwks: jwks)]), token, signer)
    } catch {
        fatalError("benchmark setup: \(error)")
    }
}

/// Made once per process: package-benchmark runs a benchmark's closure once per sample, and a
/// setup inside it (PEM parsing, an RSA signature) ran before every single measured iteration,
/// so each sample started with the caches cold from signing — a cost no request pays.
struct Fixture: Sendable {
    let validator: TokenValidator
    let uncached: TokenValidator
    let keys: KeySnapshot
    let token: [UInt8]
    let message: [UInt8]
    let signature: [UInt8]
    let key: VerificationKey
    let algorithm: JWSAlgorithm

    init(_ pemName: String, alg: String) {
        let (validator, keys, token, _) = setup(pemName, alg: alg)
        var auth = AuthSettings()
        auth.issuers = [IssuerSettings(issuer: issuer, keySource: .jwksFile(path: "-"), audiences: ["api://service-b"], algorithms: [alg])]
        auth.cache.maxEntries = 0
        self.validator = validator
        uncached = TokenValidator(auth)
        self.keys = keys
        self.token = Array(token.utf8)
        let parts = token.split(separator: ".")
        message = Array((parts[0] + "." + parts[1]).utf8)
        signature = BenchBase64.decode(String(parts[2]))
        guard let key = keys.sets[issuer]?.keys.first, let algorithm = JWSAlgorithm(rawValue: alg) else { fatalError("no key") }
        self.key = key
        self.algorithm = algorithm
    }

    static let all: [String: Fixture] = [
        "RS256": Fixture("rsa", alg: "RS256"), "ES256": Fixture("p256", alg: "ES256"), "EdDSA": Fixture("ed25519", alg: "EdDSA"),
    ]
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    Benchmark("cache hit, RS256 Entra-like token", configuration: .init(scalingFactor: .kilo)) { benchmark in
        guard let f = Fixture.all["RS256"] else { return }
        f.token.withUnsafeBytes { raw in
            _ = f.validator.validate(token: raw, keys: f.keys, now: 1_800_000_000)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(f.validator.validate(token: raw, keys: f.keys, now: 1_800_000_000).flatMap(requirement.authorize))
            }
            benchmark.stopMeasurement()
        }
    }

    for alg in ["RS256", "ES256", "EdDSA"] {
        Benchmark("uncached validation, \(alg)") { benchmark in
            guard let f = Fixture.all[alg] else { return }
            f.token.withUnsafeBytes { raw in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(f.uncached.validate(token: raw, keys: f.keys, now: 1_800_000_000))
                }
                benchmark.stopMeasurement()
            }
        }

        Benchmark("bare OpenSSL verify, \(alg)") { benchmark in
            guard let f = Fixture.all[alg] else { return }
            f.message.withUnsafeBytes { m in
                f.signature.withUnsafeBytes { s in
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        blackHole(SignatureVerifier.verify(f.algorithm, key: f.key, message: m, signature: s))
                    }
                    benchmark.stopMeasurement()
                }
            }
        }
    }
}

enum BenchBase64 {
    static func decode(_ text: String) -> [UInt8] {
        var table = [UInt8: UInt8]()
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8.enumerated() { table[c] = UInt8(i) }
        var out: [UInt8] = [], acc: UInt32 = 0, bits = 0
        for c in text.utf8 {
            acc = acc << 6 | UInt32(table[c] ?? 0); bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits))) }
        }
        return out
    }
}
