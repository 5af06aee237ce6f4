import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The raw events in seq order.",
        discussion: "--json prints NDJSON: one stored envelope per line, with seq, version, recorded_at and hash; in a replay, an event whose predecessor was left out also carries previous_hash, the hash it chains from.")

    @OptionGroup var options: LedgerOptions

    @Option(name: .customLong("case"), help: "Only this case's events.")
    var caseID: String?

    @Option(name: .customLong("from-seq"), help: "Start at this seq.")
    var fromSeq: Int64 = 1

    @Option(help: "At most this many events.")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be ≥ 0") }
        if fromSeq < 1 { throw ValidationError("--from-seq must be ≥ 1") }
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
        try ledger.forEachEvent(LogQuery(caseID: caseID, fromSeq: fromSeq, limit: limit)) { event in
            if options.json {
                out.append { buffer in
                    event.writeEnvelope(into: &buffer)
                    if let previous = links[event.seq] {
                        buffer.removeLast()
                        buffer.append(contentsOf: #","previous_hash":"#.utf8)
                        CanonicalJSON.writeString(previous, into: &buffer)
                        buffer.append(UInt8(ascii: "}"))
                    }
                    buffer.append(0x0A)
                }
            } else {
                out.write("\(event.seq)\t\(event.occurredAt)\t\(event.caseID) v\(event.version)\t\(event.type)\t\(event.actor)\t\(event.data)\n")
            }
        }
    }
}
