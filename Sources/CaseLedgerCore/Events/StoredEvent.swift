import Crypto

/// An event as the log holds it: the submission plus what the ledger assigned (docs/events.md).
public struct StoredEvent: Sendable, Equatable {
    public var seq: Int64
    public var eventID: String
    public var caseID: String
    public var version: Int64
    public var type: String
    public var schemaVersion: Int64
    public var occurredAt: String
    public var recordedAt: String
    public var actor: String
    /// `data` as stored: its RFC 8785 canonical JSON text.
    public var data: String
    /// 64 lowercase hex characters.
    public var hash: String

    public init(seq: Int64, eventID: String, caseID: String, version: Int64, type: String, schemaVersion: Int64,
                occurredAt: String, recordedAt: String, actor: String, data: String, hash: String) {
        self.seq = seq
        self.eventID = eventID
        self.caseID = caseID
        self.version = version
        self.type = type
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.actor = actor
        self.data = data
        self.hash = hash
    }

    /// The RFC 8785 bytes the hash covers: exactly the members `actor`, `case_id`, `data`, `event_id`,
    /// `occurred_at`, `recorded_at`, `schema_version`, `seq`, `type`, `version`, in that (sorted) order.
    /// `data` must already be canonical, as stored.
    public func canonicalBytes() -> [UInt8] {
        var out = TextBuffer()
        Self.writeCanonical(seq: seq, eventID: eventID, caseID: caseID, version: version, type: type,
                            schemaVersion: schemaVersion, occurredAt: occurredAt, recordedAt: recordedAt,
                            actor: actor, canonicalData: data.utf8, into: &out)
        return out.withBytes { Array($0) }
    }

