@testable import CaseLedgerCore
import XCTest

/// The rulebooks embedded in the build are read at every start without compiling the rulebook
/// schema (`RulebookLibrary.shipped`): here each is checked against it, and read as a file given
/// with `--rules` is. A rulebook from anywhere else is always checked against the schema.
final class RulebookTests: XCTestCase {
    /// One rule for rulebook jurisdictions, token scopes and report filters: a code covers itself
    /// and its sub-regions at a `-`, and nothing that merely starts with the same letters.
    func testARegionCodeCoversItselfAndItsSubRegionsOnly() {
        let cases: [(code: String, region: String, covers: Bool)] = [
            ("US", "US", true), ("US", "US-MA", true), ("US", "US-", true), ("US-MA", "US-MA", true),
            ("US", "USA", false), ("US", "U", false), ("US", "", false), ("US-MA", "US", false),
            ("US-MA", "US-MAX", false), ("US", "us-ma", false), ("CN", "CN-SH", true), ("CN-SH", "CN-SH-1", true),
            // Other text is compared as Strings: canonically equivalent text is the same region.
            ("C\u{00D4}TE", "CO\u{0302}TE-N", true), ("\u{5317}\u{4EAC}", "\u{5317}\u{4EAC}-1", true), ("\u{5317}", "\u{5317}\u{4EAC}", false),
        ]
        for (code, region, covers) in cases {
            XCTAssertEqual(RegionCode.covers(code, region), covers, "\(code) covers \(region)")
            XCTAssertEqual(RegionCode.covers(code, region), region == code || region.hasPrefix(code + "-"), "\(code) covers \(region)")
        }
        XCTAssertEqual(Scope("region:US")?.covers(caseID: "C-1", region: "US-CA"), true)
        XCTAssertEqual(Scope("region:US")?.covers(caseID: "C-1", region: "USA"), false)
    }

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
