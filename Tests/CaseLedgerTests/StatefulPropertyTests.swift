import CaseLedgerCore
import CaseLedgerStore
import Foundation
import XCTest

/// A stateful property suite: seeded random *sequences* of valid-shaped events with extreme values
/// (the largest and smallest amounts, the edges of every date range, long cases, Unicode at its
/// edges), appended through the library batch by batch. Whatever is accepted or refused, after every
/// batch: a refused batch changed nothing; every case shows; the list has every case; `verify`
/// passes (chain, and every projection equal to a rebuild); and a forced rebuild changes no case.
final class StatefulPropertyTests: XCTestCase {
    /// Seeds run in CI; `CASELEDGER_PROPERTY_SEEDS=500` runs more by hand.
    static let seeds: Int = Int(ProcessInfo.processInfo.environment["CASELEDGER_PROPERTY_SEEDS"] ?? "") ?? 24

    func testRandomSequencesWithExtremeValuesNeverBreakAReadOrTheChecks() throws {
        var accepted = 0
        var refused = 0
        for seed in 1...UInt64(Self.seeds) {
            let folder = try TemporaryFolder()
            let ledger = try Ledger(path: folder.path("p.sqlite"), mode: .create, report: { _ in })
            var script = HostileScript(seed: seed)
            for batch in 0..<20 {
                let lines = script.batch()
                let before = try ledger.head()
                do {
                    _ = try ledger.appendBatch(now: HostileScript.clock) { appender in
                        for (index, line) in lines.enumerated() {
                            let event = try EventSubmission(json: JSONParser.parse(line), now: appender.now)
                            try appender.append(event, line: index + 1)
                        }
                    }
                    accepted += 1
                    script.accepted(lines)
                } catch is LedgerError {
                    refused += 1
                    XCTAssertEqual(try ledger.head(), before, "seed \(seed) batch \(batch): a refused batch must write nothing")
                } catch let error as FieldError {
                    refused += 1
                    XCTAssertEqual(try ledger.head(), before, "seed \(seed) batch \(batch): \(error)")
                }
                try assertEveryReadWorks(ledger, context: "seed \(seed) batch \(batch)")
            }
            let views = try allViews(ledger)
            _ = try ledger.rebuildProjections()
            XCTAssertEqual(try allViews(ledger), views, "seed \(seed): a rebuild changed a case")
        }
        // The generator must exercise both sides, or the property says little.
        XCTAssertGreaterThan(accepted, Self.seeds * 3)
        XCTAssertGreaterThan(refused, Self.seeds)
    }

