/// Everything that can go wrong in the ledger, typed, with what and where for a person.
///
/// ```swift
/// catch let error as LedgerError { print(error.description); exit(error.exitCode) }
/// ```
public enum LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A submitted event is malformed or breaks a rule; `line` is its line in the batch (1-based).
    case invalidEvent(line: Int, field: String?, reason: String)
    /// `expected_version` did not match the case's current version.
    case conflict(line: Int, caseID: String, expected: Int, actual: Int)
    /// Input that is not a batch of events at all (an unreadable file, too many lines).
    case invalidInput(String)
    /// A case, complaint or other thing asked for does not exist.
    case notFound(String)
    /// Something to be created under a name that is taken (a token's name).
    case alreadyExists(String)
    /// The ledger file is missing, of another kind, or cannot be opened.
    case ledgerUnavailable(String)
    /// The hash chain or a projection does not match: `seq` is the first bad position.
    case verificationFailed(seq: Int64?, reason: String)
    /// SQLite said no, for a reason the ledger did not foresee.
    case storage(String)

    /// Process exit code, as docs/cli.md fixes them.
    public var exitCode: Int32 {
        switch self {
        case .conflict: 3
        case .verificationFailed: 4
        default: 1
        }
    }

    public var description: String {
        switch self {
        case .invalidEvent(let line, let field, let reason):
            "line \(line): " + (field.map { "\($0): " } ?? "") + reason
        case .conflict(let line, let caseID, let expected, let actual):
            "line \(line): conflict on case \(caseID): expected_version \(expected), but the case is at version \(actual)"
        case .invalidInput(let reason): reason
        case .notFound(let what): what
        case .alreadyExists(let what): what
        case .ledgerUnavailable(let reason): reason
        case .verificationFailed(let seq, let reason):
            seq.map { "verification failed at seq \($0): \(reason)" } ?? "verification failed: \(reason)"
        case .storage(let reason): "storage error: \(reason)"
        }
    }
}
