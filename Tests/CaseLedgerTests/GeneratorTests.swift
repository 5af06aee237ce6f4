import CaseLedgerCore
import Foundation
import XCTest

final class GeneratorTests: XCTestCase {
    func testSameSeedGivesTheSameEventsEventIdsIncluded() throws {
        let folder = try TemporaryFolder()
        for (name, seed) in [("a", "7"), ("b", "7"), ("c", "8")] {
            XCTAssertEqual(try CLI.run(["generate", "--cases", "40", "--seed", seed, "--out", folder.path(name)]).exitCode, 0)
        }
        let a = try Data(contentsOf: folder.url.appendingPathComponent("a"))
        XCTAssertEqual(a, try Data(contentsOf: folder.url.appendingPathComponent("b")))
        XCTAssertNotEqual(a, try Data(contentsOf: folder.url.appendingPathComponent("c")))
    }

    /// The portfolio waits, and is written, as canonical text: line for line what the events'
    /// trees give, in the same order.
    func testTheWrittenPortfolioIsTheEventsInCanonicalForm() throws {
        let folder = try TemporaryFolder()
        XCTAssertEqual(try CLI.run(["generate", "--cases", "300", "--seed", "5", "--out", folder.path("p.ndjson")]).exitCode, 0)
        var expected = ""
        try PortfolioGenerator(cases: 300, seed: 5).forEachEvent { expected += CanonicalJSON.string($0) + "\n" }
        XCTAssertGreaterThan(expected.count, 1_000_000, "chunks of 256 cases, events waiting between them")
        XCTAssertEqual(try String(contentsOfFile: folder.path("p.ndjson"), encoding: .utf8), expected)
    }

    /// A portfolio whose writing fails on the way (here the file size limit, `ulimit -f`, with
    /// SIGXFSZ ignored so the write itself fails) ends in a clear error and leaves nothing at
    /// --out: neither a half-written file nor the temporary one. A file already there is kept.
    func testAPortfolioThatCannotBeWrittenWholeLeavesNothingHalfWritten() throws {
        let folder = try TemporaryFolder()
        func generate(_ out: String) throws -> (status: Int32, stderr: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "trap '' XFSZ; ulimit -f 1024; exec \"$0\" \"$@\"", CLI.binary.path,
                                 "generate", "--cases", "800", "--seed", "2", "--out", out]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, stderr)
        }
        let failed = try generate(folder.path("p.ndjson"))
        XCTAssertEqual(failed.status, 1, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("cannot write \(folder.path("p.ndjson")): writing failed: File too large"), failed.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path), [])

        let kept = try folder.write("kept.ndjson", "an earlier portfolio\n")
        XCTAssertEqual(try generate(kept).status, 1)
        XCTAssertEqual(try String(contentsOfFile: kept, encoding: .utf8), "an earlier portfolio\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path), ["kept.ndjson"])
        // Without the limit the same portfolio is written whole.
        XCTAssertEqual(try CLI.run(["generate", "--cases", "800", "--seed", "2", "--out", kept]).exitCode, 0)
        XCTAssertGreaterThan(try FileManager.default.attributesOfItem(atPath: kept)[.size] as? Int ?? 0, 1 << 20)
    }

    func testGeneratedPortfolioIsAcceptedAndAppendingItAgainIsANoOp() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let first = try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "3", "--json"])
        XCTAssertEqual(first.exitCode, 0, first.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as! [String: Any]
        let appended = try XCTUnwrap(report["appended"] as? Int)
        let again = try CLI.run(["generate", "--db", db, "--cases", "60", "--seed", "3", "--json"])
        let second = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(second["appended"] as? Int, 0)
        XCTAssertEqual(second["duplicates"] as? Int, appended)
        XCTAssertEqual(try CLI.run(["verify", "--db", db]).exitCode, 0)
    }

    /// The portfolio walks the whole life of DOMAIN.md: every event type turns up.
    func testPortfolioUsesTheWholeCatalogueInSeveralTimeZones() throws {
        var types: Set<String> = []
        var zones: Set<String> = []
        var offsets: Set<String> = []
        try PortfolioGenerator(cases: 400, seed: 1).forEachEvent { event in
            types.insert(event["type"]!.stringValue!)
            if let zone = event["data"]?["debtor_timezone"]?.stringValue { zones.insert(zone) }
            offsets.insert(String(event["occurred_at"]!.stringValue!.suffix(6)))
        }
        XCTAssertEqual(types, Set(EventType.allCases.map(\.rawValue)))
        XCTAssertGreaterThanOrEqual(zones.count, 5)
        XCTAssertTrue(offsets.contains("-04:00") && offsets.contains("-05:00"), "New York daylight saving missing: \(offsets)")
    }

    func testGenerateRefusesAnEmptyPortfolioAsAUsageError() throws {
        let folder = try TemporaryFolder()
        let result = try CLI.run(["generate", "--db", folder.path("l.sqlite"), "--cases", "0"])
        XCTAssertEqual(result.exitCode, 2)
        XCTAssertTrue(result.stderr.contains("--cases"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path("l.sqlite")), "a refused generate created a ledger")
    }

    func testDemoRefusesToReuseAnExistingFileAndLeavesItUntouched() throws {
        let folder = try TemporaryFolder()
        let existing = try folder.write("mine.sqlite", "not to be touched")
        let result = try CLI.run(["demo", "--db", existing])
        XCTAssertEqual(result.exitCode, 1)
        XCTAssertTrue(result.stderr.contains("already exists"), result.stderr)
        XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "not to be touched")
    }
}