    /// Ten thousand events on one case: the fold, its stored form and the rules stay readable.
    func testTenThousandEventsOnOneCase() throws {
        let folder = try TemporaryFolder()
        let ledger = try Ledger(path: folder.path("long.sqlite"), mode: .create, report: { _ in })
        var random = SeededRandom(seed: 77)
        var lines = [HostileScript.opening(caseID: "LONG", random: &random, day: "2024-01-01")]
        for n in 0..<10_000 {
            let minute = n % 1440
            let day = CalendarDate.string(days: CalendarDate.days("2024-01-02")! + n / 1440)
            let time = "\(day)T\(pad2(minute / 60)):\(pad2(minute % 60)):00+08:00"
            switch n % 10 {
            case 0: lines.append(HostileScript.envelope("LONG", "payment.received", time, "system:payments",
                                                        #"{"amount_minor":1,"currency":"CNY","channel":"cash","reference":"P"}"#, random: &random))
            case 1: lines.append(HostileScript.envelope("LONG", "note.recorded", time, "collector:a", #"{"text":"\#(HostileScript.texts[n % HostileScript.texts.count])"}"#, random: &random))
            default: lines.append(HostileScript.envelope("LONG", "call.placed", time, "collector:a",
                                                         #"{"direction":"outbound","party":"debtor","outcome":"no_answer"}"#, random: &random))
            }
        }
        _ = try ledger.appendBatch(now: HostileScript.clock) { appender in
            for (index, line) in lines.enumerated() {
                try appender.append(EventSubmission(json: JSONParser.parse(line), now: appender.now), line: index + 1)
            }
        }
        try assertEveryReadWorks(ledger, context: "long case")
        let view = try ledger.caseView("LONG")
        XCTAssertEqual(view["version"]?.intValue, 10_001)
        XCTAssertEqual(view["paid_minor"]?.intValue, 1000)
        XCTAssertEqual(view["contacts"]?["calls"]?.intValue, 8000)
        XCTAssertGreaterThan(try ledger.compliance(filter: ComplianceFilter(caseID: "LONG")).violations.count, 0)
    }

    func assertEveryReadWorks(_ ledger: Ledger, context: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var listed: [String] = []
        var unreadable: [String] = []
        try ledger.caseViews(unreadable: { id, _ in unreadable.append(id) }) { view in listed.append(view["case_id"]!.stringValue!) }
        XCTAssertEqual(unreadable, [], context, file: file, line: line)
        for caseID in listed {
            XCTAssertNoThrow(try ledger.caseView(caseID), "\(context): case \(caseID)", file: file, line: line)
            XCTAssertNoThrow(try ledger.auditTrail(.caseID(caseID)) { _ in }, "\(context): audit \(caseID)", file: file, line: line)
        }
        XCTAssertNoThrow(try ledger.compliance(), context, file: file, line: line)
        do { _ = try ledger.verify() } catch { XCTFail("\(context): verify: \(error)", file: file, line: line) }
    }

    func allViews(_ ledger: Ledger) throws -> [String] {
        var views: [String] = []
        try ledger.caseViews { views.append(CanonicalJSON.string($0)) }
        return views
    }
}

private func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

/// Seeded sequences of events shaped to pass the schemas, with values at the edges, for a few
/// cases at once: many are refused by the rules (that is the point), the rest must always read.
struct HostileScript {
    /// The ledger clock for these runs: the last second of the ledger's range, so every date is "past".
    static let clock = Timestamp(rfc3339: "2200-12-31T23:59:59Z")!
    static let amounts: [Int64] = [1, 2, 99, 1_000_000, 9_007_199_254_740_990, 9_007_199_254_740_991]
    static let dates = ["1900-01-01", "1900-01-02", "1970-01-01", "2000-02-29", "2024-02-29", "2038-01-19", "2200-12-30", "2200-12-31"]
    static let times = ["1900-01-01T00:00:00Z", "1900-01-01T00:00:00-12:00", "1900-01-01T23:59:59+14:00", "1969-12-31T23:59:59.999999Z",
                        "1970-01-01T00:00:00Z", "2024-03-10T02:30:00-05:00", "2024-11-03T01:30:00-04:00", "2100-02-28T23:59:59Z",
                        "2200-12-31T23:59:59Z", "2200-12-31T23:59:59.999999+00:00"]
    static let zones = ["Asia/Shanghai", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC", "Australia/Lord_Howe"]
    static let texts = ["😀👨‍👩‍👧", "\\u0000\\u001f\\u007f", "\u{202E}override\u{202C}", "line\\u2028sep", "\\\"quote\\\\",
                        "债务人称本月失业", "\u{FEFF}bom", String(repeating: "長", count: 4000), "<script>alert(1)</script>&amp;"]

    var random: SeededRandom
    var caseIDs: [String] = []
    var eventIDs: [String] = []
    var ids = ["V1", "V2", "P1", "P2", "R1", "R2", "CP1", "CP2"]

    init(seed: UInt64) {
        random = SeededRandom(seed: seed &* 0x9E37_79B9)
    }

    static func envelope(_ caseID: String, _ type: String, _ time: String, _ actor: String, _ data: String,
                         id: String? = nil, random: inout SeededRandom) -> String {
        #"{"event_id":"\#(id ?? random.uuid())","case_id":"\#(caseID)","type":"\#(type)","occurred_at":"\#(time)","actor":"\#(actor)","data":\#(data)}"#
    }

    static func opening(caseID: String, random: inout SeededRandom, day: String? = nil) -> String {
        let principal = random.pick(amounts)
        let fees = random.chance(0.5) ? random.pick(amounts) : 0
        let zone = random.pick(zones)
        let time = day.map { "\($0)T09:00:00+08:00" } ?? random.pick(Array(times.prefix(3)))
        return envelope(caseID, "case.opened", time, "system:intake", """
            {"debtor_ref":"D-\(random.int(0...99))","account_ref":"A-\(random.int(0...99))","product":"credit_card","currency":"CNY","principal_minor":\(principal),"fees_minor":\(fees),"due_date":"\(random.pick(dates))","debtor_timezone":"\(zone)","region":"\(random.pick(["CN-SH", "US-MA", "US", "HK", "ZZ"]))"}
            """, random: &random)
    }

    mutating func batch() -> [String] {
        var lines: [String] = []
        for _ in 0..<random.weighted([(1, 4), (2, 3), (4, 2), (12, 1)]) {
            if caseIDs.isEmpty || random.chance(0.08) {
                let caseID = "C-\(random.int(0...5))"
                lines.append(Self.opening(caseID: caseID, random: &random))
                continue
            }
            let caseID = random.pick(caseIDs)
            let time = random.pick(Self.times)
            let actor = random.pick(["collector:a", "visitor:b", "agency:c", "system:d", "supervisor:e", "debtor:f"])
            var id: String?
            if random.chance(0.05), let repeated = eventIDs.last { id = repeated }
            let data: (String, String)
            switch random.int(0...17) {
            case 0, 1: data = ("call.placed", #"{"direction":"\#(random.pick(["outbound", "inbound"]))","party":"\#(random.pick(["debtor", "third_party", "emergency_contact"]))","outcome":"\#(random.pick(["connected", "no_answer", "refused"]))","duration_s":\#(random.pick([0, 86400]))}"#)
            case 2: data = ("message.sent", #"{"channel":"\#(random.pick(["sms", "letter", "email", "app"]))","party":"debtor","template":"t"}"#)
            case 3: data = ("visit.booked", #"{"visit_id":"\#(random.pick(ids))","scheduled_for":"\#(random.pick(Self.times))","location":"\#(random.pick(["home", "workplace"]))","booked_via":"call"}"#)
            case 4: data = ("visit.completed", #"{"visit_id":"\#(random.pick(ids))","outcome":"met_debtor","hardship":true}"#)
            case 5: data = ("visit.cancelled", #"{"visit_id":"\#(random.pick(ids))","reason":"r"}"#)
            case 6: data = ("plan.offered", #"{"plan_id":"\#(random.pick(ids))","kind":"installments","total_minor":\#(random.pick(Self.amounts)),"installments":[{"due_date":"\#(Self.dates[0])","amount_minor":\#(random.pick(Self.amounts))},{"due_date":"\#(Self.dates[7])","amount_minor":1}]}"#)
            case 7: data = (random.chance(0.7) ? "plan.accepted" : "plan.declined", #"{"plan_id":"\#(random.pick(ids))"}"#)
            case 8: data = ("promise.made", #"{"amount_minor":\#(random.pick(Self.amounts)),"promised_date":"\#(random.pick(Self.dates))"}"#)
            case 9, 10: data = ("payment.received", #"{"amount_minor":\#(random.pick(Self.amounts)),"currency":"\#(random.chance(0.9) ? "CNY" : "USD")","channel":"cash","reference":"R"}"#)
            case 11: data = ("case.escalated", #"{"to":"\#(random.pick(["supervisor", "agency", "legal"]))","reason":"r"}"#)
            case 12: data = ("complaint.filed", #"{"complaint_id":"\#(random.pick(ids))","channel":"phone","category":"other","description":"\#(random.pick(Self.texts))","period_from":"\#(Self.dates[0])","period_to":"\#(Self.dates[7])"}"#)
            case 13: data = ("complaint.resolved", #"{"complaint_id":"\#(random.pick(ids))","finding":"upheld","remedy":"r"}"#)
            case 14: data = ("contact.restricted", #"{"restriction_id":"\#(random.pick(ids))","kind":"\#(random.pick(["cease_all", "no_calls", "no_workplace_contact"]))","reason":"r"\#(random.chance(0.5) ? #","until":"\#(random.pick(Self.times))""# : "")}"#)
            case 15: data = ("contact.restriction_lifted", #"{"restriction_id":"\#(random.pick(ids))","reason":"r"}"#)
            case 16: data = ("entry.voided", #"{"voids":"\#(eventIDs.isEmpty ? random.uuid() : random.pick(eventIDs))","reason":"\#(random.pick(Self.texts))"}"#)
            default: data = random.chance(0.3) ? ("case.closed", #"{"reason":"settled"}"#) : ("note.recorded", #"{"text":"\#(random.pick(Self.texts))"}"#)
            }
            lines.append(Self.envelope(caseID, data.0, time, actor, data.1, id: id, random: &random))
        }
        return lines
    }

    mutating func accepted(_ lines: [String]) {
        for line in lines {
            guard let json = try? JSONParser.parse(line) else { continue }
            let caseID = json["case_id"]!.stringValue!
            if !caseIDs.contains(caseID) { caseIDs.append(caseID) }
            eventIDs.append(json["event_id"]!.stringValue!)
        }
    }
}
