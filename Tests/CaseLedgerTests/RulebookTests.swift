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

    /// The rulebooks in force for a region on a day, and the stretch of days they hold for, are
    /// worked out once per region's jurisdictions (`RulebookLibrary`'s timelines): the same answer
    /// as the definition, for the shipped rulebooks, for a library with sub-regions, supersessions
    /// and canonically equal codes, and for one with too many jurisdictions to keep timelines.
    func testTheRulebooksInForceAreThoseTheDefinitionGivesOnEveryStretch() throws {
        let regions: [String?] = [nil, "", "CN", "CN-SH", "CN-SH-1", "CNX", "US", "US-MA", "US-MA-BOS", "US-MAX", "US-CA",
                                  "US-IL", "USA", "HK", "HK-KLN", "ZZ", "*", "C\u{00D4}TE", "CO\u{0302}TE-N", "\u{5317}\u{4EAC}-1"]
        try check(.shipped, regions: regions)

        let books = [
            try made("any-2020", "*", "2020-01-01"), try made("us-2021", "US", "2021-06-01"),
            try made("us-2023", "US", "2023-01-01", supersedes: ["us-2021"]), try made("us-ma-2022", "US-MA", "2022-03-02"),
            try made("us-ma-2024", "US-MA", "2024-02-29", supersedes: ["us-2023", "any-2020"]),
            try made("us-ma-bos-2019", "US-MA-BOS", "2019-12-31"), try made("cote-a", "C\u{00D4}TE", "2021-01-01"),
            try made("cote-b", "CO\u{0302}TE", "2022-01-01", supersedes: ["cote-a"]),
        ]
        try check(RulebookLibrary(rulebooks: books), regions: regions)
        let many = try (0..<70).map { try made("r-\($0)", "R\($0 % 66)", CalendarDate.string(days: 18_000 + 37 * $0)) }
        try check(RulebookLibrary(rulebooks: many + books), regions: regions + ["R1", "R1-X", "R65", "R66"])
        XCTAssertEqual(RulebookLibrary(rulebooks: many).stretch(region: "R3", around: 18_000 + 37 * 3).rulebooks.map(\.id), ["r-3"])
        XCTAssertEqual(RulebookLibrary(rulebooks: many).stretch(region: "R3", around: 18_000 + 37 * 3 - 1).rulebooks.map(\.id), [])
        XCTAssertEqual(RulebookLibrary(rulebooks: books).stretch(region: "US-MA-BOS-1", around: CalendarDate.days("2024-02-29")!).rulebooks.map(\.id),
                       ["us-ma-2022", "us-ma-2024", "us-ma-bos-2019"])
    }

    /// Each region on the days around every effective date (and the range's ends), against the
    /// definition: the covering rulebooks effective by then that none of them supersedes, on the
    /// days between the effective dates around the day.
    private func check(_ library: RulebookLibrary, regions: [String?]) throws {
        let edges = library.rulebooks.flatMap { [$0.effectiveFromDay - 1, $0.effectiveFromDay, $0.effectiveFromDay + 1] }
        for region in regions {
            let covering = library.rulebooks.filter { $0.covers(region: region) }
            for day in edges + [Limits.earliestDay, Limits.latestDay] {
                let effective = covering.filter { $0.effectiveFromDay <= day }
                let superseded = Set(effective.flatMap(\.supersedes))
                let from = effective.map(\.effectiveFromDay).max() ?? Int.min
                let until = covering.map(\.effectiveFromDay).filter { $0 > day }.min() ?? Int.max
                let stretch = library.stretch(region: region, around: day)
                let label = "\(region ?? "no region") on \(CalendarDate.string(days: day))"
                XCTAssertEqual(stretch.rulebooks.map(\.id), effective.filter { !superseded.contains($0.id) }.map(\.id), label)
                XCTAssertEqual(stretch.days, from..<until, label)
            }
        }
    }

    /// The first shipped rulebook under another id, jurisdiction and effective date.
    private func made(_ id: String, _ jurisdiction: String, _ effectiveFrom: String, supersedes: [String] = []) throws -> Rulebook {
        let (_, text) = try XCTUnwrap(RulebookLibrary.shippedFiles.first)
        var object = try XCTUnwrap(try JSONParser.parse(text).objectValue)
        object["id"] = .string(id)
        object["jurisdiction"] = .string(jurisdiction)
        object["effective_from"] = .string(effectiveFrom)
        object["supersedes"] = .array(supersedes.map { .string($0) })
        return try Rulebook(.object(object), checkingSchema: false)
    }

    /// A message is counted toward a rulebook's `frequency_channels` under the channel of its name.
    func testEachMessageChannelIsTheContactChannelOfItsName() {
        for channel in MessageChannel.allCases {
            XCTAssertEqual(ContactChannel(channel).rawValue, channel.rawValue)
        }
    }
}
