@testable import CaseLedgerCore
import XCTest

/// The rulebooks embedded in the build are read at every start without compiling the rulebook
/// schema (`RulebookLibrary.shipped`): here each is checked against it, and read as a file given
/// with `--rules` is. A rulebook from anywhere else is always checked against the schema.
final class RulebookTests: XCTestCase {
    func testEveryShippedRulebookPassesTheSchemaAndReadsAsAGivenFileDoes() throws {
        let files = RulebookLibrary.shippedFiles
        XCTAssertGreaterThanOrEqual(files.count, 10)
        XCTAssertEqual(RulebookLibrary.shipped.rulebooks.count, files.count)
        for (path, text) in files {
            XCTAssertNoThrow(try Rulebook.schema.validate(try JSONParser.parse(text), at: "", options: .ledger), path)
            let given = try Rulebook(json: text)
            XCTAssertEqual(RulebookLibrary.shipped.rulebooks.first { $0.id == given.id }, given, path)
        }
    }

    func testOnlyTheSchemaRefusesAnUnknownFieldAndAGivenRulebookMeetsIt() throws {
        let (path, text) = try XCTUnwrap(RulebookLibrary.shippedFiles.first)
        guard case .object(var object) = try JSONParser.parse(text) else { return XCTFail("\(path) is not an object") }
        object["max_calls_per_hour"] = .int(3)
        XCTAssertNoThrow(try Rulebook(.object(object), checkingSchema: false), "the field checks alone let it through")
        XCTAssertThrowsError(try Rulebook(.object(object))) { error in
            XCTAssertTrue("\(error)".contains("max_calls_per_hour"), "\(error)")
        }
        XCTAssertThrowsError(try Rulebook(json: String(decoding: CanonicalJSON.bytes(.object(object)), as: UTF8.self)))
    }
}
