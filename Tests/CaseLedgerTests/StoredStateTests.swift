import CaseLedgerCore
import GRDB
import XCTest

/// A case's stored state (the `case_state` projection's `state` column) is read in place when it
/// has the exact layout the ledger writes, and parsed as JSON otherwise: both readings must give
/// the same state, and neither may accept a damaged one.
final class StoredStateTests: XCTestCase {
    /// The stored states of a generated portfolio, as the ledger wrote them.
    private func storedStates() throws -> [String] {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        let generated = try CLI.run(["generate", "--db", db, "--cases", "40", "--seed", "3"])
        XCTAssertEqual(generated.exitCode, 0, generated.stderr)
        let states = try DatabaseQueue(path: db).read { try String.fetchAll($0, sql: "SELECT state FROM case_state ORDER BY case_id") }
        XCTAssertEqual(states.count, 40)
        return states
    }

    func testAStoredStateReadsBackToItsOwnBytesAndAsTheJSONParserReadsIt() throws {
        for text in try storedStates() {
            let state = try XCTUnwrap(CaseState(storedJSON: text), text)
            XCTAssertEqual(String(decoding: state.storedJSON, as: UTF8.self), text)
            // A space after the opening brace is still the same JSON, but not the written layout:
            // the parser reads it.
            let parsed = try XCTUnwrap(CaseState(storedJSON: "{ " + text.dropFirst()))
            XCTAssertEqual(parsed, state)
            XCTAssertGreaterThan(state.records.count, 0)
        }
    }

    func testAnEscapedStringOrANonCanonicalDataIsReadByTheParserToTheSameState() throws {
        let text = try XCTUnwrap(storedStates().first { $0.contains(#""type":"payment.received""#) })
        let state = try XCTUnwrap(CaseState(storedJSON: text))
        // "2" written as \u0032: the same string, escaped as no writer of the ledger would.
        let escaped = text.replacingOccurrences(of: #""last_event_at":"2"#, with: #""last_event_at":"\u0032"#)
        XCTAssertNotEqual(escaped, text)
        XCTAssertEqual(CaseState(storedJSON: escaped), state)
        // A record's data with a space in it is not canonical: the parser reads it, and the state
        // writes it back canonical.
        let spaced = text.replacingOccurrences(of: #""data":{""#, with: #""data":{ ""#)
        XCTAssertNotEqual(spaced, text)
        let read = try XCTUnwrap(CaseState(storedJSON: spaced))
        XCTAssertEqual(read, state)
        XCTAssertEqual(String(decoding: read.storedJSON, as: UTF8.self), text)
    }

    func testAStringThatNeedsEscapesIsWrittenBackInCanonicalForm() throws {
        // The ledger's own strings (ids, times) never need an escape, but the writer must escape
        // any: a case id with a quote, a backslash, a control character and a non-ASCII letter,
        // read through the parser, is written back as canonical JSON writes it.
        let states = try storedStates()
        let text = try XCTUnwrap(states.min { $0.utf8.count < $1.utf8.count })
        let caseID = try XCTUnwrap(text.firstRange(of: #/"case_id":"[^"]*"/#))
        let odd = text.replacingCharacters(in: caseID, with: #""case_id":"C-\"q\\b\u0001\u00e9\n""#)
        let state = try XCTUnwrap(CaseState(storedJSON: odd), odd)
        XCTAssertEqual(state.caseID, "C-\"q\\b\u{01}é\n")
        let expected = text.replacingCharacters(in: caseID, with: #""case_id":"C-\"q\\b\u0001é\n""#)
        XCTAssertEqual(String(decoding: state.storedJSON, as: UTF8.self), expected)
        // Written over a longer state (as a table writes case after case into one buffer), the
        // buffer holds this state's bytes and nothing of the longer one's.
        let longest = try XCTUnwrap(states.max { $0.utf8.count < $1.utf8.count }.flatMap { CaseState(storedJSON: $0) })
        var buffer = TextBuffer()
        longest.writeStoredJSON(into: &buffer)
        XCTAssertGreaterThan(buffer.count, expected.utf8.count)
        state.writeStoredJSON(into: &buffer)
        XCTAssertEqual(String(decoding: buffer.withBytes { Array($0) }, as: UTF8.self), expected)
    }

    func testADamagedStoredStateIsRefusedWhereverItIsCut() throws {
        let text = try XCTUnwrap(storedStates().max { $0.utf8.count < $1.utf8.count })
        let bytes = Array(text.utf8)
        for length in 0..<bytes.count {
            XCTAssertNil(CaseState(storedJSON: String(decoding: bytes[..<length], as: UTF8.self)), "cut at \(length)")
        }
        for damaged in [
            text.replacingOccurrences(of: #""version":"#, with: #""version":0"#),  // a leading zero
            text.replacingOccurrences(of: #""last_seq":"#, with: #""last_seq":99999999999999999"#),  // past 2^53 − 1
            text.replacingOccurrences(of: #""type":"case.opened""#, with: #""type":"case.reopened""#),  // no such type
            text + " x",
        ] {
            XCTAssertNotEqual(damaged, text)
            XCTAssertNil(CaseState(storedJSON: damaged), damaged)
        }
        // A record's event id that is not a UUID: refused by the reader of the written layout and,
        // with a space that sends it to the parser, by the parser too (never read as another id).
        let id = try XCTUnwrap(text.firstRange(of: #/"event_id":"[0-9a-f-]{36}"/#))
        for edited in [#""event_id":"payment-1""#, #""event_id":"018d1542d-d00-7ea0-ad16-66b433558d8e""#] {
            let damaged = text.replacingCharacters(in: id, with: edited)
            XCTAssertNil(CaseState(storedJSON: damaged), edited)
            XCTAssertNil(CaseState(storedJSON: "{ " + damaged.dropFirst()), "parsed: \(edited)")
        }
    }
}
