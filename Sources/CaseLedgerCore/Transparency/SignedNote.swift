import Crypto
import Foundation

/// C2SP signed-note Ed25519 keys: a log's signing key (type 0x01) or a witness's cosigning key
/// (type 0x04). The key id is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key).
///
/// ```swift
/// let key = NoteSigningKey.generate(name: "ledger.bank.example/collections")
/// key.fileText          // PRIVATE+KEY+ledger.bank.example/collections+1a2b3c4d+AQ…
/// key.verifier.text     // ledger.bank.example/collections+1a2b3c4d+AQ…
/// ```
public enum NoteKeyType: UInt8, Sendable {
    /// Ed25519 signature of a note (the log's key).
    case ed25519 = 0x01
    /// Ed25519 cosignature/v1 (a witness's key, C2SP tlog-cosignature).
    case cosignature = 0x04
}

/// A key that can check signatures: `<name>+<key id, 8 hex>+<base64(type ‖ public key)>`.
public struct NoteVerifier: Sendable, Equatable {
    public let name: String
    public let type: NoteKeyType
    public let publicKey: [UInt8]
    public let keyID: [UInt8]

    public init(name: String, type: NoteKeyType, publicKey: [UInt8]) throws(NoteError) {
        try NoteKeyName.check(name)
        guard publicKey.count == 32 else { throw NoteError("an Ed25519 public key is 32 bytes, got \(publicKey.count)") }
        self.name = name
        self.type = type
        self.publicKey = publicKey
        keyID = Self.keyID(name: name, type: type, publicKey: publicKey)
    }

    /// Reads a verifier key's text (whitespace around it ignored).
    public init(text: String) throws(NoteError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // The base64 part may itself hold '+': split at the first two only.
        let parts = trimmed.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 8, let id = Hex.bytes(String(parts[1])),
            let raw = Base64.decode(String(parts[2])), raw.count == 33, let type = NoteKeyType(rawValue: raw[0])
        else { throw NoteError("not a verifier key (name+keyid+base64 of an Ed25519 key): \(JSONText.quoted(trimmed))") }
        try self.init(name: String(parts[0]), type: type, publicKey: Array(raw[1...]))
        guard keyID == id else { throw NoteError("verifier key \(name): its key id \(parts[1]) does not match its public key") }
    }

    public var text: String { "\(name)+\(Hex.string(keyID))+\(Base64.encode([type.rawValue] + publicKey))" }

    static func keyID(name: String, type: NoteKeyType, publicKey: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(name.utf8) + [0x0A, type.rawValue])
        hasher.update(data: publicKey)
        return Array(hasher.finalize().prefix(4))
    }

    func isValidSignature(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: message)
    }
}

/// A private key file: `PRIVATE+KEY+<name>+<key id>+<base64(type ‖ 32-byte seed)>`.
public struct NoteSigningKey: Sendable {
    public let name: String
    public let type: NoteKeyType
    let seed: [UInt8]

    public init(name: String, type: NoteKeyType, seed: [UInt8]) throws(NoteError) {
        try NoteKeyName.check(name)
        guard seed.count == 32 else { throw NoteError("an Ed25519 seed is 32 bytes, got \(seed.count)") }
        self.name = name
        self.type = type
        self.seed = seed
    }

    /// A new key from the system's secure random source.
    public static func generate(name: String, type: NoteKeyType = .ed25519) throws(NoteError) -> NoteSigningKey {
        try NoteSigningKey(name: name, type: type, seed: Array(Curve25519.Signing.PrivateKey().rawRepresentation))
    }

    /// Reads a private key file's text.
    public init(fileText text: String) throws(NoteError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("PRIVATE+KEY+") else { throw NoteError("not a signed-note private key (it must start with PRIVATE+KEY+)") }
        let parts = trimmed.dropFirst("PRIVATE+KEY+".count).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let id = Hex.bytes(String(parts[1])), let raw = Base64.decode(String(parts[2])), raw.count == 33,
            let type = NoteKeyType(rawValue: raw[0])
        else { throw NoteError("not a signed-note Ed25519 private key") }
        try self.init(name: String(parts[0]), type: type, seed: Array(raw[1...]))
        guard verifier.keyID == id else { throw NoteError("private key \(name): its key id does not match the key") }
    }

    public var fileText: String {
        "PRIVATE+KEY+\(name)+\(Hex.string(verifier.keyID))+\(Base64.encode([type.rawValue] + seed))\n"
    }

    public var verifier: NoteVerifier {
        let publicKey = Array(try! Curve25519.Signing.PrivateKey(rawRepresentation: seed).publicKey.rawRepresentation)
        return try! NoteVerifier(name: name, type: type, publicKey: publicKey)
    }

    func sign(_ message: [UInt8]) -> [UInt8] {
        Array(try! Curve25519.Signing.PrivateKey(rawRepresentation: seed).signature(for: message))
    }
}

/// Key names: non-empty, no spaces, no '+', no control characters.
enum NoteKeyName {
    static func check(_ name: String) throws(NoteError) {
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0 != "+" && $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw NoteError("a key name must be non-empty, without spaces or '+': \(JSONText.quoted(name))")
        }
    }
}

