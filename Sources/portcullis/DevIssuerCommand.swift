import ArgumentParser
import Config
import DevIssuer
#if canImport(Glibc)
import Glibc
#endif

/// `portcullis dev-issuer`: a local identity provider shaped like Entra ID, until SIGTERM or
/// SIGINT; SIGHUP rotates its signing key.
struct DevIssuerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-issuer",
        abstract: "Run a local Entra-shaped identity provider for development and tests (never production)."
    )

    @Option(name: .long, help: "Path to the dev issuer's YAML file.")
    var config: String

    @Flag(name: .long, help: "Allow a listen address other than loopback (other machines can then get tokens).")
    var allowRemote = false

    func run() throws {
        let settings: DevIssuerSettings
        do {
            settings = try DevIssuerSettings.load(path: config)
        } catch {
            printError("portcullis dev-issuer: \(config): \(error)")
            throw ExitCode(2)
        }
        if settings.listensBeyondLoopback && !allowRemote {
            printError("portcullis dev-issuer: listen \(settings.listen) is not a loopback address; the dev issuer hands out "
                       + "tokens to anyone who knows a client secret in its file, so it serves other machines only with --allow-remote")
            throw ExitCode(2)
        }
        let signals = Runner.blockShutdownSignals()
        let log = Runner.operationalLogger(.info)
        let issuer: DevIssuer
        do {
            issuer = try DevIssuer(settings: settings)
            try issuer.start()
        } catch let failure as DevIssuer.Failure {
            printError("portcullis dev-issuer: \(failure)")
            throw ExitCode(failure.code == "config" ? 2 : 1)
        } catch {
            printError("portcullis dev-issuer: \(error)")
            throw ExitCode(1)
        }
        log.info("dev issuer on \(issuer.address) for tenant \(issuer.tenantID): not for production")
        log.info("authority \(issuer.authority)")
        log.info("discovery \(issuer.discoveryURL()) (issuer \(issuer.v2Issuer)); v1.0: \(issuer.discoveryURL(v2: false)) (issuer \(issuer.v1Issuer))")
        log.info("token endpoint \(issuer.tokenEndpoint), keys \(issuer.jwksURL), signing key \(issuer.signingKeyIDs.first ?? "-")")
        if settings.managedIdentity != nil { log.info("managed identity: IDENTITY_ENDPOINT=\(issuer.managedIdentityEndpoint)") }
        log.info("SIGHUP or POST /admin/rotate (from loopback) rotates the signing key")
        var signal: Int32 = 0
        var set = signals
        while true {
            sigwait(&set, &signal)
            guard signal == SIGHUP else { break }
            do {
                let (current, previous) = try issuer.rotateKeys()
                log.info("signing key rotated: \(current) signs now, \(previous) is still published")
            } catch {
                log.error("\(error)")
            }
        }
        issuer.stop()
        log.info("stopped")
    }
}
