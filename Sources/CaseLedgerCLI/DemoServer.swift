import CaseLedgerCore
import CaseLedgerServer
import CaseLedgerStore
import Foundation

/// `demo --serve`: the demo ledger over HTTP, a token of each role, and what to try with curl.
enum DemoServer {
    static func run(ledger: Ledger, path: String, folder: URL, featured: String, options: ServerOptions) throws {
        var settings = try options.settings()
        let keyFile = folder.appendingPathComponent("log.key").path
        if settings.checkpointKeys.isEmpty, FileManager.default.fileExists(atPath: keyFile) {
            settings.checkpointKeys = [try KeyFiles.signingKey(keyFile)]
            settings.checkpointEverySeconds = 10
        }
        let roles: [(Role, String, String?, [Scope])] = [
            (.writer, "demo-writer", nil, []), (.reader, "demo-reader", nil, []), (.auditor, "demo-auditor", nil, []),
            (.regulator, "demo-regulator-us", nil, [.region("US")]), (.admin, "demo-admin", nil, []),
        ]
        var tokens: [Role: String] = [:]
        print("\n12. The ledger as a service (caseledger serve): one token of each role, shown once:")
        for (role, name, prefix, scopes) in roles {
            let made = try ledger.createToken(name: name, role: role, actorPrefix: prefix, scopes: scopes, by: "demo")
            tokens[role] = made.token
            let what = scopes.isEmpty ? "" : " (\(scopes.map(\.description).joined(separator: ", ")))"
            print("   \(role.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(made.token)\(what)")
        }
        let base = "http://\(settings.host == "0.0.0.0" ? "127.0.0.1" : settings.host):\(settings.port == 0 ? "PORT" : String(settings.port))"
        let reader = "-H 'Authorization: Bearer \(tokens[.reader]!)'"
        let event = #"{"event_id":"\#(UUID().uuidString.lowercased())","case_id":"\#(featured)","type":"note.recorded","occurred_at":"\#(LedgerClock.now().utcString)","actor":"collector:demo","data":{"text":"called from curl"}}"#
        print("""

            The console: open \(base)/ in a browser and paste the reader's (or the auditor's) token.

            Try (another terminal):
               curl -s \(base)/healthz
               curl -s \(reader) \(base)/v1/cases/\(featured)
               curl -s \(reader) '\(base)/v1/cases/\(featured)/contact-check?channel=call'
               curl -s \(reader) '\(base)/v1/events?after=0&limit=3'
               curl -s \(reader) '\(base)/v1/events?after=999999999&wait=30'      # the change feed: waits for the next append
               echo '\(event)' | curl -s -H 'Authorization: Bearer \(tokens[.writer]!)' -H 'Content-Type: application/x-ndjson' --data-binary @- \(base)/v1/events
               curl -s -H 'Authorization: Bearer \(tokens[.regulator]!)' \(base)/v1/cases/\(featured)      # 404 unless the case is in the US
               curl -s -H 'Authorization: Bearer \(tokens[.auditor]!)' \(base)/v1/access-log
               curl -s \(base)/metrics
            Ctrl-C (or SIGTERM) stops the server; every acknowledged append is on disk.

            """)
        let chosen = settings
        try runBlocking { try await LedgerServer.run(path: path, settings: chosen) { line in Serve.announce(line) } }
    }
}
