import Foundation
import Testing
import TestSupport

/// What deploy/ and the Dockerfile ship: the container image built and run by
/// scripts/container-test.sh (where podman is installed), the Kubernetes manifests checked against
/// the Kubernetes schema by deploy/check-manifests.py, and the shipped configs by `portcullis check`.
@Suite("deployment: container image, Kubernetes manifests, compose")
struct DeployTests {
    /// The repository root: this file is Tests/CLITests/DeployTests.swift.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Run {
        let status: Int32
        let output: String
        var tail: String { output.split(separator: "\n").suffix(40).joined(separator: "\n") }
    }

    /// Runs a program from the repository root to its end, stdout and stderr into one file (no pipe
    /// to fill), and terminates it after `timeout`; its trap then has 5 minutes to remove what it started.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval) throws -> Run {
        let run = try ProgramRun(arguments, directory: root, environment: environment, timeout: timeout, grace: 300)
        return Run(status: run.status, output: run.output)
    }

    // MARK: the container

    /// Why the container test does not run here, or nil when it does.
    static let containerSkipReason: String? = {
        let environment = ProcessInfo.processInfo.environment
        if environment["PORTCULLIS_SKIP_CONTAINER"] == "1" {
            return "PORTCULLIS_SKIP_CONTAINER=1: scripts/container-test.sh not run"
        }
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        let podman = path.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/podman")
        }
        if !podman {
            return "podman is not installed: scripts/container-test.sh not run (apt-get install podman runc debootstrap to run it; CI's setup does not)"
        }
        if getuid() != 0 { return "not root: scripts/container-test.sh needs rootful podman and debootstrap" }
        return nil
    }()

    @Test(.disabled(if: containerSkipReason != nil, Comment(rawValue: containerSkipReason ?? "")),
          .timeLimit(.minutes(45)))
    func theImageBuildsAndRunsReadOnlyInFrontOfTheDemoBackend() throws {
        // Builds the release binary (its own scratch path), the base image once, the image, and
        // runs it; every wait in the script is bounded, 40 minutes is the outer bound.
        let result = try Self.run(["bash", "scripts/container-test.sh"], timeout: 40 * 60)
        for line in result.output.split(separator: "\n") where line.hasPrefix("PASS") || line.hasPrefix("FAIL") || line.hasPrefix("----") || line.hasPrefix("container-test:") {
            print(line)
        }
        #expect(result.status == 0, "scripts/container-test.sh exited \(result.status):\n\(result.tail)")
        #expect(result.output.contains("container-test: ") && !result.output.contains("\nFAIL "))
    }

    @Test func theImageAndTheHostBuildTheBinaryWithOneCommand() throws {
        let command = "swift build -c release --static-swift-stdlib --product portcullis"
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let script = try String(contentsOf: Self.root.appendingPathComponent("scripts/container-test.sh"), encoding: .utf8)
        #expect(dockerfile.contains("RUN \(command)"))
        #expect(script.contains("build_flags=(-c release --static-swift-stdlib --product portcullis"))
        let ignored = try String(contentsOf: Self.root.appendingPathComponent(".dockerignore"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        for pattern in [".build", ".build-*", ".build_*", "bench/.build", ".git", "Package.resolved"] {
            #expect(ignored.contains(pattern), ".dockerignore lacks \(pattern)")
        }
    }

    // MARK: the manifests

    static let checker = "deploy/check-manifests.py"

    @Test func theKubernetesManifestsMatchTheSchemaAndTheSidecarConventions() throws {
        let result = try Self.run(["python3", Self.checker, "--policy", "--compose", "deploy/compose.yaml", "deploy/kubernetes"],
                                  timeout: 120)
        #expect(result.status == 0, "\(result.output)")
        for object in ["v1 ConfigMap orders-portcullis", "apps/v1 Deployment orders", "v1 Service orders"] {
            #expect(result.output.contains(object), "not checked: \(object)\n\(result.output)")
        }
        #expect(result.output.contains("ok deploy/compose.yaml"))
    }

    @Test func aTypoOrAMissingFieldInAManifestIsRefused() throws {
        let directory = NSTemporaryDirectory() + "portcullis-manifests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: good}
        spec:
          selector: {matchLabels: {app: a}}
          template:
            metadata: {labels: {app: a}}
            spec:
              containers:
                - name: app
                  image: app:1
                  imagePullPolicy: IfNotPresent
                  ports: [{containerPort: 8080}]
        """
        try good.write(toFile: directory + "/deployment.yaml", atomically: true, encoding: .utf8)
        let accepted = try Self.run(["python3", Self.checker, directory], timeout: 120)
        #expect(accepted.status == 0, "\(accepted.output)")

        let bad = good
            .replacingOccurrences(of: "imagePullPolicy: IfNotPresent", with: "imagePullPolcy: IfNotPresent")
            .replacingOccurrences(of: "containerPort: 8080", with: "containerPort: \"8080\"")
            + "\n        - image: sidecar:1\n"   // a second container without its required name
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selectr: {app: a}\n  ports: [{port: 80}]\n"
        try bad.write(toFile: directory + "/deployment.yaml", atomically: true, encoding: .utf8)
        let refused = try Self.run(["python3", Self.checker, directory], timeout: 120)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("containers[0].imagePullPolcy: unknown field of V1Container"), "\(refused.output)")
        #expect(refused.output.contains("containers[0].ports[0].containerPort: expected int"), "\(refused.output)")
        #expect(refused.output.contains("containers[1].name: required field of V1Container is missing"), "\(refused.output)")
        #expect(refused.output.contains("Service.spec.selectr: unknown field of V1ServiceSpec"), "\(refused.output)")
    }

    /// The configs that ship: the ConfigMap's portcullis.yaml, the image's default and compose's.
    /// They set `admin.address`, so this fails until the admin listener is on main.
    @Test func theShippedConfigsPassCheck() throws {
        let directory = NSTemporaryDirectory() + "portcullis-shipped-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let extracted = try Self.run(["python3", Self.checker, "--extract-config", directory, "deploy/kubernetes"], timeout: 120)
        #expect(extracted.status == 0, "\(extracted.output)")
        // Compose mounts the demo keys at /etc/portcullis-keys; here they are the repository's copy.
        let compose = try String(contentsOf: Self.root.appendingPathComponent("deploy/compose/portcullis.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "/etc/portcullis-keys/demo-jwks.json",
                                  with: Self.root.appendingPathComponent("config/examples/demo-jwks.json").path)
        try compose.write(toFile: directory + "/compose.yaml", atomically: true, encoding: .utf8)

        let cli = CLITests()
        for path in [directory + "/orders-portcullis.yaml", Self.root.appendingPathComponent("deploy/portcullis.yaml").path,
                     directory + "/compose.yaml"] {
            let result = try cli.run(["check", "--config", path])
            #expect(result.status == 0, "\(path): \(result.stderr)")
            #expect(result.stdout.contains("config OK"), "\(path): \(result.stdout)")
        }
    }
}
