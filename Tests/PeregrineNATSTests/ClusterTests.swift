import Foundation
import PeregrineCore
import PeregrineEngine
import PeregrineModel
import PeregrineNATS
import PeregrineTestSupport
import Testing

/// A 3-node JetStream cluster on loopback (the shape of deploy/nats/), an R3 journal stream:
/// written, read back, and still written and acknowledged with one node down.
@Suite(.serialized)
struct ClusterTests {
    @Test func deployConfigsAreValid() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/nats")
        for node in 1...3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/nats-server")
            process.arguments = ["-t", "-c", directory.appendingPathComponent("nats-\(node).conf").path]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0 && text.contains("is valid"), "\(text)")
        }
    }

    @Test func replicatedJournalOnThreeNodes() throws {
        let clusterPorts = (0..<3).map { _ in LoopbackPort.free() }
        let servers = try (0..<3).map { index in
            try NATSServerProcess(
                name: "node\(index + 1)", clusterPort: clusterPorts[index], cluster: "peregrine-test",
                routes: clusterPorts)
        }
        let url = servers.map(\.url).joined(separator: ",")
        let jetStream = try NATSConnection(NATSConnectionOptions(url: url)).jetStream()
        let settings = StreamSettings(name: "CLUSTER_JOURNAL", subjects: ["cluster.journal"], replicas: 3)
        // The cluster needs a moment to elect its JetStream meta leader.
        var state: StreamState? = nil
        for _ in 0..<100 where state == nil {
            state = try? jetStream.addOrUpdateStream(settings)
            if state == nil { usleep(100_000) }
        }
        #expect(state?.replicas == 3)
        var market = SyntheticMarket(instruments: 4, seed: 3)
        let events = (0..<60_000).map { market.next(timestamp: UInt64($0)) }
        let writer = try JetStreamJournalWriter(jetStream: jetStream, settings: settings, subject: "cluster.journal")
        for index in 0..<50_000 {
            while try !writer.append(events[index], sequence: Int64(index)) { writer.pollAcks() }
        }
        #expect(writer.drain(timeoutMilliseconds: 20_000))
        // One node down: a majority (2 of 3) still stores and acknowledges.
        servers[2].stop()
        for index in 50_000..<60_000 {
            while try !writer.append(events[index], sequence: Int64(index)) { writer.pollAcks() }
        }
        #expect(writer.drain(timeoutMilliseconds: 20_000), "\(writer.lastFailure ?? "")")
        var sequences = 0
        try JetStreamJournalReader.read(jetStream: jetStream, stream: settings.name, subject: "cluster.journal") {
            _, sequence in
            if sequence == Int64(sequences) { sequences += 1 }
        }
        #expect(sequences == 60_000)
        #expect(try jetStream.streamState(settings.name)?.replicas == 3)
    }
}