    /// Writes the canonical bytes of an envelope (`canonicalBytes`) made of these fields, given
    /// as Strings (the append) or as a row's columns read in place (`verify`), over what `out`
    /// held. Written at a pointer (`TextBuffer`): appending its pieces to an array one by one
    /// (some 30 appends) cost about 3,700 instructions an event.
    @inlinable  // specialised where it is called: for Strings in the append, for bytes in verify
    public static func writeCanonical<Text: CanonicalJSONText, Bytes: Collection<UInt8>>(
        seq: Int64, eventID: Text, caseID: Text, version: Int64, type: Text, schemaVersion: Int64, occurredAt: Text,
        recordedAt: Text, actor: Text, canonicalData: Bytes, into out: inout TextBuffer
    ) {
        // The members' names and punctuation take 115 bytes.
        let texts = actor.utf8Count + caseID.utf8Count + eventID.utf8Count + occurredAt.utf8Count + recordedAt.utf8Count + type.utf8Count
        let room = 128 + JSONTextWriter.stringRoom(texts) + 6 * 2 + 3 * JSONTextWriter.integerRoom + canonicalData.count
        out.write(room: room) { out in
            out.literal(#"{"actor":"#)
            actor.writeJSONString(into: &out)
            out.literal(#","case_id":"#)
            caseID.writeJSONString(into: &out)
            out.literal(#","data":"#)
            if canonicalData.withContiguousStorageIfAvailable({ out.bytes($0) }) == nil {
                for byte in canonicalData { out.byte(byte) }
            }
            out.literal(#","event_id":"#)
            eventID.writeJSONString(into: &out)
            out.literal(#","occurred_at":"#)
            occurredAt.writeJSONString(into: &out)
            out.literal(#","recorded_at":"#)
            recordedAt.writeJSONString(into: &out)
            out.literal(#","schema_version":"#)
            out.integer(schemaVersion)
            out.literal(#","seq":"#)
            out.integer(seq)
            out.literal(#","type":"#)
            type.writeJSONString(into: &out)
            out.literal(#","version":"#)
            out.integer(version)
            out.byte(UInt8(ascii: "}"))
        }
    }

    /// The stored envelope as a JSON value (`data` as an object), members in reading order: what
    /// evidence packs and case proofs carry, and exactly what `log --json` prints.
    public var envelope: JSONValue {
        .object(JSONObject([
            ("seq", .int(seq)), ("event_id", .string(eventID)), ("case_id", .string(caseID)), ("version", .int(version)),
            ("type", .string(type)), ("schema_version", .int(schemaVersion)), ("occurred_at", .string(occurredAt)),
            ("recorded_at", .string(recordedAt)), ("actor", .string(actor)), ("data", (try? JSONParser.parse(data)) ?? .null),
            ("hash", .string(hash)),
        ]))
    }

    /// The stored envelope as one JSON object, members in a reading order (for `log --json`).
    public func writeEnvelope(into out: inout [UInt8]) {
        out.append(literal: #"{"seq":"#)
        CanonicalJSON.writeInteger(seq, into: &out)
        out.append(literal: #","event_id":"#)
        CanonicalJSON.writeString(eventID, into: &out)
        out.append(literal: #","case_id":"#)
        CanonicalJSON.writeString(caseID, into: &out)
        out.append(literal: #","version":"#)
        CanonicalJSON.writeInteger(version, into: &out)
        out.append(literal: #","type":"#)
        CanonicalJSON.writeString(type, into: &out)
        out.append(literal: #","schema_version":"#)
        CanonicalJSON.writeInteger(schemaVersion, into: &out)
        out.append(literal: #","occurred_at":"#)
        CanonicalJSON.writeString(occurredAt, into: &out)
        out.append(literal: #","recorded_at":"#)
        CanonicalJSON.writeString(recordedAt, into: &out)
        out.append(literal: #","actor":"#)
        CanonicalJSON.writeString(actor, into: &out)
        out.append(literal: #","data":"#)
        out.append(contentsOf: data.utf8)
        out.append(literal: #","hash":"#)
        CanonicalJSON.writeString(hash, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// One line of `log --json` and of the change feed: the envelope, and in a replay, where
    /// this event's predecessor was left out, the hash it chains from (`previous_hash`).
    public func writeLogLine(into out: inout [UInt8], previousHash: String?) {
        writeEnvelope(into: &out)
        if let previousHash {
            out.removeLast()
            out.append(literal: #","previous_hash":"#)
            CanonicalJSON.writeString(previousHash, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(0x0A)
    }
}

extension SHA256 {
    /// The digest of the `count` bytes `fill` writes, hashed as one buffer. Each `update` through
    /// swift-crypto pays its own checks and calls (about 200 instructions, more than copying a
    /// prefix of 32 bytes), so a hash's prefix and body are copied together and hashed at once.
    static func bytes(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
        // Not through `digest(count:into:_:)`: an array made first and filled through it cost
        // 400 instructions more a hash (callgrind), twice an event on the append and verify paths.
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
            fill(buffer)
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
            return hasher.finalize().bytes
        }
    }

    /// The same digest, written at `digest` (`byteCount` bytes) instead of into a new array.
    static func digest(count: Int, into digest: UnsafeMutableRawBufferPointer, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
            fill(buffer)
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
            hasher.finalize().withUnsafeBytes { digest.copyMemory(from: $0) }
        }
    }
}

extension SHA256Digest {
    /// The digest's 32 bytes, copied at once (`Array(digest)` walks the sequence a byte at a
    /// time: on the append and verify paths that cost more than the hash of a short input).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

/// Text an event's canonical form is written from: a String, or a column's UTF-8 bytes read in
/// place, which is how `verify` hashes every stored event without making a String of each field.
public protocol CanonicalJSONText {
    /// Its length in UTF-8 bytes.
    var utf8Count: Int { get }
    /// Writes the text as a JSON string in canonical form (`JSONTextWriter.string`).
    func writeJSONString(into writer: inout JSONTextWriter)
}

extension String: CanonicalJSONText {
    public var utf8Count: Int { utf8.count }

    public func writeJSONString(into writer: inout JSONTextWriter) {
        var text = self
        text.withUTF8 { writer.string(utf8: $0) }
    }
}

extension UnsafeBufferPointer: CanonicalJSONText where Element == UInt8 {
    public var utf8Count: Int { count }

    public func writeJSONString(into writer: inout JSONTextWriter) { writer.string(utf8: self) }
}

/// SHA-256 chaining (docs/events.md): hash = SHA-256(previous hash ‖ canonical bytes).
public enum HashChain {
    /// What the first event chains from: 32 zero bytes.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    public static func next(previous: [UInt8], canonical: [UInt8]) -> [UInt8] {
        canonical.withUnsafeBufferPointer { next(previous: previous, canonical: $0) }
    }

    public static func next(previous: [UInt8], canonical: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        SHA256.bytes(count: previous.count + canonical.count) { buffer in
            buffer.copyBytes(from: previous)
            UnsafeMutableRawBufferPointer(rebasing: buffer[previous.count...]).copyBytes(from: canonical)
        }
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        writeHex(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex of `bytes`, replacing `out`'s contents (no String on the append hot path).
    public static func writeHex(_ bytes: [UInt8], into out: inout [UInt8]) {
        if out.count != bytes.count * 2 { out = [UInt8](repeating: 0, count: bytes.count * 2) }
        out.withUnsafeMutableBufferPointer { out in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = Hex.digit(byte >> 4)
                out[2 * index + 1] = Hex.digit(byte & 0x0F)
            }
        }
    }

    /// Bytes of a 64-character lowercase hex hash, or nil when it is not one.
    public static func bytes(hex: String) -> [UInt8]? {
        hex.utf8.count == 64 ? Hex.bytes(hex) : nil
    }
}
