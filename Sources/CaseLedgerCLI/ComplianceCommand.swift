import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Compliance: ParsableCommand {
    static let configuration = CommandConfiguration(
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
        abstract: "Violations under the rulebooks in force at each event's time, or under one rulebook file (the default).",
        discussion: "Also lists every voided contact (a notice, not a violation: a void could hide a breach) and cases no rulebook applies to.")

    @OptionGroup var options: LedgerOptions

    @Option(help: ArgumentHelp("Judge everything by this rulebook file instead of the rulebooks in force.", valueName: "file"))
    var rules: String?

    @Option(name: .customLong("case"), help: "Only this case.")
    var caseID: String?

    func run() throws {
        let rulebook = try rules.map(Compliance.loadRulebook)
        let ledger = try Ledger(path: options.path, mode: .read)
        let report = try ledger.compliance(rulebook: rulebook, caseID: caseID)
        if options.json {
            let out = StdoutWriter()
            out.write(CanonicalJSON.bytes(report.json))
            out.write("\n")
            out.flush()
            return
        }
        let out = StdoutWriter()
        defer { out.flush() }
        let under = report.mode == .given ? "rulebook \(report.rulebooks[0].id) (given)" :
            "the rulebooks in force (\(report.rulebooks.map(\.id).joined(separator: ", ")))"
        out.write("Compliance under \(under)\(caseID.map { ", case \($0)" } ?? "")\n")
        out.write("\(report.violations.count) violations in \(Set(report.violations.map(\.caseID)).count) of \(report.casesJudged) cases judged\n")
        if !report.violations.isEmpty {
            out.write("\nby rule:\n")
            for (rule, count) in report.counts(by: { $0.rule }) { out.write("  \(rule.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(count).leftPadded(7))\n") }
            out.write("\nby actor:\n")
            for (actor, count) in report.counts(by: { $0.actor }) { out.write("  \(actor.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(count).leftPadded(7))\n") }
        }
        if !report.uncheckedCases.isEmpty {
            out.write("\nunchecked (no rulebook applies to their region): \(report.uncheckedCases.prefix(20).joined(separator: ", "))\(report.uncheckedCases.count > 20 ? " …" : "")\n")
        }
        if !report.violations.isEmpty {
            out.write("\nviolations:\n")
            for v in report.violations {
                out.write("  seq \(String(v.seq).leftPadded(8))  \(v.caseID)  \(v.localTime)  \(v.rule) [\(v.rulebook)]  \(v.actor): \(v.detail)\n")
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
        abstract: "The rule-change impact report: violations that appear and disappear when rulebook B replaces rulebook A.",
        discussion: "Give --rules twice: first the rulebook now, then the one considered. The filters narrow the events judged, as for replay. Example: what changes for 2024 if the daily cap had been 2 instead of 3?")

    @OptionGroup var options: LedgerOptions

    @Option(help: ArgumentHelp("Two rulebook files: before, then after.", valueName: "file"))
    var rules: [String] = []

    @OptionGroup var selection: SelectionOptions

    @Option(name: .customLong("case"), help: "Only this case.")
    var caseID: String?

    func validate() throws {
        guard rules.count == 2 else { throw ValidationError("give --rules exactly twice: the rulebook before, then after") }
    }

    func run() throws {
        let before = try Compliance.loadRulebook(rules[0])
        let after = try Compliance.loadRulebook(rules[1])
        let filter = selection.filter
        let diff = try Ledger(path: options.path, mode: .read).complianceDiff(before: before, after: after, filter: filter, caseID: caseID)
        let out = StdoutWriter()
        defer { out.flush() }
        if options.json {
            out.write(CanonicalJSON.bytes(diff.json))
            out.write("\n")
            return
        }
        out.write("\(before.id) → \(after.id): \(diff.beforeCount) → \(diff.afterCount) violations over \(diff.casesJudged) cases\n")
        out.write("  \(diff.appeared.count) appear, \(diff.disappeared.count) disappear\n")
        for (title, key) in [("by rule", { (v: Violation) in v.rule }), ("by actor", { (v: Violation) in v.actor })] {
            var counts: [String: (Int, Int)] = [:]
            for v in diff.appeared { counts[key(v), default: (0, 0)].0 += 1 }
            for v in diff.disappeared { counts[key(v), default: (0, 0)].1 += 1 }
            guard !counts.isEmpty else { continue }
            out.write("\n\(title):\n")
            for name in counts.keys.sorted() {
                out.write("  \(name.padding(toLength: 28, withPad: " ", startingAt: 0)) +\(counts[name]!.0)  -\(counts[name]!.1)\n")
            }
        }
        for (sign, list) in [("+", diff.appeared), ("-", diff.disappeared)] where !list.isEmpty {
            out.write("\n")
            for v in list { out.write("\(sign) seq \(v.seq)  \(v.caseID)  \(v.localTime)  \(v.rule) [\(v.rulebook)]  \(v.actor): \(v.detail)\n") }
        }
    }
  }
}
