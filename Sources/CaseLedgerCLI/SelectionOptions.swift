import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

/// Which events to take (CONTRACT §5, `replay`), shared by `replay` and `compliance diff`:
/// combined, the filters narrow.
struct SelectionOptions: ParsableArguments {
    @Option(help: "Events that occurred up to this RFC 3339 time (the world as of T).")
    var until: String?

    @Option(name: .customLong("known-at"), help: "Events recorded up to this RFC 3339 time (what the bank knew at T).")
    var knownAt: String?

    @Option(name: .customLong("until-seq"), help: "The log up to this seq.")
    var untilSeq: Int64?

    func validate() throws {
        for (name, value) in [("--until", until), ("--known-at", knownAt)] {
            if let value, Timestamp(rfc3339: value) == nil {
                throw ValidationError("\(name) must be an RFC 3339 time with an offset, e.g. 2024-03-01T00:00:00+08:00")
            }
        }
        if let untilSeq, untilSeq < 0 { throw ValidationError("--until-seq must be ≥ 0") }
    }

    var filter: ReplayFilter {
        ReplayFilter(until: until.flatMap(Timestamp.init(rfc3339:)), knownAt: knownAt.flatMap(Timestamp.init(rfc3339:)), untilSeq: untilSeq)
    }
}
