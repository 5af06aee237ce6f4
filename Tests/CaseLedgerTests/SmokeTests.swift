import Foundation
import XCTest

final class SmokeTests: XCTestCase {
    func testInitAppendAndLogThroughTheBinary() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let result = try append([Events.opened(), Events.call()], to: db)
        XCTAssertEqual(result.exitCode, 0, result.stderr)
        XCTAssertEqual(result.stdout, #"{"appended":2,"duplicate_events":[],"duplicates":0,"head_seq":2}"# + "\n")
        let log = try CLI.run(["log", "--db", db, "--json"])
        XCTAssertEqual(log.stdout.split(separator: "\n").count, 2)
    }

    /// Every command spells out its name. Without one, ArgumentParser derives it from the type's
    /// name at run time (`String(describing:)`, a search of the binary's conformance records for
    /// each command), which cost every process about 57 M instructions of start-up: more than
    /// `case show` did besides. docs/cli.md (DocsTests) keeps the names themselves as they were.
    func testEveryCommandConfigurationNamesItsCommand() throws {
        let sources = DocsTests.repository.appendingPathComponent("Sources/CaseLedgerCLI")
        var configurations = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: sources.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for part in text.components(separatedBy: "CommandConfiguration(").dropFirst() {
                configurations += 1
                let arguments = part.prefix { $0 != ")" }
                XCTAssertTrue(arguments.contains("commandName:"), "\(file): a CommandConfiguration without commandName")
            }
        }
        XCTAssertGreaterThan(configurations, 40)
    }
}
