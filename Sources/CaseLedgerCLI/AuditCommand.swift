import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The audit trail of a case or of an actor: every event, voided ones marked, with a one-sentence summary.")

    enum Format: String, ExpressibleByArgument {
        case table, json, csv
    }

    @OptionGroup var options: LedgerOptions

    @Option(name: .customLong("case"), help: "The case whose trail to show.")
    var caseID: String?

    @Option(help: "The actor (kind:id) whose trail to show, across cases.")
    var actor: String?

    @Option(help: "Only events that occurred at or after this RFC 3339 time.")
    var from: String?

    @Option(help: "Only events that occurred at or before this RFC 3339 time.")
    var to: String?

    @Option(help: "table (default), json or csv.")
    var format: Format?

    func validate() throws {
        guard (caseID == nil) != (actor == nil) else { throw ValidationError("give exactly one of --case or --actor") }
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, Timestamp(rfc3339: value) == nil {
                throw ValidationError("\(name) must be an RFC 3339 time with an offset, e.g. 2024-03-01T00:00:00+08:00")
            }
        }
    }

    func run() throws {
        let ledger = try Ledger(path: options.path, mode: .read)
        if let caseID, try ledger.count(caseID: caseID) == 0 {
            throw LedgerError.notFound("no case \(caseID) in \(options.path)")
        }
        let subject: AuditSubject = caseID.map { .caseID($0) } ?? .actor(actor!)
        let format = options.json ? .json : (self.format ?? .table)
        let out = StdoutWriter()
        defer { out.flush() }
        var count = 0
        switch format {
        case .json: out.write("[")
        case .csv: out.write("seq,event_id,case_id,type,occurred_at,recorded_at,actor,voided,summary\n")
        case .table: break
        }
        try ledger.auditTrail(subject, from: from.flatMap(Timestamp.init(rfc3339:)), to: to.flatMap(Timestamp.init(rfc3339:))) { entry in
            switch format {
            case .json:
                out.write((count == 0 ? "" : ",") + CanonicalJSON.string(entry.json))
            case .csv:
                let fields = [String(entry.seq), entry.eventID, entry.caseID, entry.type, entry.occurredAt, entry.recordedAt,
                              entry.actor, entry.voidedBy == nil ? "false" : "true", entry.summary]
                out.write(fields.map(Self.csvField).joined(separator: ",") + "\n")
            case .table:
                let void = entry.voidedBy.map { "  [VOIDED by seq \($0.voidingSeq), \($0.actor): \($0.reason)]" } ?? ""
                out.write("\(String(entry.seq).leftPadded(8))  \(entry.occurredAt.padding(toLength: 25, withPad: " ", startingAt: 0))  \(entry.caseID)  \(entry.summary)\(void)\n")
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
