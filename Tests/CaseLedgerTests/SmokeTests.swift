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
}
