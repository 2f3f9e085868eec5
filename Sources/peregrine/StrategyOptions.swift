import ArgumentParser
import PeregrineEngine
import PeregrineModel
import PeregrineStrategy

/// `--strategy NAME` (repeatable) and `--param key=value` (repeatable; each binds to the
/// `--strategy` before it). `id=N` and `instruments=A,B,…` params set the strategy's id and
/// instruments; every other key is the strategy's own parameter.
struct StrategyOptions: ParsableArguments {
    @Option(
        name: .customLong("strategy"),
        help: ArgumentHelp(
            "Run a strategy (repeatable): "
                + StrategySet<IdleStrategy>.names.joined(separator: ", ")
                + ". Its --param options follow it.", valueName: "name"))
    var names: [String] = []

    @Option(
        name: .customLong("param"),
        help: ArgumentHelp(
            "A parameter of the --strategy before it, key=value (id=N and instruments=A,B set its id and instruments; see docs/strategies.md).",
            valueName: "key=value"))
    var parameters: [String] = []

    /// The specs, pairing each `--param` with the `--strategy` before it on `arguments` (the
    /// process's command line).
    func specs(arguments: [String] = CommandLine.arguments) throws(EngineError) -> [StrategySpec] {
        guard !names.isEmpty || !parameters.isEmpty else { return [] }
        var specs: [StrategySpec] = []
        var index = 0
        func value(_ flag: String) -> String? {
            let word = arguments[index]
            if word == flag, index + 1 < arguments.count {
                index += 1
                return arguments[index]
            }
            if word.hasPrefix(flag + "=") { return String(word.dropFirst(flag.count + 1)) }
            return nil
        }
        while index < arguments.count {
            if let name = value("--strategy") {
                specs.append(StrategySpec(name: name))
            } else if let parameter = value("--param") {
                guard !specs.isEmpty else {
                    throw .invalidSetting(
                        name: "param", value: parameter, allowed: "give --strategy NAME before its --param options")
                }
                let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw .invalidSetting(name: "param", value: parameter, allowed: "use key=value")
                }
                switch parts[0] {
                case "id":
                    guard let id = UInt16(parts[1]), id > 0 else {
                        throw .invalidSetting(name: "param id", value: parts[1], allowed: "use 1 to 65535")
                    }
                    specs[specs.count - 1].id = id
                case "instruments":
                    let numbers = parts[1].split(separator: ",").map { UInt32($0) }
                    guard !numbers.isEmpty, numbers.allSatisfy({ $0 != nil }) else {
                        throw .invalidSetting(
                            name: "param instruments", value: parts[1],
                            allowed:
                                "use instrument ids, e.g. 8,9 (a backtest numbers its instruments 0, 1, … in the order the data names them)"
                        )
                    }
                    specs[specs.count - 1].instruments = numbers.compactMap { number in number.map { InstrumentID($0) }
                    }
                default:
                    specs[specs.count - 1].parameters.append((key: parts[0], value: parts[1]))
                }
            }
            index += 1
        }
        return specs
    }
}
