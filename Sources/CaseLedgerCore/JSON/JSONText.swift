/// How a value a client sent is shown back in an error message: as a JSON string, cut to
/// `Limits.maxEchoedCharacters` so a 10 KB field never floods a terminal or a log.
///
/// ```swift
/// JSONText.quoted(String(repeating: "x", count: 10_000))   // "xxxx…x…" (60 characters, then … and the length)
/// ```
public enum JSONText {
    public static func quoted(_ string: String) -> String {
        let count = string.unicodeScalars.count
        guard count > Limits.maxEchoedCharacters else { return CanonicalJSON.string(.string(string)) }
        let shown = String(String.UnicodeScalarView(string.unicodeScalars.prefix(Limits.maxEchoedCharacters)))
        return CanonicalJSON.string(.string(shown + "…")) + " (\(count) characters)"
    }

    /// The same cut, without quotes: for identifiers in messages ("no case C-404").
    public static func shown(_ string: String) -> String {
        let count = string.unicodeScalars.count
        guard count > Limits.maxEchoedCharacters else { return string }
        return String(String.UnicodeScalarView(string.unicodeScalars.prefix(Limits.maxEchoedCharacters))) + "… (\(count) characters)"
    }
}
