/// A UUID held as its 16 bytes (two words), so keeping one costs no allocation; `string` gives
/// back the lowercase 8-4-4-4-12 form the ledger stores (every event id is stored in that form:
/// an append lowercases it).
///
/// Events carry their id this way (`CaseEvent.id`): a fold of the log reads a million ids, and
/// made each one a String of its own, allocated and freed, where most are only counted.
public struct CompactUUID: Sendable, Hashable {
    let high: UInt64
    let low: UInt64

    /// The id `text` spells: its 32 hex digits in order, in either case (anything else is skipped).
    public init(_ text: String) {
        // Read from the string's contiguous bytes: walking `utf8` a byte at a time costs several
        // times as much, and every contact of a fold makes one.
        var text = text
        (high, low) = text.withUTF8 { utf8 in Self.canonicalWords(utf8) ?? Self.words(utf8) }
    }

    /// The id these UTF-8 bytes spell in the 8-4-4-4-12 form (hex digits in either case); nil for
    /// anything else.
    public init?(canonical utf8: UnsafeBufferPointer<UInt8>) {
        guard let (high, low) = Self.canonicalWords(utf8) else { return nil }
        self.high = high
        self.low = low
    }

    /// The id `text` spells in the 8-4-4-4-12 form (either case); nil for anything else.
    public init?(canonical text: String) {
        var text = text
        guard let id = text.withUTF8({ CompactUUID(canonical: $0) }) else { return nil }
        self = id
    }

    /// `words` for a UUID in its 8-4-4-4-12 form, eight digits at a time (what every stored event
    /// id is); nil for another shape, or a byte that is not a hex digit where a digit stands.
    static func canonicalWords(_ utf8: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        let dash = UInt8(ascii: "-")
        guard utf8.count == 36, utf8[8] == dash, utf8[13] == dash, utf8[18] == dash, utf8[23] == dash else { return nil }
        let raw = UnsafeRawPointer(utf8.baseAddress!)
        func eight(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        func four(_ offset: Int) -> UInt64 { UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        // The digits in four runs of eight: 0–7; 9–12 and 14–17; 19–22 and 24–27; 28–35.
        guard let a = hexValue(eight(0)), let b = hexValue(four(9) | four(14) << 32),
            let c = hexValue(four(19) | four(24) << 32), let d = hexValue(eight(28))
        else { return nil }
        return (UInt64(a) << 32 | UInt64(b), UInt64(c) << 32 | UInt64(d))
    }

    /// The number eight ASCII hex digits spell, the first digit in the lowest byte of `bytes` and
    /// the most significant in the result; nil unless every byte is a digit (either case).
    static func hexValue(_ bytes: UInt64) -> UInt32? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let tops = ones &* 0x80
        // ASCII only, so that adding below 0x80 to a byte never carries into the next one.
        guard bytes & tops == 0 else { return nil }
        /// Each byte's top bit set where that byte is at least `n`.
        func atLeast(_ n: UInt64, _ value: UInt64) -> UInt64 { (value &+ ones &* (0x80 - n)) & tops }
        let digits = atLeast(0x30, bytes) & ~atLeast(0x3A, bytes)
        let lowered = bytes | ones &* 0x20
        let letters = atLeast(0x61, lowered) & ~atLeast(0x67, lowered)
        guard digits | letters == tops else { return nil }
        // A digit's value is its low four bits; a letter's, its low four bits and 9.
        let nibbles = (bytes & (ones &* 0x0F)) &+ (letters >> 7) &* 9
        // Two nibbles to a byte (the first one high), then the four bytes together.
        var packed = (nibbles << 4 | nibbles >> 8) & 0x00FF_00FF_00FF_00FF
        packed = (packed | packed >> 8) & 0x0000_FFFF_0000_FFFF
        packed = (packed | packed >> 16) & 0xFFFF_FFFF
        return UInt32(truncatingIfNeeded: packed).byteSwapped
    }

    /// The two words of a UUID's hex digits; anything else (the dashes) is skipped.
    static func words(_ utf8: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var count = 0
        for byte in utf8 {
            let nibble: UInt64
            switch byte {
            case 48...57: nibble = UInt64(byte - 48)
            case 97...102: nibble = UInt64(byte - 87)
            case 65...70: nibble = UInt64(byte - 55)
            default: continue
            }
            if count < 16 { high = high << 4 | nibble } else { low = low << 4 | nibble }
            count += 1
        }
        return (high, low)
    }

    /// The length of `string`.
    public static let textLength = 36

    /// The lowercase 8-4-4-4-12 form.
    public var string: String {
        // The 36 characters written in place, no intermediate bytes or strings: a report names
        // thousands of event ids.
        String(unsafeUninitializedCapacity: Self.textLength) { out in
            write(to: out.baseAddress!)
            return Self.textLength
        }
    }

    /// Writes `string`'s 36 bytes at `out`, eight digits at a time (`hexDigits`): a digit at a
    /// time, with a branch for each dash, the writes took 237 instructions an id, 23.7 M of a
    /// rebuild's folding thread at 10^5 events (each case's stored state names its events).
    func write(to out: UnsafeMutablePointer<UInt8>) {
        let raw = UnsafeMutableRawPointer(out)
        func eight(_ digits: UInt64, at offset: Int) { raw.storeBytes(of: digits.littleEndian, toByteOffset: offset, as: UInt64.self) }
        // Four digits: the last four of the eight that a 16-bit value spells.
        func four(_ value: UInt64, at offset: Int) {
            raw.storeBytes(of: UInt32(truncatingIfNeeded: Self.hexDigits(UInt32(truncatingIfNeeded: value & 0xFFFF)) >> 32).littleEndian,
                           toByteOffset: offset, as: UInt32.self)
        }
        let dash = UInt8(ascii: "-")
        eight(Self.hexDigits(UInt32(truncatingIfNeeded: high >> 32)), at: 0)
        out[8] = dash
        four(high >> 16, at: 9)
        out[13] = dash
        four(high, at: 14)
        out[18] = dash
        four(low >> 48, at: 19)
        out[23] = dash
        four(low >> 32, at: 24)
        eight(Self.hexDigits(UInt32(truncatingIfNeeded: low)), at: 28)
    }

    /// The eight lowercase hex digits of `value`, as ASCII, the first (most significant) digit
    /// in the lowest byte: `hexValue` backwards.
    static func hexDigits(_ value: UInt32) -> UInt64 {
        // One nibble to a byte, the least significant nibble in the lowest byte...
        var nibbles = UInt64(value)
        nibbles = (nibbles | nibbles << 16) & 0x0000_FFFF_0000_FFFF
        nibbles = (nibbles | nibbles << 8) & 0x00FF_00FF_00FF_00FF
        nibbles = (nibbles | nibbles << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // ...then the most significant first.
        nibbles = nibbles.byteSwapped
        // 1 in each byte whose nibble is 10 or more (adding 6 carries into bit 4), which is
        // written as a letter: 0x61 ("a") for 10, where a digit is 0x30 + its value.
        let letters = ((nibbles &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return nibbles &+ 0x3030_3030_3030_3030 &+ letters &* 39
    }
}

extension JSONTextWriter {
    /// The id as a JSON string (its `string`, in quotes: nothing in it needs an escape), written
    /// in place: 38 bytes of room.
    public mutating func string(_ id: CompactUUID) {
        byte(UInt8(ascii: "\""))
        id.write(to: end)
        end += CompactUUID.textLength
        byte(UInt8(ascii: "\""))
    }
}
