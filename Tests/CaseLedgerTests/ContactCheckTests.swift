import Foundation
import XCTest

/// The pre-contact check (`GET /v1/cases/{id}/contact-check`, `caseledger contact-check`) says
/// what `compliance` says once the same contact is appended: for every rule, and for a contact
/// that breaks none. Debtors in London, where only the group-wide demo policy is in force
/// (08:30–20:00, 3 calls a day and 1 connected, 12 in 7 days, 2 quiet days, bookings,
/// restrictions, no third parties).
final class ContactCheckTests: XCTestCase {
    struct Scenario: Sendable {
        let caseID: String
        /// What happened before, as NDJSON lines (after the opening).
        let history: [String]
        let query: String
        /// The contact itself, appended after the check.
        let contact: @Sendable (String) -> String
        let expected: Set<String>
    }

    static let actor = "collector:agent"

    static func call(_ caseID: String, _ at: String, outcome: String = "no_answer", party: String = "debtor", id: String = UUID().uuidString.lowercased()) -> String {
        Events.line(id: id, caseID: caseID, type: "call.placed", occurredAt: at, actor: actor,
                    data: #"{"direction":"outbound","party":"\#(party)","outcome":"\#(outcome)","duration_s":\#(outcome == "connected" ? 60 : 0)}"#)
    }

    static let scenarios: [Scenario] = [
        Scenario(caseID: "C-HOURS", history: [], query: "channel=call&connected=false&at=2024-06-03T21:30:00%2B01:00",
                 contact: { call("C-HOURS", "2024-06-03T21:30:00+01:00", id: $0) }, expected: ["contact_hours/contact_hours"]),
        Scenario(caseID: "C-SMS", history: [], query: "channel=sms&at=2024-06-03T21:30:00%2B01:00",
                 contact: { Events.line(id: $0, caseID: "C-SMS", type: "message.sent", occurredAt: "2024-06-03T21:30:00+01:00", actor: actor,
                                        data: #"{"channel":"sms","party":"debtor","template":"reminder"}"#) },
                 expected: ["contact_hours/contact_hours"]),
        Scenario(caseID: "C-DAY", history: ["10", "11", "12"].map { call("C-DAY", "2024-06-04T\($0):00:00+01:00") },
                 query: "channel=call&connected=false&at=2024-06-04T13:00:00%2B01:00",
                 contact: { call("C-DAY", "2024-06-04T13:00:00+01:00", id: $0) }, expected: ["calls_per_day/max_calls_per_day"]),
        Scenario(caseID: "C-WEEK", history: (1...6).flatMap { day in ["10", "15"].map { call("C-WEEK", "2024-06-0\(day)T\($0):00:00+01:00") } },
                 query: "channel=call&connected=false&at=2024-06-07T10:00:00%2B01:00",
                 contact: { call("C-WEEK", "2024-06-07T10:00:00+01:00", id: $0) }, expected: ["calls_per_7_days/max_calls_per_7_days"]),
        Scenario(caseID: "C-QUIET", history: [call("C-QUIET", "2024-06-10T10:00:00+01:00", outcome: "connected")],
                 query: "channel=call&connected=false&at=2024-06-11T10:00:00%2B01:00",
                 contact: { call("C-QUIET", "2024-06-11T10:00:00+01:00", id: $0) },
                 expected: ["quiet_after_conversation/quiet_days_after_conversation"]),
        Scenario(caseID: "C-CONNECTED", history: [call("C-CONNECTED", "2024-06-12T10:00:00+01:00", outcome: "connected")],
                 query: "channel=call&at=2024-06-12T15:00:00%2B01:00",
                 contact: { call("C-CONNECTED", "2024-06-12T15:00:00+01:00", outcome: "connected", id: $0) },
                 expected: ["calls_per_day/max_connected_calls_per_day", "quiet_after_conversation/quiet_days_after_conversation"]),
        Scenario(caseID: "C-RESTRICTED",
                 history: [Events.line(caseID: "C-RESTRICTED", type: "contact.restricted", occurredAt: "2024-06-12T09:00:00+01:00", actor: "supervisor:s",
                                       data: #"{"restriction_id":"R-1","kind":"no_calls","reason":"debtor asked in writing"}"#)],
                 query: "channel=call&connected=false&at=2024-06-13T10:00:00%2B01:00",
                 contact: { call("C-RESTRICTED", "2024-06-13T10:00:00+01:00", id: $0) },
                 expected: ["contact_during_restriction/honour_restrictions"]),
        Scenario(caseID: "C-THIRD", history: [], query: "channel=call&party=third_party&connected=false&at=2024-06-14T10:00:00%2B01:00",
                 contact: { call("C-THIRD", "2024-06-14T10:00:00+01:00", party: "third_party", id: $0) },
                 expected: ["third_party_contact/third_party_contact"]),
        Scenario(caseID: "C-VISIT", history: [], query: "channel=visit&visit_id=V-1&at=2024-06-15T10:00:00%2B01:00",
                 contact: { Events.line(id: $0, caseID: "C-VISIT", type: "visit.completed", occurredAt: "2024-06-15T10:00:00+01:00", actor: "visitor:v",
                                        data: #"{"visit_id":"V-1","outcome":"met_debtor"}"#) },
                 expected: ["visit_without_booking/visits_require_booking"]),
        Scenario(caseID: "C-FINE", history: [], query: "channel=call&connected=false&at=2024-06-17T10:00:00%2B01:00",
                 contact: { call("C-FINE", "2024-06-17T10:00:00+01:00", id: $0) }, expected: []),
    ]

    func testContactCheckAgreesWithComplianceForEveryRule() throws {
        let folder = try TemporaryFolder()
        let db = try makeLedger(folder)
        var lines: [String] = []
        for scenario in Self.scenarios {
            lines.append(TwoRegions.opened(scenario.caseID, region: "GB-LND", zone: "Europe/London", currency: "GBP", occurredAt: "2024-05-20T09:00:00Z"))
            lines += scenario.history
        }
        XCTAssertEqual(try append(lines, to: db).exitCode, 0)
        let reader = try token(db, role: "reader", name: "dialer")
        let writer = try token(db, role: "writer", name: "feed")
        let server = try ServerProcess(db: db, folder: folder)

        for scenario in Self.scenarios {
            let check = try HTTP.get("\(server.base)/v1/cases/\(scenario.caseID)/contact-check?actor=\(Self.actor)&\(scenario.query)", token: reader)
            XCTAssertEqual(check.status, 200, check.text)
            let answer = try check.object()
            let wouldBreak = Set((answer["would_break"] as! [[String: Any]]).map { "\($0["rule"]!)/\($0["limit"]!)" })
            XCTAssertEqual(wouldBreak, scenario.expected, "\(scenario.caseID): \(check.text)")
            XCTAssertEqual(answer["allowed"] as? Bool, scenario.expected.isEmpty)
            XCTAssertTrue((answer["would_break"] as! [[String: Any]]).allSatisfy { $0["rulebook"] as? String == "demo-bank-policy-2024" })

            // The CLI twin says the same.
            let cli = try CLI.run(["contact-check", "--db", db, scenario.caseID, "--json", "--actor", Self.actor]
                                  + scenario.query.split(separator: "&").flatMap { pair -> [String] in
                                      let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                                      return ["--\(parts[0].replacingOccurrences(of: "_", with: "-"))", parts[1].replacingOccurrences(of: "%2B", with: "+")]
                                  })
            XCTAssertEqual(cli.exitCode, 0, cli.stderr)
            XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? NSDictionary, answer as NSDictionary)

            // Append the same contact: compliance reports exactly those rules for it.
            let id = UUID().uuidString.lowercased()
            XCTAssertEqual(try HTTP.post("\(server.base)/v1/events", token: writer, scenario.contact(id)).status, 200)
            let report = try HTTP.get("\(server.base)/v1/compliance?case=\(scenario.caseID)", token: reader).object()
            let found = Set((report["violations"] as! [[String: Any]]).filter { $0["event_id"] as? String == id }.map { "\($0["rule"]!)/\($0["limit"]!)" })
            XCTAssertEqual(found, scenario.expected, "\(scenario.caseID): compliance after the append")
        }
        // A contact no rulebook judges: allowed, and said why.
        XCTAssertEqual(try append([TwoRegions.opened("C-NOWHERE", region: "ZZ", zone: "UTC", currency: "EUR", occurredAt: "2020-01-01T00:00:00Z")], to: db).exitCode, 0)
        let none = try HTTP.get("\(server.base)/v1/cases/C-NOWHERE/contact-check?channel=call&at=2020-01-02T03:00:00Z", token: reader).object()
        XCTAssertEqual(none["allowed"] as? Bool, true)
        XCTAssertTrue((none["not_judged"] as? String)?.contains("no rulebook in force") == true, "\(none)")
        for bad in ["channel=fax", "channel=call&party=neighbour", "channel=call&at=yesterday", "channel=call&actor=nobody", "channel=call&connected=maybe"] {
            XCTAssertEqual(try HTTP.get("\(server.base)/v1/cases/C-FINE/contact-check?\(bad)", token: reader).status, 400, bad)
        }
        XCTAssertEqual(server.stop(), 0)
    }
}
