import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Compliance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Violations of the contact rules: under the rulebooks in force at each event's time, or under one rulebook file.",
        discussion: "Also lists every voided contact (a notice, not a violation: a void could hide a breach) and cases no rulebook applies to.")

    @OptionGroup var options: LedgerOptions

    @Option(help: ArgumentHelp("Judge everything by this rulebook file instead of the rulebooks in force.", valueName: "file"))
    var rules: String?

    @Option(name: .customLong("case"), help: "Only this case.")
    var caseID: String?

    func run() throws {
        let rulebook = try rules.map(Self.loadRulebook)
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

    static func loadRulebook(_ path: String) throws -> Rulebook {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LedgerError.invalidInput("cannot read rulebook \(path)")
        }
        do throws(FieldError) { return try Rulebook(json: text) } catch {
            throw LedgerError.invalidInput("rulebook \(path): \(error.path): \(error.reason)")
        }
    }
}
