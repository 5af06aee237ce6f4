import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct ContactCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact-check",
        abstract: "Before contacting a debtor: the rules a contact would break, under every rulebook in force for the case.",
        discussion: "The same fold and rules as the compliance projection: what this says a contact would break is what `compliance` reports once it is appended. Exit 0 either way; --json says allowed true or false.")

    @OptionGroup var options: LedgerOptions

    @Argument(help: "The case id.")
    var caseID: String

    @Option(help: "call, sms, email, app, letter or visit.")
    var channel: PlannedContact.Channel

    @Option(help: "debtor, third_party or emergency_contact.")
    var party = "debtor"

    @Option(help: "When (RFC 3339). Default: now.")
    var at: String?

    @Option(help: "Who would make it (kind:id): rulebooks bind some kinds of actor only.")
    var actor = "collector:contact-check"

    @Option(help: "For a call: judge it as reaching the debtor (the connected-call cap), true by default.")
    var connected = true

    @Option(name: .customLong("visit-id"), help: "For a visit: the booked visit it completes (default: the latest one booked and not completed).")
    var visitID: String?

    func validate() throws {
        if let at, Timestamp(rfc3339: at) == nil { throw ValidationError("--at: " + (Timestamp.problem(rfc3339: at) ?? "not an RFC 3339 time")) }
        guard PlannedContact.parties.contains(party) else { throw ValidationError("--party: one of \(PlannedContact.parties.joined(separator: ", "))") }
        guard EventSubmission.isValidActor(actor) else { throw ValidationError("--actor is kind:id, kind one of \(EventSubmission.actorKinds.sorted().joined(separator: ", "))") }
    }

    func run() throws {
        let planned = PlannedContact(channel: channel, party: party, at: at.flatMap { Timestamp(rfc3339: $0) } ?? LedgerClock.now(), actor: actor,
                                     connected: connected, visitID: visitID)
        let check = try Ledger(path: options.path, mode: .read).contactCheck(caseID: caseID, planned: planned)
        if options.json {
            print(check.json.jsonLine, terminator: "")
            return
        }
        let when = "\(channel.rawValue) to the \(party.codeAsWords) at \(check.localTime) (debtor-local)"
        if let reason = check.notJudged {
            print("allowed: \(when) — no rule applies (\(reason))")
        } else if check.allowed {
            print("allowed: \(when) breaks no rule of \(check.rulebooks.joined(separator: ", "))")
        } else {
            print("NOT allowed: \(when) would break:")
            for violation in check.wouldBreak { print("  \(violation.rule.rawValue) [\(violation.rulebook)]: \(violation.detail)") }
        }
    }
}

extension PlannedContact.Channel: ExpressibleByArgument {}
