import Foundation
import PeregrineTestSupport
import Testing

/// `journal inspect` and `replay` on a journal a real run wrote: figures in the instruments'
/// units, and requests for records the journal does not hold said, not answered with nothing.
struct JournalToolTests {
    @Test func inspectShowsUnitsAndRangesBeyondTheJournalAreSaid() throws {
        let journal = Faults.scratch("inspect")
        defer { Faults.remove(journal) }
        let run = try Faults.run(
            ["run", "--journal", journal, "--duration", "1", "--rate", "20000", "--metrics-port", "0"]
                + Faults.strategies)
        #expect(run.status == 0, "\(run.error)")
        let inspect = try Faults.run(["journal", "inspect", journal, "--limit", "50"])
        #expect(inspect.status == 0, "\(inspect.error)")
        let lines = inspect.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 50)
        // Synthetic instruments: tick 0.01, lot 0.001; named by their symbols.
        let level = /^\d+ t=\d+ SYN\d+ level (buy|sell) \d+\.\d{3}@\d+\.\d{2}$/
        #expect(lines.contains { $0.wholeMatch(of: level) != nil }, "\(lines.prefix(5))")
        #expect(!lines.contains { $0.contains("l@") || $0.contains("t stop") }, "\(lines.prefix(5))")
        let beyond = try Faults.run(["journal", "inspect", journal, "--from", "99999999"])
        #expect(beyond.status == 1 && beyond.error.contains("no records from sequence 99999999: the journal's last is"))
        let backwards = try Faults.run(["replay", "--journal", journal, "--print", "--from", "100", "--to", "50"])
        #expect(backwards.status == 2 && backwards.error.contains("--from 100 is after --to 50"))
    }
}
