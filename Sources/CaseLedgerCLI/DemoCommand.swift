import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The main job on an embedded default: a fresh ledger, a generated portfolio, and a tour of it.")

    @Option(name: .long, help: ArgumentHelp("Where to create the demo ledger (must not exist). Default: a new temporary folder.", valueName: "path"))
    var db: String?

    @Option(help: "How many cases to generate.")
    var cases: Int = 300

    @Option(help: "Generator seed.")
    var seed: UInt64 = 2024

    @Flag(help: "Then serve the demo ledger over HTTP: prints a token of each role and curl lines to try; Ctrl-C stops it.")
    var serve = false

    @OptionGroup(title: "With --serve") var server: ServerOptions

    func run() throws {
        let path: String
        if let db {
            guard !FileManager.default.fileExists(atPath: db) else {
                throw LedgerError.invalidInput("\(db) already exists; the demo builds a fresh ledger (give a new path)")
            }
            path = db
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: db).deletingLastPathComponent(), withIntermediateDirectories: true)
        } else {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("caseledger-demo-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            path = folder.appendingPathComponent("demo.sqlite").path
        }
        print("CaseLedger demo — a fresh ledger at \(path)\n")

        let ledger = try Ledger(path: path, mode: .create)
        let started = Date()
        let appended = try ledger.append(PortfolioGenerator(cases: cases, seed: seed))
        let seconds = Date().timeIntervalSince(started)
        print("1. Generated a portfolio of \(cases) cases (seed \(seed)) and appended it as one all-or-nothing batch:")
        print("   \(appended.appended) events in \(String(format: "%.2f", seconds)) s; head seq \(appended.headSeq)\n")

        let summary = try ledger.summary()
        print("2. What the log holds: \(summary.events) events, \(summary.cases) cases (\(summary.closedCases) closed), \(summary.actors) actors")
        for (type, count) in summary.eventsByType {
            print("   \(type.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(count).leftPadded(7))")
        }
        print()

        print("3. Append guarantees, shown on the live ledger:")
        var firstLine: [UInt8] = []
        try ledger.forEachEvent(LogQuery(limit: 1)) { event in firstLine = Array(Self.resubmission(of: event).utf8) }
        let repeatSummary = try ledger.appendBatch { appender in
            try appender.append(EventSubmission(json: JSONParser.parse(String(decoding: firstLine, as: UTF8.self)), now: appender.now), line: 1)
        }
        print("   the first event sent again: \(repeatSummary.appended) appended, \(repeatSummary.duplicates) duplicate — a no-op")
        do {
            let stale = #"{"event_id":"\#(UUID().uuidString.lowercased())","case_id":"C-2024-000001","type":"note.recorded","occurred_at":"2025-01-01T10:00:00+08:00","actor":"collector:zhang.wei","expected_version":1,"data":{"text":"stale write"}}"#
            _ = try ledger.appendBatch { appender in
                try appender.append(EventSubmission(json: JSONParser.parse(stale), now: appender.now), line: 1)
            }
        } catch let error as LedgerError {
            print("   a write with a stale expected_version: rejected (exit \(error.exitCode)): \(error)")
        }
        print()

        let chain = try ledger.verifyChain()
        try ledger.verifyProjections()
        print("4. verify: ok: \(chain.events) events, head \(chain.headHash)")
        print("   (every event's hash = SHA-256(previous hash ‖ RFC 8785 bytes); any edit breaks the chain)")
        print("   projections \(Ledger.projectionNames.joined(separator: ", ")) equal a fresh rebuild from the log\n")

        let featured = try Self.featuredCase(ledger)
        print("5. One case, as its projection holds it (caseledger case show \(featured)):")
        print(CaseText.describe(try ledger.caseView(featured)).split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
        print()
        print("6. Its audit trail (caseledger audit --case \(featured)), first entries and every voided one:")
        var entries: [AuditEntry] = []
        try ledger.auditTrail(.caseID(featured)) { entries.append($0) }
        for entry in entries.prefix(8) + entries.dropFirst(8).filter({ $0.voidedBy != nil || $0.type == "entry.voided" }) {
            let void = entry.voidedBy.map { "  [VOIDED by seq \($0.voidingSeq): \($0.reason)]" } ?? ""
            print("   \(String(entry.seq).leftPadded(6))  \(entry.occurredAt)  \(entry.summary)\(void)")
        }
        print("   … \(entries.count) entries in all\n")

        let report = try ledger.compliance()
        let share = report.contacts == 0 ? 100 : Double(report.contactsJudged) * 100 / Double(report.contacts)
        print("7. Compliance under every rulebook in force (\(report.rulebooks.count) shipped; each contact judged by all that apply):")
        print("   \(report.contactsJudged) of \(report.contacts) outbound contacts judged (\(String(format: "%.1f", share)) %); \(report.contactsNotJudged) not judged")
        print("   \(report.violationCount) violations in \(report.casesWithViolations) of \(report.cases) cases; \(report.notices.count) voided contacts listed as notices")
        for (rulebook, count) in report.byRulebook {
            print("   \(rulebook.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(count).leftPadded(6))")
        }
        for (rule, count) in report.byRule {
            print("   \(rule.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(count).leftPadded(6))")
        }
        let actors = report.byActor
        if !actors.isEmpty {
            print("   most violations by: " + actors.prefix(3).map { "\($0.key) (\($0.count))" }.joined(separator: ", "))
        }
        print()

        let complaints = try ledger.complaints()
        let violating = Set(report.violations.map(\.caseID))
        if let complaint = complaints.first(where: { violating.contains($0.caseID) }) ?? complaints.first {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("evidence-\(complaint.complaintID)")
            let evidence = try ledger.evidence(complaint: complaint.complaintID, caseID: complaint.caseID)
            _ = try Evidence.write(evidence, into: folder.path)
            print("8. Evidence pack for complaint \(complaint.complaintID) (case \(complaint.caseID)): \(evidence["violations"]?.arrayValue?.count ?? 0) violations, chain \(evidence["chain"]?["verified"]?.boolValue == true ? "verified" : "NOT verified")")
            print("   \(folder.appendingPathComponent("evidence.html").path)")
            print("   \(folder.appendingPathComponent("evidence.json").path)\n")
        }

        // The ledger as it stood: a regulator's "the case as it stood on 1 September 2024".
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        let asOf = "2024-09-01T00:00:00+08:00"
        let replayPath = folder.appendingPathComponent("as-of-2024-09-01.sqlite").path
        let replay = try Replay.run(source: path, output: replayPath, filter: ReplayFilter(until: TimeBound(asOf)))
        print("9. Replay as of \(asOf) (caseledger replay --until \(asOf) --out …): \(replay.events) of \(replay.sourceEvents) events")
        let then = try Ledger(path: replayPath, mode: .read)
        if let view = try? then.caseView(featured) {
            print("   \(featured) then: \(view["status"]?.stringValue ?? "?"), balance \(CaseText.money(view["balance_minor"]?.intValue, view["currency"]?.stringValue ?? ""))")
        } else {
            print("   \(featured) was not yet open then")
        }
        let nowView = try ledger.caseView(featured)
        print("   \(featured) now:  \(nowView["status"]?.stringValue ?? "?"), balance \(CaseText.money(nowView["balance_minor"]?.intValue, nowView["currency"]?.stringValue ?? ""))")
        print("   \(replayPath)\n")

        // The rule-change question: what if the bank's daily cap had been 2 instead of 3?
        if let policy = RulebookLibrary.shipped.rulebooks.first(where: { $0.id == "cn-bank-policy-2025" }), case .object(var object) = policy.json {
            object["id"] = .string("cn-bank-policy-2025-cap2")
            object["title"] = .string("What if: the bank policy with a daily cap of 2")
            object["max_calls_per_day"] = .int(2)
            let variant = try Rulebook(.object(object))
            let diff = try ledger.complianceDiff(before: policy, after: variant)
            print("10. Rule change: \(policy.id) → daily cap 2 instead of 3 (caseledger compliance diff --rules A --rules B):")
            print("   \(diff.beforeCount) → \(diff.afterCount) violations: \(diff.appeared.count) appear, \(diff.disappeared.count) disappear, over \(diff.casesJudged) cases")
            var byActor: [String: Int] = [:]
            for violation in diff.appeared { byActor[violation.actor, default: 0] += 1 }
            let top = byActor.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(3)
            if !top.isEmpty { print("   most affected: " + top.map { "\($0.key) (+\($0.value))" }.joined(separator: ", ")) }
            print()
        }

        try DemoTrust.run(ledger: ledger, path: path, folder: folder, featured: featured,
                          complaint: complaints.first(where: { violating.contains($0.caseID) }) ?? complaints.first)

        print("Look further:")
        print("   caseledger compliance --db \(path) --case \(featured)")
        print("   caseledger case list --db \(path) --status plan_active")
        print("   caseledger audit --db \(path) --actor collector:zhang.wei --format csv")
        print("   caseledger log --db \(path) --case \(featured) --json")
        print("   caseledger verify --db \(path) --checkpoint \(folder.appendingPathComponent("checkpoint.cosigned").path) --verifier-key @\(folder.appendingPathComponent("log.vkey").path) --verifier-key @\(folder.appendingPathComponent("witness.vkey").path)")
        if serve { try DemoServer.run(ledger: ledger, path: path, folder: folder, featured: featured, options: server) }
    }

    /// A case worth looking at: one with a voided event and a plan, if the portfolio has one.
    static func featuredCase(_ ledger: Ledger) throws -> String {
        var best: (score: Int, id: String)?
        try ledger.caseViews { view in
            let id = view["case_id"]!.stringValue!
            var score = 0
            if view["active_plan"] != .null { score += 2 }
            if view["status"]?.stringValue == "escalated" { score += 1 }
            score += min(2, (view["restrictions"]?.arrayValue?.count ?? 0))
            if best == nil || score > best!.score { best = (score, id) }
        }
        guard let best else { throw LedgerError.notFound("the demo portfolio has no cases") }
        return best.id
    }

    /// A stored event as its client sent it (the envelope without what the ledger assigned).
    static func resubmission(of event: StoredEvent) -> String {
        #"{"event_id":"\#(event.eventID)","case_id":"\#(event.caseID)","type":"\#(event.type)","schema_version":\#(event.schemaVersion),"occurred_at":"\#(event.occurredAt)","actor":"\#(event.actor)","data":\#(event.data)}"#
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
