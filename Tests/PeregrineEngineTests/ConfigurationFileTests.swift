import Foundation
import PeregrineEngine
import PeregrineModel
import PeregrineRisk
import PeregrineStrategy
import Testing

@Suite("Configuration files")
struct ConfigurationFileTests {
    @Test(arguments: ConfigurationProfile.allCases)
    func everyProfileLoadsValidatesAndRoundTrips(_ profile: ConfigurationProfile) throws {
        let resolved = try ConfigurationFile.resolve(profile: profile)
        try resolved.validate()
        #expect(resolved == profile.configuration)
        let text = ConfigurationFile.render(resolved, profile: profile)
        let again = try ConfigurationFile.resolve(fileText: text)
        #expect(again == resolved)
    }

    /// Text values are written back escaped: a backslash, a quote or a control character reads
    /// back as itself (a path with a backslash came back with a newline in it, and a quote made
    /// the file unreadable).
    @Test func textValuesRoundTripEscaped() throws {
        let text = #"""
            [journal]
            directory = "/tmp/x\\nope \"q\" \u0001"

            [[instrument]]
            id = 0
            symbol = "BTC\"X\\"
            tick_size = "0.5"
            lot_size = "1"
            """#
        let configuration = try ConfigurationFile.resolve(fileText: text)
        #expect(configuration.journalDirectory == "/tmp/x\\nope \"q\" \u{1}")
        #expect(configuration.instrumentDefinitions.first?.symbol == "BTC\"X\\")
        let rendered = ConfigurationFile.render(configuration, profile: nil)
        #expect(rendered.contains(#"directory = "/tmp/x\\nope \"q\" \u0001""#), "\(rendered)")
        #expect(try ConfigurationFile.resolve(fileText: rendered) == configuration)
    }

    /// `[[strategy]]` and `[[instrument]]` tables and the `[trading]` section: read, checked,
    /// written back as TOML that reads to the same configuration; mistakes named.
    @Test func strategiesAndInstrumentsComeFromArrayTables() throws {
        let text = """
            [source]
            instruments = 2
            order_flow = 20

            [trading]
            keep_orders = true
            orders = 512

            [[strategy]]
            name = "market-maker"
            id = 3
            size = 5
            half-spread = 4

            [[strategy]]
            name = "mean-reversion"
            instruments = [0]
            entry = 2.5

            [[instrument]]
            id = 2
            symbol = "BTC-PERP"
            tick_size = "0.5"
            lot_size = "0.001"
            min_notional = "5"
            maker_fee = "-0.0001"
            taker_fee = "0.00055"
            """
        let configuration = try ConfigurationFile.resolve(fileText: text)
        try configuration.validate()
        #expect(configuration.keepOrdersAtStop && configuration.strategyOrderCapacity == 512)
        #expect(
            configuration.strategies == [
                StrategySpec(name: "market-maker", id: 3, parameters: [("half-spread", "4"), ("size", "5")]),
                StrategySpec(name: "mean-reversion", instruments: [InstrumentID(0)], parameters: [("entry", "2.5")]),
            ])
        // A currency's code is read in upper case: usdt is USDT, one currency with it.
        let lower = try ConfigurationFile.resolve(
            fileText: "[[instrument]]\nid = 1\nsymbol = \"X\"\ntick_size = \"0.01\"\nlot_size = \"1\"\n"
                + "quote_currency = \"usdt\"")
        #expect(lower.instrumentDefinitions.map(\.quoteCurrency) == ["USDT"])
        let instrument = try #require(configuration.instrumentDefinitions.first)
        #expect(instrument.symbol == "BTC-PERP" && instrument.isHosted && instrument.tickSize.description == "0.5")
        #expect(instrument.makerFee.perHundredMillion == -10_000 && instrument.takerFee.perHundredMillion == 55_000)
        // 5 USD in units of 0.5 × 0.001 × 10^-8: 5 ÷ (5 × 10^-12) = 10^12.
        #expect(instrument.minimumNotional == Money(units: 1_000_000_000_000))
        // Printed and read back, the same, each strategy with the id it runs as written out
        // (the second took 2, the next after its position that no other strategy has).
        let again = try ConfigurationFile.resolve(fileText: ConfigurationFile.render(configuration, profile: nil))
        var explicit = configuration
        explicit.strategies[1].id = 2
        #expect(again == explicit)
        #expect(again.strategies.resolvedIDs == configuration.strategies.resolvedIDs)
        for (file, message) in [
            ("[[strategy]]\nid = 2", "line 1: invalid strategy[1].name '(missing)': give the strategy's name"),
            (
                "[[instrument]]\nid = 1\nsymbol = \"X\"\ntick_size = \"0.01\"\nlot_size = \"1\"\ncontract = \"inverse\"",
                "line 6: invalid instrument[1].contract 'inverse': only linear contracts are supported"
            ),
            (
                // A rate in bps written where a fraction is read: named as such (the message had
                // been "invalid fee rate.2: 200000000").
                "[[instrument]]\nid = 1\nsymbol = \"X\"\ntick_size = \"0.01\"\nlot_size = \"1\"\nmaker_fee = \"2\"",
                "line 6: invalid instrument[1].maker_fee '\"2\"': '2' is beyond -1 to 1: a fee rate is a fraction of the "
                    + "notional (2 bps is 0.0002)"
            ),
            (
                // A currency's name that would split the totals (a space, a comma, nothing).
                "[[instrument]]\nid = 1\nsymbol = \"X\"\ntick_size = \"0.01\"\nlot_size = \"1\"\nquote_currency = \" USDT\"",
                "line 6: invalid instrument[1].quote_currency ' USDT': a currency's code: 1 to 16 letters, digits, '.', '-' or '_'"
            ),
            (
                "[[instrument]]\nid = 1\nsymbol = \"X\"\ntick_size = \"0.01\"\nlot_size = \"1\"\nquote_currency = \"\"",
                "line 6: invalid instrument[1].quote_currency '': a currency's code"
            ),
            (
                // A minimum notional past 128 bits in the finest money unit (it had trapped).
                "[[instrument]]\nid = 1\nsymbol = \"X\"\ntick_size = \"0.000000000001\"\n"
                    + "lot_size = \"0.000000000000000001\"\nmin_notional = \"9\"",
                "line 6: invalid instrument[1].min_notional '\"9\"': '9' is too large"
            ),
        ] {
            #expect(throws: EngineError.self) { try ConfigurationFile.resolve(fileText: file) }
            do { _ = try ConfigurationFile.resolve(fileText: file) } catch {
                #expect(error.description.hasPrefix(message), "\(error)")
            }
        }
        // An instrument's venue must agree with the routing: instrument 0 has market data only.
        var wrong = configuration
        wrong.instrumentDefinitions[0].id = InstrumentID(0)
        #expect(throws: EngineError.self) { try wrong.validate() }
    }

    /// A strategy without an id takes its position, or the next id after it no other has: a
    /// default id no longer collides with one given (`id = 2` in a file and a second strategy
    /// on the command line had been refused as two strategies with id 2).
    @Test func aStrategyWithoutAnIdTakesTheNextFreeOne() {
        let specs = [
            StrategySpec(name: "a", id: 2), StrategySpec(name: "b"), StrategySpec(name: "c"),
            StrategySpec(name: "d", id: 4), StrategySpec(name: "e"),
        ]
        #expect(specs.resolvedIDs == [2, 3, 5, 4, 6])
        #expect([StrategySpec(name: "a"), StrategySpec(name: "b")].resolvedIDs == [1, 2])
    }

    /// A journal's durability or sync settings beside `journal.enabled = false` in one layer
    /// are refused, as `--durability` beside `--no-journal` is; across layers they are kept.
    @Test func journalSettingsWithoutAJournalAreRefused() throws {
        #expect(
            throws: EngineError.inFile(
                location: "pod.toml:3",
                .invalidSetting(
                    name: "journal.durability", value: "every",
                    allowed: "applies to a journal, and journal.enabled is false: drop one"))
        ) {
            try ConfigurationFile.resolve(
                fileText: "[journal]\nenabled = false\ndurability = \"every\"\n", filePath: "pod.toml")
        }
        #expect(
            throws: EngineError.invalidSetting(
                name: "PEREGRINE_JOURNAL_SYNC_EVENTS", value: "5",
                allowed: "applies to a journal, and PEREGRINE_JOURNAL_ENABLED is false: drop one")
        ) {
            try ConfigurationFile.resolve(
                environment: ["PEREGRINE_JOURNAL_ENABLED": "false", "PEREGRINE_JOURNAL_SYNC_EVENTS": "5"])
        }
        let across = try ConfigurationFile.resolve(
            fileText: "[journal]\ndurability = \"every\"\n", environment: ["PEREGRINE_JOURNAL_ENABLED": "false"])
        #expect(across.journalDirectory == nil)
    }

    /// `max` and `rate` in one layer (the file, or the environment) are refused, as the two
    /// flags are; across layers the later one wins.
    @Test func maxAndRateTogetherAreRefused() throws {
        #expect(
            throws: EngineError.inFile(
                location: "pod.toml:3",
                .invalidSetting(
                    name: "source.rate", value: "5", allowed: "give either source.rate or source.max, not both"))
        ) {
            try ConfigurationFile.resolve(fileText: "[source]\nmax = true\nrate = 5\n", filePath: "pod.toml")
        }
        #expect(
            throws: EngineError.invalidSetting(
                name: "PEREGRINE_SOURCE_RATE", value: "5",
                allowed: "give either PEREGRINE_SOURCE_RATE or PEREGRINE_SOURCE_MAX, not both")
        ) {
            try ConfigurationFile.resolve(environment: ["PEREGRINE_SOURCE_RATE": "5", "PEREGRINE_SOURCE_MAX": "true"])
        }
        let later = try ConfigurationFile.resolve(
            fileText: "[source]\nrate = 5\n", environment: ["PEREGRINE_SOURCE_MAX": "true"])
        #expect(later.rate == .unlimited)
        let notMax = try ConfigurationFile.resolve(fileText: "[source]\nmax = false\nrate = 5\n")
        #expect(notMax.rate == .perSecond(5))
    }

    /// A `[[risk]]` rule refused for what it depends on (a strategy id, a price collar) is named
    /// at the line of the setting it names (the rules come from the file alone).
    @Test func aRiskRuleRefusedIsNamedAtItsLine() throws {
        let text = "[[risk]]\nmax_open_orders = 1\n\n[[risk]]\nstrategy = 9\nmax_open_orders = 2\n"
        let configuration = try ConfigurationFile.resolve(fileText: text, filePath: "r.toml")
        let refusal = try #require(throws: EngineError.self) { try configuration.validate(custom: IdleStrategy.self) }
        #expect(
            ConfigurationFile.located(refusal, in: text, path: "r.toml", afterOverrides: true)
                == .inFile(
                    location: "r.toml:5",
                    .risk(
                        RiskConfigurationError(
                            "risk[2].strategy = 9: no strategy has that id (no strategy is configured)"))))
        // An instrument id defined twice: the second table's id, at its line.
        let table = "tick_size = \"0.5\"\nlot_size = \"1\"\n"
        let twice = "[[instrument]]\nid = 0\nsymbol = \"A\"\n\(table)\n[[instrument]]\nid = 0\nsymbol = \"B\"\n\(table)"
        let instruments = try ConfigurationFile.resolve(fileText: twice, filePath: "i.toml")
        let duplicate = try #require(throws: EngineError.self) { try instruments.validate() }
        #expect(
            ConfigurationFile.located(duplicate, in: twice, path: "i.toml", afterOverrides: true)
                == .inFile(
                    location: "i.toml:8",
                    .invalidSetting(name: "instrument[2].id", value: "0", allowed: "define each instrument id once")))
    }

    /// A value only `validate()` refuses (it depends on another setting) is named as the file
    /// writes it, at its line; when a flag gave the refused value, no line of the file is named.
    @Test func aValueRefusedByValidationIsNamedAtItsLine() throws {
        let text = "[rings]\ninbound = 64\n\n[source]\nburst = 100\non_full = \"drop\"\nmax = true\n"
        let configuration = try ConfigurationFile.resolve(fileText: text, filePath: "pod.toml")
        let onFull = try #require(throws: EngineError.self) { try configuration.validate() }
        guard
            case .inFile(let location, .invalidSetting(let name, "drop", _)) =
                ConfigurationFile.located(onFull, in: text, path: "pod.toml", afterOverrides: true)
        else {
            Issue.record("on-full not located: \(onFull)")
            return
        }
        #expect(location == "pod.toml:6" && name == "source.on_full")
        var blocking = configuration
        blocking.fullRingPolicy = .block
        let refusal = EngineError.invalidSetting(name: "burst", value: "100", allowed: "use 1 to the ring size (64)")
        #expect(throws: refusal) { try blocking.validate() }
        #expect(
            ConfigurationFile.located(refusal, in: text, path: "pod.toml", afterOverrides: true)
                == .inFile(
                    location: "pod.toml:5",
                    .invalidSetting(name: "source.burst", value: "100", allowed: "use 1 to the ring size (64)")))
        // `--burst 200` on the command line: the file's `burst = 100` is not what was refused.
        let flag = EngineError.invalidSetting(name: "burst", value: "200", allowed: "use 1 to the ring size (64)")
        #expect(ConfigurationFile.located(flag, in: text, path: "pod.toml", afterOverrides: true) == flag)
        // A flag's source is not the file's [source] section; the environment's admin token is
        // not the file's, which is named only when it is the one refused (shown by its length).
        let source = EngineError.invalidSetting(name: "source", value: "x:/missing", allowed: "no such file")
        #expect(ConfigurationFile.located(source, in: text, path: "pod.toml", afterOverrides: true) == source)
        let tokenFile = "[control]\nadmin_token = \"short\"\n"
        let token = EngineError.invalidSetting(name: "control.admin_token", value: "(5 characters)", allowed: "…")
        let other = EngineError.invalidSetting(name: "control.admin_token", value: "(3 characters)", allowed: "…")
        #expect(
            ConfigurationFile.located(token, in: tokenFile, path: "c.toml", afterOverrides: true)
                == .inFile(location: "c.toml:2", token))
        #expect(ConfigurationFile.located(other, in: tokenFile, path: "c.toml", afterOverrides: true) == other)
        // A token of the same length as the file's valid one, refused for a space, is not the file's.
        let spaced = EngineError.invalidSetting(name: "control.admin_token", value: "(16 characters)", allowed: "…")
        #expect(
            ConfigurationFile.located(
                spaced, in: "[control]\nadmin_token = \"abcdefghijklmnop\"\n", path: "c.toml", afterOverrides: true)
                == spaced)
        // Lines inside a multi-line string that an escaped quote keeps open are the string's.
        let open = "[journal]\ndirectory = \"\"\"/tmp/x\\\"\"\"\n[source]\nburst = 7\n\"\"\"\n[source]\nburst = 0\n"
        #expect(ConfigurationFile.line(of: "source.burst", in: open) == 7)
        let extra = "[journal]\ndirectory = \"\"\"/tmp/x\"\"\"\"\"\n[source]\nburst = 3\n"
        #expect(ConfigurationFile.line(of: "source.burst", in: extra) == 4)
        // Pruning without snapshots is named at the file's `prune = true`.
        let pruning = "[journal]\nsnapshot_every = 0\nprune = true\n"
        let unpruned = try #require(throws: EngineError.self) {
            try ConfigurationFile.resolve(fileText: pruning, filePath: "j.toml").validate()
        }
        #expect(
            "\(ConfigurationFile.located(unpruned, in: pruning, path: "j.toml", afterOverrides: true))"
                == "j.toml:3: invalid journal.prune 'true': pruning needs snapshots: give [journal] snapshot_every "
                + "(--snapshot-every) a count of events (0 is never)")
    }

    @Test func profilesDiffer() throws {
        let hft = try ConfigurationFile.resolve(profile: .hft)
        let analytics = try ConfigurationFile.resolve(profile: .analytics)
        let small = try ConfigurationFile.resolve(profile: .memoryConstrained)
        #expect(hft.waitStrategy == .spin && hft.pinCPUs == [0, 1])
        #expect(analytics.durability == .none && analytics.inboundRingSize == 1 << 20)
        #expect(small.waitStrategy == .park && small.inboundRingSize == 4_096 && small.segmentBytes == 8 << 20)
    }

    @Test func eachInvalidKeyOrValueHasItsMessage() {
        let cases: [(String, String)] = [
            ("[rings]\ninbound = 1000", "line 2: invalid rings.inbound '1000': use a power of two from 64 to 67108864"),
            (
                "[rings]\ninbnd = 1024",
                "line 2: invalid rings.inbnd '1024': unknown key; known in [rings]: inbound, outbound, order, report"
            ),
            ("[rings]\ninbound = \"big\"", "line 2: invalid rings.inbound '\"big\"': must be an integer"),
            (
                "[journal]\ndurability = \"sometimes\"",
                "line 2: invalid journal.durability 'sometimes': use none, batch, every"
            ),
            // A value of another type names the choices too.
            (
                "[journal]\ndurability = 1",
                "line 2: invalid journal.durability '1': must be a string: use none, batch, every"
            ),
            ("[threads]\nwait = \"nap\"", "line 2: invalid threads.wait 'nap': use spin, yield, park"),
            (
                "[threads]\npin = [0, -1]",
                "line 2: invalid threads.pin '[0, -1]': use an array of CPU numbers, e.g. [0, 1]"
            ),
            (
                "[bundles]",
                "line 1: invalid bundles '(empty)': unknown section [bundles]; sections: [source], [rings], [threads], [journal], "
                    + "[venue], [trading], [metrics], [control], [log], [monitor], [[strategy]], [[instrument]], [[risk]] "
                    + "and [backtest] ([bundles] was removed on 2026-11-29: strategies submit "
                    + "orders, not bundles)"
            ),
            (
                "[bundles]\nsize = 16",
                "line 2: invalid bundles.size '16': unknown section [bundles]; sections: [source], [rings], [threads], [journal], [venue], [trading], [metrics], [control], [log], [monitor], "
                    + "[[strategy]], [[instrument]], [[risk]] and [backtest] "
                    + "([bundles] was removed on "
                    + "2026-11-29: strategies submit orders, not bundles)"
            ),
            ("[metrics]\nport = 70000", "line 2: invalid metrics.port '70000': use 0 (off) to 65535"),
            (
                "[metrics]\naddress = \"localhost\"",
                "line 2: invalid metrics.address 'localhost': use an IP address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface, e.g. in a pod) or ::"
            ),
            (
                "[log]\nlevel = \"loud\"",
                "line 2: invalid log.level 'loud': use trace, debug, info, notice, warning, error, critical"
            ),
            (
                "[source]\nduration = -1",
                "line 2: invalid source.duration '-1': use 0 (run until SIGINT or SIGTERM) or 0.001 to 315360000 seconds (ten years)"
            ),
            ("[source]\nrate = 0", "line 2: invalid source.rate '0': use events per second, 1 to 1000000000"),
            ("profile = \"fast\"", "line 1: invalid profile '\"fast\"': use hft, analytics, memory_constrained"),
            ("speed = 3", "line 1: invalid speed '3': unknown top-level key; settings go in sections such as [rings]"),
        ]
        for (text, message) in cases {
            do {
                _ = try ConfigurationFile.resolve(fileText: text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description == message)
            }
        }
        do {
            _ = try ConfigurationFile.resolve(fileText: "[rings\ninbound = 1")
            Issue.record("accepted a broken file")
        } catch {
            #expect(
                error.description
                    == "line 1: invalid TOML '[rings': Error while parsing table header: expected ']', saw '\\n'")
        }
    }

    /// A setting an error names is found at the line that writes it: in the right one of
    /// several `[[table]]`s (quoted or not), past comments, multi-line arrays and strings, in
    /// sub-tables, inline tables and dotted keys; a key a table does not write at the table's
    /// header; CRLF lines as LF ones; nothing when the file does not write the table.
    @Test func aSettingIsFoundAtItsLine() {
        let text = """
            profile = "hft"   # line 1
            [backtest]
            data = [
              "tardis-quotes:q[1].csv",
              ["not", "a", "header"],
              [0]
            ]
            # queue_model = "log"
            "queue_model" = "power:2"
            note = \"\"\"
            [rings]
            capital = 1
            \"\"\"
            [backtest.extra]
            capital = 5
            [[strategy]]
            name = "a"
              fast = 1
            [["strategy"]]   # the second
            name = "b"
            fast = 2
            [strategy.params]
            slow = 3
            [rings]
            inbound=1000
            outbound.x = 5
            [[risk]]
            max_gross_exposure = { BTC = "5.5" }
            [[risk]]
            [risk.max_gross_exposure]
            ETH = '1'
            """
        let expected: [(String, Int?)] = [
            ("profile", 1), ("backtest", 2), ("backtest.data", 3), ("backtest.queue_model", 9),
            ("backtest.capital", 2), ("backtest.extra", 14), ("strategy[1].fast", 18), ("strategy[2].fast", 21),
            ("strategy[2]", 19), ("strategy[2].name", 20), ("strategy[2].id", 19), ("strategy[2].params", 22),
            ("strategy[2].params.slow", 23), ("strategy[3].name", nil), ("rings.inbound", 25), ("rings.outbound", 26),
            ("risk[1].max_gross_exposure.BTC", 28), ("risk[2].max_gross_exposure.ETH", 31),
            ("risk[2].max_gross_exposure.BTC", 30), ("source.rate", nil), ("speed", nil), ("strategy[x].name", nil),
        ]
        for (setting, line) in expected {
            #expect(ConfigurationFile.line(of: setting, in: text) == line, "\(setting)")
            let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
            #expect(ConfigurationFile.line(of: setting, in: crlf) == line, "\(setting), CRLF")
        }
        // Lines of one file ending in both ways (a line pasted from elsewhere) count alike.
        #expect(ConfigurationFile.line(of: "rings.inbound", in: "[rings]\n# pasted\r\n\ninbound = 1000\n") == 4)
        #expect(ConfigurationFile.line(of: "rings.inbound", in: "\u{FEFF}[rings]\ninbound = 1000\n") == 2)
        #expect(ConfigurationFile.location(of: "rings.inbound", in: text, path: "pod.toml") == "pod.toml:25")
        #expect(ConfigurationFile.location(of: "rings.inbound", in: text, path: nil) == "line 25")
    }

    /// A strategy that building refuses is named at the line of the one `[[strategy]]` table
    /// that defines it (its name, or the parameter with the refused value); not when two tables
    /// match, or when none does (a strategy given as a flag).
    @Test func aRefusedStrategyIsNamedAtItsTablesLine() throws {
        let text = """
            [[strategy]]
            name = "golden-cross"
            fast = 5
            slow = 2
            [[strategy]]
            name = "golden-cross"
            fast = 1
            slow = 9
            [[strategy]]
            name = "nosuch"
            """
        func located(_ refusal: StrategyConfigurationError) -> String {
            "\(ConfigurationFile.located(.strategy(refusal), in: text, path: "s.toml"))"
        }
        #expect(
            located(.invalidParameter(strategy: "golden-cross", key: "fast", value: "5", allowed: "1 to 2"))
                == "s.toml:3: strategy golden-cross: fast=5 is not allowed: use 1 to 2")
        #expect(
            located(.invalidParameter(strategy: "golden-cross", key: "slow", value: "9", allowed: "less"))
                == "s.toml:8: strategy golden-cross: slow=9 is not allowed: use less")
        #expect(
            located(.unknownStrategy(name: "nosuch", allowed: ["idle"]))
                == "s.toml:10: unknown strategy 'nosuch': use one of idle")
        // Both tables write `fast`; a value neither has (a flag's); another strategy's name.
        #expect(
            located(.unknownParameter(strategy: "golden-cross", key: "fast", allowed: []))
                == "strategy golden-cross has no parameter 'fast': it takes none")
        #expect(
            located(.invalidParameter(strategy: "golden-cross", key: "fast", value: "7", allowed: "1 to 2"))
                == "strategy golden-cross: fast=7 is not allowed: use 1 to 2")
        #expect(
            located(.invalid(strategy: "market-maker", reason: "no instruments"))
                == "strategy market-maker: no instruments")
        // A setting, through the same function; an error about no setting is left as it is.
        #expect(
            "\(ConfigurationFile.located(.invalidSetting(name: "strategy[2].slow", value: "9", allowed: "x"), in: text, path: nil))"
                == "line 8: invalid strategy[2].slow '9': x")
        #expect(ConfigurationFile.located(.wiring("w"), in: text, path: nil) == .wiring("w"))
    }

    /// A `[[strategy]]` parameter written as a TOML number reaches the strategy as the decimal
    /// written (plain, never in exponent form) when a double holds it (15 significant digits);
    /// one of more is refused at its line with the advice to write a string.
    @Test func aStrategysNumberIsTheDecimalWrittenOrRefused() throws {
        let cases: [(Double, String?)] = [
            (0.001, "0.001"), (2.5, "2.5"), (-0.75, "-0.75"), (1e-5, "0.00001"), (100.0, "100"), (0.0, "0"),
            (1.5e20, "150000000000000000000"), (123456789012345.6, nil), (0.30000000000000004, nil),
            (12345678.12345678, nil), (0.000000000000001234, "0.000000000000001234"), (.infinity, nil),
            (-0.0, "0"), (.nan, nil), (5e-324, nil), (1e-40, "0." + String(repeating: "0", count: 39) + "1"),
            (1e-41, nil), (1e39, "1" + String(repeating: "0", count: 39)), (1e40, nil), (1e308, nil),
        ]
        for (number, text) in cases { #expect(ConfigurationFile.decimalText(number) == text, "\(number)") }
        let file = """
            [[strategy]]
            name = "golden-cross"
            quantity = 1e-3
            fast = 2.0
            """
        let configuration = try ConfigurationFile.resolve(fileText: file)
        let parameters = try #require(configuration.strategies.first?.parameters)
        #expect(parameters.map(\.key) == ["fast", "quantity"] && parameters.map(\.value) == ["2", "0.001"])
        let refused = """
            [[strategy]]
            name = "golden-cross"
            quantity = 0.30000000000000004
            """
        do {
            _ = try ConfigurationFile.resolve(fileText: refused)
            Issue.record("a decimal of 17 significant digits was taken")
        } catch {
            #expect(
                "\(error)".contains("strategy[1].quantity '0.30000000000000004': a TOML number is read as a double")
                    && "\(error)".hasSuffix("write this one as a string, e.g. \"0.1000000000000000001\""),
                "\(error)")
        }
    }

    @Test func podSettings() throws {
        let pod = try ConfigurationFile.resolve(
            fileText: "[source]\nduration = 0\n[metrics]\naddress = \"0.0.0.0\"\n[log]\nlevel = \"warning\"")
        #expect(pod.durationSeconds == nil)
        #expect(pod.metricsAddress == "0.0.0.0")
        #expect(pod.logLevel == "warning")
        let ipv6 = try ConfigurationFile.resolve(environment: ["PEREGRINE_METRICS_ADDRESS": "::1"])
        #expect(ipv6.metricsAddress == "::1")
        #expect(ConfigurationFile.render(pod, profile: nil).contains("duration = 0.0\n"))
    }

    @Test func theEnvironmentOverridesTheFileAndTheFileTheProfile() throws {
        let file =
            "profile = \"memory_constrained\"\n[rings]\ninbound = 8192\noutbound = 8192\n[journal]\ndurability = \"every\""
        let fromFile = try ConfigurationFile.resolve(fileText: file)
        #expect(fromFile.inboundRingSize == 8_192 && fromFile.waitStrategy == .park && fromFile.durability == .every)
        let withEnvironment = try ConfigurationFile.resolve(
            fileText: file, environment: ["PEREGRINE_RINGS_INBOUND": "16384", "PEREGRINE_THREADS_PIN": "1"])
        #expect(withEnvironment.inboundRingSize == 16_384 && withEnvironment.outboundRingSize == 8_192)
        #expect(withEnvironment.pinCPUs == [1])
        #expect(
            throws: EngineError.invalidSetting(
                name: "PEREGRINE_RINGS_INBOUND", value: "lots", allowed: "must be an integer (rings.inbound)")
        ) {
            try ConfigurationFile.resolve(fileText: file, environment: ["PEREGRINE_RINGS_INBOUND": "lots"])
        }
        let profileFlag = try ConfigurationFile.resolve(profile: .hft, fileText: file)
        #expect(profileFlag.waitStrategy == .spin && profileFlag.inboundRingSize == 8_192)
    }

    @Test func flagsOverrideTheEnvironmentInTheCLI() throws {
        let binary = CommandLineTests.binary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("peregrine binary not found")
            return
        }
        let file = NSTemporaryDirectory() + "peregrine-config-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "[rings]\ninbound = 1024\n[threads]\nwait = \"yield\"\n[journal]\nenabled = false\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["run", "--config", file, "--ring-size", "4096", "--rate", "1000", "--duration", "0.3"]
        process.environment = ["PEREGRINE_RINGS_INBOUND": "2048", "PEREGRINE_THREADS_TOPOLOGY": "dedicated"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        // The flag's ring size wins over the environment's, which wins over the file's.
        #expect(text.contains("topology          dedicated, wait yield, inbound ring 4096"))
        #expect(text.contains("journal           none"))
    }
}
