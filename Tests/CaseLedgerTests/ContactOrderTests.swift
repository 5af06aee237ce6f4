@testable import CaseLedgerCore
import XCTest

/// The judge reads a case's contacts in occurred_at order, then seq, whatever order they were
/// appended in; contacts already in that order are taken as they are, without a sort.
final class ContactOrderTests: XCTestCase {
    func testContactsComeInOccurredAtThenSeqOrderWhateverOrderTheyWereKeptIn() {
        var random = SeededRandom(seed: 5)
        for round in 0..<300 {
            let count = random.int(0...12)
            // Few distinct instants, so that ties on occurred_at are settled by seq.
            var contacts = (0..<count).map { n in
                ComplianceCase.Contact(id: CompactUUID("00000000-0000-7000-8000-\(String(repeating: "0", count: 11))\(n % 10)"),
                                       seq: Int64(n + 1), type: .messageSent, occurredMicros: Int64(random.int(0...4)) * 1_000_000,
                                       actorIndex: 0, kind: .message(channel: .sms, party: "debtor"))
            }
            contacts.shuffle(using: &random)
            if round % 2 == 0 { contacts.sort { ($0.occurredMicros, $0.seq) < ($1.occurredMicros, $1.seq) } }
            let ordered = ContactRules.inTimeOrder(contacts)
            XCTAssertEqual(ordered.map(\.seq), contacts.sorted { ($0.occurredMicros, $0.seq) < ($1.occurredMicros, $1.seq) }.map(\.seq),
                           "round \(round)")
        }
    }
}
