import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The audit trail of a case or of an actor: every event, voided ones marked, with a one-sentence summary.")

    enum Format: String, ExpressibleByArgument {
        case table, json, csv
    }

    @OptionGroup var options: LedgerOptions

    @Option(name: .customLong("case"), help: "The case whose trail to show.")
    var caseID: String?

    @Option(help: "The actor (kind:id) whose trail to show, across cases.")
    var actor: String?

    @Option(help: "Only events that occurred at or after this time (RFC 3339, or a date: from the start of that day, debtor-local).")
    var from: String?

    @Option(help: "Only events that occurred at or before this time (RFC 3339, or a date: to the end of that day, debtor-local).")
    var to: String?

    @Option(help: "table (default), json or csv.")
    var format: Format?

    func validate() throws {
        guard (caseID == nil) != (actor == nil) else { throw ValidationError("give exactly one of --case or --actor") }
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, TimeBound(value) == nil { throw ValidationError(TimeBound.problem(value, option: name)) }
        }
    }

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .read)
        if let caseID, try ledger.count(caseID: caseID) == 0 {
            throw LedgerError.notFound("no case \(JSONText.shown(caseID)) in \(options.path)")
        }
        if let actor, !actor.contains(":") {
            // An id without its kind: say which actors it could mean, rather than "no events".
            let matches = try ledger.actors(withID: actor)
            throw LedgerError.notFound(matches.isEmpty
                ? "no actor with the id \(JSONText.quoted(actor)): actors are kind:id (collector:…, visitor:…, supervisor:…, agency:…, system:…, debtor:…)"
                : "actors are kind:id; \(JSONText.quoted(actor)) matches \(matches.joined(separator: ", ")): try --actor \(matches[0])")
        }
        let subject: AuditSubject = caseID.map { .caseID($0) } ?? .actor(actor!)
        let format = options.json ? .json : (self.format ?? .table)
        let out = StdoutWriter()
        defer { out.flush() }
        var count = 0
        switch format {
        case .json: out.write("[")
        case .csv: out.write("seq,event_id,case_id,type,occurred_at,local_time,recorded_at,actor,voided,violations,summary\n")
        case .table:
            out.write("\("seq".leftPadded(8))  \("debtor-local time".padding(toLength: 25, withPad: " ", startingAt: 0))  \("case".padding(toLength: 16, withPad: " ", startingAt: 0))  \("actor".padding(toLength: 26, withPad: " ", startingAt: 0))  what happened\n")
        }
        try ledger.auditTrail(subject, from: from.flatMap(TimeBound.init), to: to.flatMap(TimeBound.init)) { entry in
            let rules = entry.violations.map { "\($0.rule.rawValue) [\($0.rulebook)]" }
            switch format {
            case .json:
                out.write((count == 0 ? "" : ",") + CanonicalJSON.string(entry.json))
            case .csv:
                let fields = [String(entry.seq), entry.eventID, entry.caseID, entry.type, entry.occurredAt, entry.localTime, entry.recordedAt,
                              entry.actor, entry.voidedBy == nil ? "false" : "true", rules.joined(separator: "; "), entry.summary]
                out.write(fields.map(Self.csvField).joined(separator: ",") + "\n")
            case .table:
                let void = entry.voidedBy.map { "  [VOIDED by seq \($0.voidingSeq), \($0.actor): \($0.reason)]" } ?? ""
                let broke = rules.isEmpty ? "" : "  [VIOLATION: \(rules.joined(separator: ", "))]"
                out.write("\(String(entry.seq).leftPadded(8))  \(entry.localTime.padding(toLength: 25, withPad: " ", startingAt: 0))  "
                          + "\(entry.caseID.padding(toLength: 16, withPad: " ", startingAt: 0))  \(entry.actor.padding(toLength: 26, withPad: " ", startingAt: 0))  "
                          + "\(entry.summary)\(broke)\(void)\n")
            }
            count += 1
        }
        switch format {
        case .json: out.write("]\n")
        case .table:
            if count == 0 {
                out.flush()
                let who = caseID.map { "case \($0)" } ?? "actor \(actor!)"
                Console.error("no events for \(who)" + (from != nil || to != nil ? " in that period" : ""))
            }
        case .csv: break
        }
    }

    /// RFC 4180: quote fields with commas, quotes or line breaks; double the quotes.
    static func csvField(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
