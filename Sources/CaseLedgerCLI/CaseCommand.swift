import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Case: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case",
        abstract: "The current state of cases.",
        subcommands: [Show.self, List.self, Find.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "The current state of one case.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "The case id.")
        var caseID: String

        func run() throws {
            let view = try Ledger(path: options.path, mode: .read).caseView(caseID)
            if options.json {
                print(view.jsonLine, terminator: "")
            } else {
                print(CaseText.describe(view))
            }
        }
    }

    struct Find: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "find",
            abstract: "Find cases by what the debtor gives: an account reference or a debtor reference.",
            discussion: "Through the case index, never a scan of the log. One line per case found (a JSON array with --json); exit 1 when none is found.")

        @OptionGroup var options: LedgerOptions

        @Option(name: .customLong("account"), help: "The account_ref of the case's opening.")
        var account: String?

        @Option(name: .customLong("debtor"), help: "The debtor_ref of the case's opening.")
        var debtor: String?

        func validate() throws {
            guard (account == nil) != (debtor == nil) else { throw ValidationError("give exactly one of --account or --debtor") }
        }

        func run() throws {
            let views = try Ledger(path: options.path, mode: .read).findCases(accountRef: account, debtorRef: debtor)
            if options.json {
                print(JSONValue.array(views).jsonLine, terminator: "")
            } else {
                for view in views { print(CaseText.line(view)) }
            }
            if views.isEmpty {
                throw LedgerError.notFound("no case with " + (account.map { "account_ref \(JSONText.quoted($0))" } ?? "debtor_ref \(JSONText.quoted(debtor ?? ""))"))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "One line per case (a JSON array with --json).")

        @OptionGroup var options: LedgerOptions

        @Option(help: "Only cases with this status.")
        var status: CaseStatus?

        @Option(help: "Only cases escalated to this level (none: never escalated).")
        var escalation: EscalationFilter?

        func run() throws {
            let ledger = try Ledger(path: options.path, mode: .read)
            let out = StdoutWriter()
            defer { out.flush() }
            if options.json { out.write("[") }
            var first = true
            var unreadable: [(String, LedgerError)] = []
            try ledger.caseViews(status: status?.rawValue, escalation: escalation?.rawValue, unreadable: { unreadable.append(($0, $1)) }) { view in
                if options.json {
                    out.write((first ? "" : ",") + CanonicalJSON.string(view))
                } else {
                    out.write(CaseText.line(view) + "\n")
                }
                first = false
            }
            if options.json { out.write("]\n") }
            out.flush()
            // One bad case never hides the others: they are listed, and this one is reported.
            guard unreadable.isEmpty else {
                for (_, error) in unreadable { Console.error("error: \(error.description)") }
                throw LedgerError.storage("\(unreadable.count) case\(unreadable.count == 1 ? "" : "s") could not be listed: \(unreadable.map(\.0).prefix(10).joined(separator: ", "))")
            }
        }
    }
}

/// How a case reads for a person.
enum CaseText {
    static func money(_ minor: Int64?, _ currency: String) -> String {
        minor.map { Money.format($0, currency: currency) } ?? "?"
    }

    static func line(_ view: JSONValue) -> String {
        let currency = view["currency"]?.stringValue ?? ""
        let escalation = view["escalation"]?.stringValue.map { " → \($0)" } ?? ""
        return "\(view["case_id"]?.stringValue ?? "?")\t\(view["status"]?.stringValue ?? "?")\(escalation)\t"
            + "balance \(money(view["balance_minor"]?.intValue, currency))\tv\(view["version"]?.intValue ?? 0)\t"
            + "last event \(view["last_event_at"]?.stringValue ?? "?")"
    }

    static func describe(_ view: JSONValue) -> String {
        let currency = view["currency"]?.stringValue ?? ""
        func s(_ key: String) -> String { view[key]?.stringValue ?? "—" }
        var lines = [
            "case \(s("case_id")) — \(s("status"))" + (view["escalation"]?.stringValue.map { s("status") == "escalated" ? " to \($0)" : " (escalated to \($0))" } ?? ""),
            "  debtor \(s("debtor_ref")), account \(s("account_ref")), branch \(s("branch"))",
            "  \(s("product")) in \(s("region")), debtor time zone \(s("debtor_timezone"))",
            "  principal \(money(view["principal_minor"]?.intValue, currency)) + fees \(money(view["fees_minor"]?.intValue, currency))"
                + " − paid \(money(view["paid_minor"]?.intValue, currency)) = balance \(money(view["balance_minor"]?.intValue, currency))",
            "  opened \(s("opened_at")); last event \(s("last_event_at")); version \(view["version"]?.intValue ?? 0)",
        ]
        if let contacts = view["contacts"] {
            lines.append("  contacts: \(contacts["calls"]?.intValue ?? 0) calls, \(contacts["messages"]?.intValue ?? 0) messages, \(contacts["visits"]?.intValue ?? 0) visits")
        }
        if let plan = view["active_plan"], plan != .null {
            lines.append("  active plan \(plan["plan_id"]?.stringValue ?? "?") (\(plan["kind"]?.stringValue ?? "?")): paid \(money(plan["paid_toward_minor"]?.intValue, currency)) of \(money(plan["total_minor"]?.intValue, currency))")
        }
        if let promise = view["latest_promise"], promise != .null {
            lines.append("  latest promise: \(money(promise["amount_minor"]?.intValue, currency)) by \(promise["promised_date"]?.stringValue ?? "?")")
        }
        for restriction in view["restrictions"]?.arrayValue ?? [] {
            lines.append("  restriction \(restriction["restriction_id"]?.stringValue ?? "?"): \(restriction["kind"]?.stringValue ?? "?") since \(restriction["since"]?.stringValue ?? "?")"
                + (restriction["until"]?.stringValue.map { " until \($0)" } ?? ""))
        }
        let complaints = (view["open_complaints"]?.arrayValue ?? []).compactMap(\.stringValue)
        if !complaints.isEmpty { lines.append("  open complaints: \(complaints.joined(separator: ", "))") }
        if let reason = view["closed_reason"]?.stringValue { lines.append("  closed: \(reason.codeAsWords)") }
        return lines.joined(separator: "\n")
    }
}

extension CaseStatus: ExpressibleByArgument {}

extension EscalationFilter: ExpressibleByArgument {}