/// A C2SP signed note: text (ending in a newline), an empty line, one or more signature lines
/// `— <name> <base64(key id ‖ signature)>`.
public struct SignedNote: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public let name: String
        public let keyID: [UInt8]
        /// What follows the key id: the 64-byte signature, or for a cosignature 8-byte time ‖ signature.
        public let payload: [UInt8]

        public init(name: String, keyID: [UInt8], payload: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.payload = payload
        }

        public var line: String { "\u{2014} \(name) \(Base64.encode(keyID + payload))\n" }
    }

    public let text: String
    public private(set) var signatures: [Signature]

    public static let maxSignatures = 100
    public static let maxBytes = 1 << 20

    public init(text: String, signatures: [Signature] = []) {
        self.text = text
        self.signatures = signatures
    }

    /// Reads a note; refuses control characters other than newline, a missing blank line, a bad line.
    public init(parsing note: String) throws(NoteError) {
        guard note.utf8.count <= Self.maxBytes else { throw NoteError("the note is larger than 1 MiB") }
        guard !note.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7F }) else {
            throw NoteError("the note holds a control character (only newlines are allowed)")
        }
        guard note.hasSuffix("\n"), let split = note.range(of: "\n\n", options: .backwards) else {
            throw NoteError("not a signed note: no empty line between the text and its signatures")
        }
        text = String(note[..<split.lowerBound]) + "\n"
        var signatures: [Signature] = []
        for line in note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            guard line.hasPrefix("\u{2014} ") else { throw NoteError("not a signature line (it must start with '— '): \(JSONText.quoted(String(line)))") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let bytes = Base64.decode(String(fields[1])), bytes.count >= 5 else {
                throw NoteError("not a signature line: \(JSONText.quoted(String(line)))")
            }
            signatures.append(Signature(name: String(fields[0]), keyID: Array(bytes[0..<4]), payload: Array(bytes[4...])))
        }
        guard !signatures.isEmpty else { throw NoteError("the note has no signature") }
        guard signatures.count <= Self.maxSignatures else { throw NoteError("the note has more than \(Self.maxSignatures) signatures") }
        self.signatures = signatures
    }

    public var noteText: String { text + "\n" + signatures.map(\.line).joined() }

    /// Adds a signature of the text by `key` (a log's key).
    public mutating func sign(with key: NoteSigningKey) {
        let verifier = key.verifier
        signatures.append(Signature(name: key.name, keyID: verifier.keyID, payload: key.sign(Array(text.utf8))))
    }

    /// Adds a cosignature/v1 by a witness's key, at `time` (Unix seconds).
    public mutating func cosign(with key: NoteSigningKey, time: Int64) {
        let verifier = key.verifier
        var payload = withUnsafeBytes(of: UInt64(time).bigEndian) { Array($0) }
        payload += key.sign(Self.cosignedMessage(text: text, time: time))
        signatures.append(Signature(name: key.name, keyID: verifier.keyID, payload: payload))
    }

    static func cosignedMessage(text: String, time: Int64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n".utf8) + Array(text.utf8)
    }

    /// A signature that checked: by whom, and for a cosignature, when (Unix seconds).
    public struct Verified: Sendable, Equatable {
        public let verifier: NoteVerifier
        public let time: Int64?
    }

    /// Checks every signature line made by one of `verifiers` (a line matching a key's name and
    /// id must verify, or the note is refused); lines of other keys are ignored, as the spec says.
    public func verify(with verifiers: [NoteVerifier]) throws(NoteError) -> [Verified] {
        var verified: [Verified] = []
        for signature in signatures {
            guard let verifier = verifiers.first(where: { $0.name == signature.name && $0.keyID == signature.keyID }) else { continue }
            switch verifier.type {
            case .ed25519:
                guard signature.payload.count == 64, verifier.isValidSignature(signature.payload, of: Array(text.utf8)) else {
                    throw NoteError("the signature by \(verifier.name) (key \(Hex.string(verifier.keyID))) does not verify")
                }
                verified.append(Verified(verifier: verifier, time: nil))
            case .cosignature:
                guard signature.payload.count == 72 else { throw NoteError("the cosignature by \(verifier.name) is not 8 + 64 bytes") }
                let time = signature.payload[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                guard time <= UInt64(Int64.max),
                    verifier.isValidSignature(Array(signature.payload[8...]), of: Self.cosignedMessage(text: text, time: Int64(time)))
                else { throw NoteError("the cosignature by \(verifier.name) (key \(Hex.string(verifier.keyID))) does not verify") }
                verified.append(Verified(verifier: verifier, time: Int64(time)))
            }
        }
        return verified
    }

    /// Cosignature lines as they claim (name and time), without checking them: for listing only.
    public var claimedCosignatures: [(name: String, time: Int64)] {
        signatures.compactMap { signature in
            guard signature.payload.count == 72 else { return nil }
            let time = signature.payload[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return time <= UInt64(Int64.max) ? (signature.name, Int64(time)) : nil
        }
    }
}

/// A note, key or proof that does not check, in words for a person.
public struct NoteError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// RFC 4648 base64 (standard alphabet, padded); decoding accepts only the canonical form.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    public static func decode(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }
}

/// Lowercase hex.
public enum Hex {
    public static func string(_ bytes: [UInt8]) -> String { HashChain.hex(bytes) }

    public static func bytes(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: u.count, by: 2) {
            guard let high = nibble(u[i]), let low = nibble(u[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    /// The lowercase hex digit of `nibble` (0 to 15), without a table to load.
    @inline(__always)
    static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        default: nil
        }
    }
}
