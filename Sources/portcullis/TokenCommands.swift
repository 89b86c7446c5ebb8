import ArgumentParser
import Tokens
#if canImport(Glibc)
import Glibc
#endif

/// `portcullis token mint`: sign a token with a local key, to test without an identity provider.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Local token tooling.",
        subcommands: [Mint.self]
    )

    struct Mint: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a signed compact JWS for the given claims.")

        @Option(help: "PEM private key (RSA, EC P-256/384/521 or Ed25519).")
        var key: String

        @Option(help: "Key id to put in the header.")
        var kid: String?

        @Option(help: "JSON object of claims, e.g. '{\"iss\":\"...\",\"aud\":\"...\",\"exp\":1900000000}'.")
        var claims: String

        @Option(help: "Algorithm (default: RS256 for RSA, ES256/384/512 for EC, EdDSA for Ed25519).")
        var alg: String?

        func run() throws {
            let signer = try loadSigningKey(key)
            var algorithm: JWSAlgorithm?
            if let alg {
                guard let known = JWSAlgorithm(rawValue: alg) else {
                    printError("portcullis token mint: unknown --alg \(alg)")
                    throw ExitCode(2)
                }
                algorithm = known
            }
            do {
                print(try signer.mint(claims: claims, kid: kid, algorithm: algorithm))
            } catch {
                printError("portcullis token mint: \(error)")
                throw ExitCode(2)
            }
        }
    }
}

/// `portcullis jwks`: the public JWKS for a local key, to put in `jwks_file`.
struct JWKSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jwks", abstract: "Print the public JWKS of a PEM private key.")

    @Option(help: "PEM private key.")
    var key: String

    @Option(help: "Key id to publish.")
    var kid: String?

    func run() throws {
        let signer = try loadSigningKey(key)
        print(JSONValue.object([("keys", .array([signer.publicJWK(kid: kid)]))]).serialized)
    }
}

func loadSigningKey(_ path: String) throws -> SigningKey {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        printError("portcullis: cannot read \(path)")
        throw ExitCode(2)
    }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 64 * 1024)
    let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else {
        printError("portcullis: cannot read \(path)")
        throw ExitCode(2)
    }
    do {
        return try SigningKey(pem: Array(bytes[0..<n]))
    } catch {
        printError("portcullis: \(path): \(error)")
        throw ExitCode(2)
    }
}
