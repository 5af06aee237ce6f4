import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Complaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complaint",
        abstract: "The complaints filed: open or resolved, by category and date.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List complaints, newest first (a JSON array with --json).",
            discussion: "--from and --to take an RFC 3339 time or a date (that day on the debtor's clock) and select by when the complaint was filed.")

        @OptionGroup var options: LedgerOptions

        @Option(help: "open or resolved.")
        var status: ComplaintQuery.Status?

        @Option(help: "contact_time, contact_frequency, harassment, privacy_disclosure, threat, wrong_amount or other.")
        var category: ComplaintCategory?

        @Option(help: "Only cases in this region or under it.")
        var region: String?

        @Option(help: "Filed from this time on.")
        var from: String?

        @Option(help: "Filed up to this time.")
        var to: String?

        func validate() throws {
            for (name, value) in [("--from", from), ("--to", to)] {
                if let value, TimeBound(value) == nil { throw ValidationError(TimeBound.problem(value, option: name)) }
            }
        }

        func run() throws {
            let now = LedgerClock.now()
            let list = try Ledger(path: options.path, mode: .read).complaintList(ComplaintQuery(
                status: status, category: category?.rawValue, region: region, from: from.flatMap(TimeBound.init), to: to.flatMap(TimeBound.init)))
            let out = StdoutWriter()
            defer { out.flush() }
            if options.json {
                out.write(CanonicalJSON.bytes(.array(list.map { $0.json(now: now) })))
                out.write("\n")
                return
            }
            out.write("complaint".padding(toLength: 24, withPad: " ", startingAt: 0) + "  " + "case".padding(toLength: 16, withPad: " ", startingAt: 0)
                      + "  filed (debtor-local)        status     category            age\n")
            for c in list {
                let status = c.status == "resolved" ? "resolved" + (c.finding.map { " (\($0.codeAsWords))" } ?? "") : "open"
                out.write("\(c.complaintID.padding(toLength: 24, withPad: " ", startingAt: 0))  \(c.caseID.padding(toLength: 16, withPad: " ", startingAt: 0))  "
                          + "\(c.filedLocal.padding(toLength: 26, withPad: " ", startingAt: 0))  \(status.padding(toLength: 9, withPad: " ", startingAt: 0))  "
                          + "\(c.category.padding(toLength: 18, withPad: " ", startingAt: 0))  \(c.ageDays(now: now)) days\n")
            }
            if list.isEmpty { Console.error("no complaints match") }
        }
    }
}

extension ComplaintQuery.Status: ExpressibleByArgument {}

/// The categories of `complaint.filed`.
enum ComplaintCategory: String, ExpressibleByArgument, CaseIterable {
    case contactTime = "contact_time"
    case contactFrequency = "contact_frequency"
    case harassment
    case privacyDisclosure = "privacy_disclosure"
    case threat
    case wrongAmount = "wrong_amount"
    case other
}
