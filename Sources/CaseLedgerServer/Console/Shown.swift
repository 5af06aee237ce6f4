/// Text from events (or any input) on its way into a page. Templates HTML-escape every `{{value}}`;
/// this type also makes invisible characters visible before they get there: C0 and C1 controls
/// and the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) become `⟨U+202E⟩`,
/// so a description cannot hide, reorder or fake the text around it. Page models hold `Shown`,
/// never a bare `String` of outside text: what reaches a template has been through here.
struct Shown: CustomStringConvertible, Sendable, Equatable {
    let description: String

    init(_ raw: String) {
        var out = ""
        out.reserveCapacity(raw.utf8.count)
        for scalar in raw.unicodeScalars {
            switch scalar.value {
            case 0x09, 0x0A: out.unicodeScalars.append(scalar)
            case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C:
                out += "⟨U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(4) + "⟩"
            default: out.unicodeScalars.append(scalar)
            }
        }
        description = out
    }

    init(_ raw: String?) { self.init(raw ?? "") }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
