import ArgumentParser
import CaseLedgerCore
import CaseLedgerStore

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "The server's bearer tokens: create (shown once), list, revoke. Every change is in the access log.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a token and print it once; the ledger keeps only its SHA-256.",
            discussion: """
                Roles: writer (append only; with --actor-prefix, only events whose actor starts with it), reader (every read), \
                auditor (every read, verify, checkpoints, the access log), regulator (reads, proofs and evidence for its \
                --scope only; anything else is 404), admin (tokens). region:US covers US and every US-… sub-region.
                """)

        @OptionGroup var options: LedgerOptions

        @Option(help: "writer, reader, auditor, regulator or admin.")
        var role: Role

        @Option(help: "A label for the token (1–64 of letters, digits, . _ - @), unique in this ledger.")
        var name: String

        @Option(name: .customLong("actor-prefix"), help: "writer only: the actors it may append as, e.g. collector:dialer-")
        var actorPrefix: String?

        @Option(help: ArgumentHelp("regulator only: region:R or case:ID (repeatable).", valueName: "scope"))
        var scope: [String] = []

        func run() throws {
            var scopes: [Scope] = []
            for text in scope {
                guard let parsed = Scope(text) else { throw ValidationError("--scope takes region:R or case:ID; got \(JSONText.quoted(text))") }
                scopes.append(parsed)
            }
            let made = try Ledger(path: options.path, mode: .readWrite).createToken(name: name, role: role, actorPrefix: actorPrefix, scopes: scopes)
            if options.json {
                print(JSONValue.object(JSONObject([("name", .string(name)), ("role", .string(role.rawValue)), ("token", .string(made.token))])).jsonLine,
                      terminator: "")
            } else {
                print(made.token)
                Console.error("token \(name) (\(role.rawValue)) created; it is shown only this once: keep it now")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Every token: name, role, prefix or scopes, created and revoked (never the token).")

        @OptionGroup var options: LedgerOptions

        func run() throws {
            let tokens = try Ledger(path: options.path, mode: .read).tokens()
            if options.json {
                print(JSONValue.array(tokens.map(\.json)).jsonLine, terminator: "")
                return
            }
            for token in tokens {
                let limits = token.actorPrefix.map { "actors \($0)…" } ?? (token.scopes.isEmpty ? "" : token.scopes.map(\.description).joined(separator: " "))
                print("\(token.name)\t\(token.role.rawValue)\t\(limits)\tcreated \(token.createdAt)" + (token.revokedAt.map { "\trevoked \($0)" } ?? ""))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token: a running server refuses it within a second.")

        @OptionGroup var options: LedgerOptions

        @Argument(help: "The token's name.")
        var name: String

        func run() throws {
            try Ledger(path: options.path, mode: .readWrite).revokeToken(name: name)
            if options.json {
                print(JSONValue.object(JSONObject([("name", .string(name)), ("revoked", .bool(true))])).jsonLine, terminator: "")
            } else {
                print("token \(name) revoked")
            }
        }
    }
}

extension Role: ExpressibleByArgument {}
