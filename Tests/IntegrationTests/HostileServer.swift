import Foundation
import Testing

/// The project's hostile XMPP server (Tests/hostile/hostile.py), one scenario per process.
///
/// Started by the test itself, never by the Makefile: a server that cannot start fails the
/// test. It speaks real STARTTLS with its own certificate (`caFile`) and real SCRAM, and
/// logs what the client did as JSON lines (`events`), so a test can check, for instance,
/// that no `<auth>` was ever sent.
final class HostileServer: @unchecked Sendable {
    let scenario: String
    let port: Int
    let caFile: String
    private let process: RunningProcess

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("hostile/hostile.py").path

    /// One certificate for every server of this test run: making an RSA key per server costs
    /// seconds on a loaded machine.
    static let directory = NSTemporaryDirectory() + "tern-hostile-\(ProcessInfo.processInfo.processIdentifier)"

    init(_ scenario: String) async throws {
        self.scenario = scenario
        process = try startProcess("/usr/bin/env", ["python3", Self.script, "--scenario", scenario, "--dir", Self.directory])
        caFile = Self.directory + "/cert/localhost.crt"
        // Generous: under `make test` it starts beside hundreds of other tests.
        let deadline = ContinuousClock.now + .seconds(60)
        var found: Int?
        while found == nil {
            let output = process.output()
            if let first = output.stdout.split(separator: "\n", omittingEmptySubsequences: false).first,
                output.stdout.contains("\n"), let number = Int(first)
            {
                found = number
                break
            }
            guard process.process.isRunning else {
                throw HarnessError("the hostile server (\(scenario)) exited: \(output.stderr)")
            }
            guard ContinuousClock.now < deadline else {
                process.process.terminate()
                throw HarnessError("the hostile server (\(scenario)) printed no port: \(output.stderr)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        port = found ?? 0
    }

    deinit { stop() }

    func stop() {
        if process.process.isRunning { process.process.terminate() }
    }

    var address: String { "127.0.0.1:\(port)" }

    /// Everything the server logged so far, in order (the port line left out).
    var events: [[String: Any]] {
        process.output().stdout.split(separator: "\n").dropFirst().compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func events(_ name: String) -> [[String: Any]] {
        events.filter { $0["event"] as? String == name }
    }

    /// TCP connections the server accepted.
    var connections: Int { events("connect").count }

    /// Anything the server itself choked on, to print when a test fails.
    var serverErrors: [String] {
        events("server-error").map { "\($0)" } + [process.output().stderr].filter { !$0.isEmpty }
    }
}
