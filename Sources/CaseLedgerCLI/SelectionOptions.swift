import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

/// Which events to take (docs/cli.md, `replay`), shared by `replay` and `compliance diff`:
/// combined, the filters narrow. A date alone means that day in each debtor's time zone.
struct SelectionOptions: ParsableArguments {
    @Option(help: "Events that occurred up to this time: RFC 3339 with an offset, or a date (that day, debtor-local) — the world as of T.")
    var until: String?

    @Option(name: .customLong("known-at"), help: "Events recorded up to this time (RFC 3339, or a date, debtor-local) — what the bank knew at T.")
    var knownAt: String?

    @Option(name: .customLong("until-seq"), help: "The log up to this seq.")
    var untilSeq: Int64?

    func validate() throws {
        for (name, value) in [("--until", until), ("--known-at", knownAt)] {
            if let value, TimeBound(value) == nil { throw ValidationError(TimeBound.problem(value, option: name)) }
        }
        if let untilSeq, untilSeq < 0 { throw ValidationError("--until-seq must be ≥ 0") }
    }

    var filter: ReplayFilter {
        ReplayFilter(until: until.flatMap(TimeBound.init), knownAt: knownAt.flatMap(TimeBound.init), untilSeq: untilSeq)
    }
}

/// Which contacts a compliance report or diff looks at, shared by both: combined, they narrow.
struct ComplianceFilterOptions: ParsableArguments {
    @Option(name: .customLong("case"), help: "Only this case.")
    var caseID: String?

    @Option(help: "Only cases in this region or under it (US covers US-MA), as rulebook jurisdictions match.")
    var region: String?

    @Option(help: "Only contacts by this actor (kind:id).")
    var actor: String?

    @Option(help: "Only contacts from this time on (RFC 3339, or a date: from the start of that day, debtor-local).")
    var from: String?

    @Option(help: "Only contacts up to this time (RFC 3339, or a date: to the end of that day, debtor-local).")
    var to: String?

    func validate() throws {
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, TimeBound(value) == nil { throw ValidationError(TimeBound.problem(value, option: name)) }
        }
        if let actor, !actor.contains(":") {
            throw ValidationError("--actor takes kind:id (e.g. collector:\(actor))")
        }
    }

    var filter: ComplianceFilter {
        ComplianceFilter(caseID: caseID, region: region, actor: actor, from: from.flatMap(TimeBound.init), to: to.flatMap(TimeBound.init))
    }
}
