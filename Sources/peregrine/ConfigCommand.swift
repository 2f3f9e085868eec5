import ArgumentParser
import PeregrineEngine
import PeregrineStrategy

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a configuration file, or show a resolved configuration.",
        discussion: """
            A configuration is a profile (hft, analytics, memory_constrained, or the defaults), then a TOML file, then \
            environment variables PEREGRINE_<SECTION>_<KEY>, then `peregrine run` flags. Every invalid key or value is \
            refused with the key, the value and what is allowed.
            """,
        subcommands: [Check.self, Show.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate FILE (with the environment) and print the resolved configuration; exit 2 if invalid.")

        @Argument(help: "The TOML configuration file.")
        var file: String

        @Option(help: "Profile to start from (overrides the file's `profile`).")
        var profile: String?

        func run() throws {
            do {
                let resolved = try loadConfiguration(file: file, profile: profile)
                try validateConfiguration(resolved, file: file)
                print(
                    ConfigurationFile.render(resolved, profile: profile.flatMap(ConfigurationProfile.init(rawValue:))),
                    terminator: "")
            } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print the configuration a profile (and the environment) resolves to, as TOML.")

        @Option(help: "hft, analytics or memory_constrained (default: the engine's defaults).")
        var profile: String?

        func run() throws {
            do {
                let resolved = try loadConfiguration(file: nil, profile: profile)
                try resolved.validate(custom: IdleStrategy.self)
                print(
                    ConfigurationFile.render(resolved, profile: profile.flatMap(ConfigurationProfile.init(rawValue:))),
                    terminator: "")
            } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
        }
    }
}
