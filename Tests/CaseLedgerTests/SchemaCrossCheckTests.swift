import CaseLedgerCore
import Foundation
import XCTest

/// The ledger's own schema validator and Python's `jsonschema` must give the same verdict on every
/// payload of the corpus (Tests/CaseLedgerTests/Fixtures/schema-corpus.ndjson, made by
/// Tools/make-schema-corpus.py), so the two can never drift apart.
final class SchemaCrossCheckTests: XCTestCase {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repository = tests.deletingLastPathComponent().deletingLastPathComponent()

    func testValidatorAgreesWithPythonJSONSchemaOnTheWholeCorpus() throws {
        let corpus = Self.tests.appendingPathComponent("Fixtures/schema-corpus.ndjson")
        let lines = try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertGreaterThan(lines.count, 1000)

        let catalogue = SchemaCatalogue.shared
        var ours: [String] = []
        var notes: [String] = []
        for line in lines {
            let entry: JSONValue
            do {
                entry = try JSONParser.parse(String(line))
            } catch {
                // Integers beyond ±(2^53 − 1) are refused before any schema is consulted.
                XCTAssertTrue(error.reason.contains("out of range"), "\(error)")
                ours.append("invalid")
                notes.append("refused by the parser: \(error.reason)")
                continue
            }
            let name = entry["schema"]!.stringValue!
            let type = EventType(rawValue: String(name.dropLast(3)))!
            let schema = try XCTUnwrap(catalogue.schema(for: type, version: 1), name)
            do {
                try schema.validate(entry["data"]!)
                ours.append("valid")
            } catch {
                ours.append("invalid")
            }
            XCTAssertEqual(ours.last, entry["expect"]!.stringValue!, "\(name): \(entry["note"]!.stringValue!)")
            notes.append("\(name): \(entry["note"]!.stringValue!)")
        }

        let python = try Self.pythonVerdicts(corpus: corpus)
        XCTAssertEqual(python.count, ours.count)
        var disagreements = 0
        for (index, (mine, theirs)) in zip(ours, python).enumerated() where mine != theirs {
            disagreements += 1
            if disagreements <= 10 { XCTFail("line \(index + 1) (\(notes[index])): ledger says \(mine), jsonschema says \(theirs)") }
        }
        XCTAssertEqual(disagreements, 0)
    }

    func testViolationsNameTheFieldPathAndTheReason() throws {
        let schema = try XCTUnwrap(SchemaCatalogue.shared.schema(for: .planOffered, version: 1))
        let data = try JSONParser.parse(#"{"plan_id":"P1","kind":"installments","total_minor":100,"installments":[{"due_date":"2024-03-01","amount_minor":50},{"due_date":"2024-04-01","amount_minor":-500}]}"#)
        XCTAssertThrowsError(try schema.validate(data)) { error in
            XCTAssertEqual("\(error)", "data.installments[1].amount_minor: expected integer ≥ 1, got -500")
        }
    }

    static func pythonVerdicts(corpus: URL) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", tests.appendingPathComponent("Support/jsonschema_verdicts.py").path,
                             repository.appendingPathComponent("Schemas/events").path, corpus.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let problem = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw PythonUnavailable(reason: "python3 with jsonschema and rfc3339-validator is required (.ci/run installs them): \(problem)")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

struct PythonUnavailable: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
