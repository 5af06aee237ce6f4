import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore
import Foundation

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "The raw events in seq order.",
        discussion: "--json prints NDJSON: one stored envelope per line, with seq, version, recorded_at and hash; in a replay, an event whose predecessor was left out also carries previous_hash, the hash it chains from.")

    @OptionGroup var options: LedgerOptions

    @Option(name: .customLong("case"), help: "Only this case's events.")
    var caseID: String?

    @Option(name: .customLong("from-seq"), help: "Start at this seq.")
    var fromSeq: Int64 = 1

    @Option(help: "At most this many events.")
    var limit: Int?

    @Flag(help: "Keep going: print each new event as it is appended (by anyone), until interrupted. Resume after a restart with --from-seq (the last seq seen + 1).")
    var follow = false

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be ≥ 0") }
        if fromSeq < 1 { throw ValidationError("--from-seq must be ≥ 1") }
        if follow, limit != nil { throw ValidationError("--follow runs until interrupted; it takes no --limit") }
    }

    func run() throws {
        // The log needs no projection: read-only, so even a ledger that will not open for the
        // other commands (a cut log) can be read out for investigation.
        let ledger = try Ledger(path: options.path, mode: .readOnly)
        let out = StdoutWriter()
        defer { out.flush() }
        // A replay leaves events out: each kept event whose predecessor is missing carries the hash
        // it chains from, so the chain can be checked from this output alone.
        let links = options.json ? try ledger.replayLinks() : [:]
        var next = fromSeq
        while true {
            try ledger.forEachEvent(LogQuery(caseID: caseID, fromSeq: next, limit: limit)) { event in
                if options.json {
                    out.append { buffer in event.writeLogLine(into: &buffer, previousHash: links[event.seq]) }
                } else {
                    out.write("\(event.seq)\t\(event.occurredAt)\t\(event.caseID) v\(event.version)\t\(event.type)\t\(event.actor)\t\(event.data)\n")
                }
                next = event.seq + 1
            }
            guard follow else { return }
            // Each event is out the moment it is read; a reader of a pipe sees it at once.
            out.flush()
            // The file is polled: appends may come from any process (a server, `append`).
            usleep(200_000)
        }
    }
}
