import ArgumentParser

@main
struct Peregrine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peregrine",
        abstract: "A low-latency, event-sourced trading engine core.",
        subcommands: [Run.self, Bench.self])
}
