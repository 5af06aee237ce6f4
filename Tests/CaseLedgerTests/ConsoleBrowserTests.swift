import Foundation
import XCTest

/// The console in a real browser: `Tests/browser/console_test.py` drives headless Chromium with
/// Selenium against `caseledger serve` on loopback (sign-in, search, a case's timeline, a
/// complaint's pack, what-if, a regulator's scope, sign-out, hostile text, screenshots, XHTML and
/// links). Screenshots of every page land in `.build/console-screenshots`.
///
/// It needs `chromium`, `chromedriver` and a `python3` with `selenium` on PATH (`.ci/run` installs
/// them). Without them it is skipped on a developer's machine and fails in CI (CI=true).
final class ConsoleBrowserTests: XCTestCase {
    func testTheConsoleInARealBrowser() throws {
        let missing = Self.missingTools()
        if !missing.isEmpty {
            let message = "the browser tests need \(missing.joined(separator: ", ")) (.ci/run installs them)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { return XCTFail(message) }
            throw XCTSkip(message)
        }
        let folder = try TemporaryFolder()
        let repository = OpenAPITests.repository
        let script = repository.appendingPathComponent("Tests/browser/console_test.py").path
        let artifacts = repository.appendingPathComponent(".build/console-screenshots").path
        let result = try runTool("/usr/bin/env", ["python3", script, "--binary", CLI.binary.path, "--artifacts", artifacts],
                                 in: folder, timeout: 900)
        XCTAssertEqual(result.exitCode, 0, "console_test.py:\n\(result.stdout.suffix(4000))\n\(result.stderr.suffix(12000))")
        // The script's own lines (a test run again in a new browser, its time) show in every
        // log, not only in a failure's: a browser that often needs a second try shows there.
        for line in result.stderr.split(separator: "\n") where line.hasPrefix("console_test:") { print(line) }
        // Each test leaves its screenshots; the suite checked they are not blank.
        let shots = try FileManager.default.contentsOfDirectory(atPath: artifacts).filter { $0.hasSuffix(".png") }
        XCTAssertGreaterThanOrEqual(shots.count, 15, "screenshots in \(artifacts): \(shots)")
    }

    /// What of chromium, chromedriver and python3 with selenium this machine lacks.
    static func missingTools() -> [String] {
        var missing: [String] = []
        for tool in ["chromium", "chromedriver"] where !onPath(tool) { missing.append(tool) }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import selenium"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        if (try? probe.run()) == nil { return missing + ["python3"] }
        probe.waitUntilExit()
        if probe.terminationStatus != 0 { missing.append("python3 with selenium") }
        return missing
    }

    static func onPath(_ tool: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }
}
