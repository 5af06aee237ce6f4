import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Compliance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compliance",
        abstract: "Violations of the contact rules, and what a rule change would change.",
        subcommands: [Report.self, Diff.self],
        defaultSubcommand: Report.self)

    static func loadRulebook(_ path: String) throws -> Rulebook {
        do throws(FieldError) { return try Rulebook.read(path: path) } catch {
            let field = error.path.isEmpty || error.path == "rulebook" ? "" : "\(error.path): "
            throw LedgerError.invalidInput("rulebook \(path): \(field)\(error.reason)")
        }
    }
}

extension Compliance {
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Violations under every rulebook in force at each contact's time, or under one rulebook file (the default).",
        discussion: "Counts the contacts judged and not judged (no rulebook in force for the case's region on that day), and lists every voided contact (a notice: a void could hide a breach).")

    @OptionGroup var options: LedgerOptions

    @Option(help: ArgumentHelp("Judge everything by this rulebook file instead of the rulebooks in force (a what-if; add --region to keep it to its jurisdiction).", valueName: "file"))
    var rules: String?

    @OptionGroup var filters: ComplianceFilterOptions

    func run() throws {
        let rulebook = try rules.map(Compliance.loadRulebook)
        let out = StdoutWriter()
        defer { out.flush() }
        // The violations are written as they are read, after the counts: a large portfolio has millions.
        try Ledger(path: options.path, mode: .read).compliance(rulebook: rulebook, filter: filters.filter) { report, forEachViolation in
            if options.json {
                try report.writeCanonicalJSON(violations: forEachViolation) { out.write($0) }
                out.write("\n")
            } else {
                try writeText(report, forEachViolation, to: out)
            }
        }
    }

    private func writeText(_ report: ComplianceSummary, _ forEachViolation: ForEachViolation, to out: StdoutWriter) throws {
        let under = report.mode == .given ? "rulebook \(report.rulebooks[0].id) (given)" : "every rulebook in force (\(report.rulebooks.count) shipped)"
        out.write("Compliance under \(under)\(filters.caseID.map { ", case \($0)" } ?? "")\n")
        out.write("\(report.violationCount) violations in \(report.casesWithViolations) of \(report.cases) cases\n")
        out.write("contacts judged: \(report.contactsJudged) of \(report.contacts); not judged: \(report.contactsNotJudged)"
                  + " (cases judged \(report.casesJudged), not judged \(report.notJudgedCases.count))\n")
        for early in report.appliedEarly {
            out.write("note: \(early.rulebook) was applied to \(early.contacts) contacts from before it took effect on \(early.effectiveFrom) — a what-if\n")
        }
        if report.violationCount > 0 {
            for (title, rows) in [("by rule", report.byRule), ("by rulebook", report.byRulebook), ("by actor", report.byActor)] {
                out.write("\n\(title):\n")
                for (name, count) in rows { out.write("  \(name.padding(toLength: 32, withPad: " ", startingAt: 0)) \(String(count).leftPadded(7))\n") }
            }
        }
        if !report.notJudgedCases.isEmpty {
            out.write("\nnot judged (no rulebook in force for their contacts):\n")
            for (caseID, reason) in report.notJudgedCases.prefix(20) { out.write("  \(caseID): \(reason)\n") }
            if report.notJudgedCases.count > 20 { out.write("  … and \(report.notJudgedCases.count - 20) more\n") }
        }
        if report.violationCount > 0 {
            out.write("\nviolations:\n")
            try forEachViolation { v in
                out.write("  seq \(String(v.seq).leftPadded(8))  \(v.caseID)  \(v.localTime)  \(v.rule.rawValue) [\(v.rulebook)]  \(v.actor): \(v.detail)\n")
            }
        }
        out.write("\nvoided contacts (notices, not violations): \(report.notices.count)\n")
        for n in report.notices {
            out.write("  seq \(String(n.seq).leftPadded(8))  \(n.caseID)  \(n.localTime)  \(n.type) by \(n.actor) — voided by \(n.voidedBy.actor) at \(n.voidedBy.occurredAt) (seq \(n.voidedBy.voidingSeq)): \(n.voidedBy.reason)\n")
        }
    }
  }

  struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "The rule-change impact report: violations that appear and disappear when rulebook B replaces rulebook A.",
        discussion: "Give --rules twice: first the rulebook now, then the one considered. --until/--known-at/--until-seq narrow the events, as for replay; --from/--to/--region/--actor narrow the contacts. Example: what changes for 2024 if the daily cap had been 2 instead of 3?")

    @OptionGroup var options: LedgerOptions

    @Option(help: ArgumentHelp("Two rulebook files: before, then after.", valueName: "file"))
    var rules: [String] = []

    @OptionGroup var selection: SelectionOptions

    @OptionGroup var filters: ComplianceFilterOptions

    @Option(help: "How many actors and cases to rank, and how many violations to list (text output).")
    var limit: Int = 10

    func validate() throws {
        guard rules.count == 2 else { throw ValidationError("give --rules exactly twice: the rulebook before, then after") }
        guard limit >= 0 else { throw ValidationError("--limit must be ≥ 0") }
    }

    func run() throws {
        let before = try Compliance.loadRulebook(rules[0])
        let after = try Compliance.loadRulebook(rules[1])
        if before.id == after.id {
            Console.error("warning: both rulebooks have the id \(before.id); violations will name the same rulebook on both sides (give the variant its own id)")
        }
        let out = StdoutWriter()
        defer { out.flush() }
        // The lists are read a violation at a time (a rule change can make most contacts'
        // violations appear), and the text shows only the first `limit` of each.
        try Ledger(path: options.path, mode: .read).complianceDiff(before: before, after: after, selection: selection.filter,
                                                                   filter: filters.filter, listing: options.json ? nil : limit) { diff, appeared, disappeared in
            if options.json {
                try diff.writeCanonicalJSON(appeared: appeared, disappeared: disappeared) { out.write($0) }
                out.write("\n")
                return
            }
            out.write("\(before.id) → \(after.id): \(diff.beforeCount) → \(diff.afterCount) violations over \(diff.casesJudged) cases\n")
            out.write("  \(diff.appearedCount) appear, \(diff.disappearedCount) disappear\n")
            for (title, rows) in [("by rule", diff.byRule), ("actors most affected", diff.byActor), ("cases most affected", diff.byCase)] {
                guard !rows.isEmpty else { continue }
                out.write("\n\(title):\n")
                for row in rows.prefix(limit) {
                    out.write("  \(row.key.padding(toLength: 32, withPad: " ", startingAt: 0)) +\(row.appeared)  -\(row.disappeared)\n")
                }
                if rows.count > limit { out.write("  … \(rows.count - limit) more (--limit)\n") }
            }
            func list(_ sign: String, _ forEach: ForEachViolation, count: Int) throws {
                guard count > 0 else { return }
                out.write("\n")
                try forEach { v in
                    out.write("\(sign) seq \(v.seq)  \(v.caseID)  \(v.localTime)  \(v.rule.rawValue) [\(v.rulebook)]  \(v.actor): \(v.detail)\n")
                }
                if count > limit { out.write("\(sign) … \(count - limit) more (--json lists them all)\n") }
            }
            try list("+", appeared, count: diff.appearedCount)
            try list("-", disappeared, count: diff.disappearedCount)
        }
    }
  }
}
