import Crypto
import PeregrineBook
import PeregrineCodec
import PeregrineCore
import PeregrineEngine
import PeregrineFeed
import PeregrineMempool
import PeregrineModel
import PeregrineStrategy
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An input file as the report names it.
public struct InputFile: Hashable, Sendable {
    public var path: String
    public var format: String
    public var sha256: String
    /// The instrument a text file's rows feed (its rows' symbol, or the one given with
    /// `FORMAT@SYMBOL`); nil for a converted file (its instruments are its own) or another input.
    public var symbol: String? = nil
}

/// A file the backtest reads, resolved: its instrument and grids.
struct PlannedFile: Sendable {
    var path: String
    var format: FeedFormat?
    var instrument: InstrumentID
    var tickSize: Increment
    var lotSize: Increment
    /// A converted file, mapped once and shared by every run of the plan.
    var converted: EventFile?
    /// A converted file's instrument ids mapped to the backtest's.
    var instrumentMap: [InstrumentID]
    /// Whether its rows stamped before a row above them are warned about (not for a sweep's
    /// shared file, whose text sources were: `BacktestPlan.sharingData`).
    var warnsOfStepBacks = true
    /// Whether it follows the file before it in the plan in one `--data` list (the next day's
    /// file, or a snapshot file's updates): its first numbered message is checked against that
    /// file's last (`MarketDataStream.dataWarnings`), as `feed replay` of the list checks it.
    var followsInList = false
}

/// A backtest resolved from its settings: the instruments (numbered from 0 in the order the
/// data names them), the files and the engine configuration. Building it reads the files' first
/// lines (symbols) and scans their grids; it refuses what cannot run (exit 2).
public struct BacktestPlan: Sendable {
    public internal(set) var settings: BacktestSettings
    public let instruments: [InstrumentDefinition]
    /// The input files; their SHA-256 are computed on a thread of their own while the backtest
    /// runs (`hashedInputs()` waits for them).
    public let inputs: [InputFile]
    let hashes: InputHashes
    public internal(set) var configuration: EngineConfiguration
    var files: [PlannedFile]
    /// What the plan chose that the user did not give (a refined lot), for people.
    public private(set) var notes: [String] = []
    /// Whether a lot found in the data was refined for this plan's strategy (a note says so).
    private(set) var lotRefined = false
    /// What in the data's instruments makes the results mean less than they seem: an inverse
    /// or quanto contract taken as linear (`InverseContracts`). Each run's
    /// `BacktestResult.warnings` begins with them.
    public private(set) var warnings: [String] = []
    /// The exchange and symbol each instrument's data was recorded under, where the data names
    /// them (kept in converted files, whose backtests then warn as their sources' do).
    var recorded: [RecordedName] = []
    /// Whether every instrument's lot was found in text data (none given by `--lot-size`, an
    /// `[[instrument]]` or a converted file): what a finer `--lot-size` can change.
    var lotsFoundInData = false
    /// Whether every instrument comes from converted files (their lots fixed at conversion).
    var lotsFromConvertedFiles = false
    /// Per instrument (by symbol) whose tick was found in its data, a coarser step that every
    /// price was a multiple of (the tick warning's): kept in converted files, whose backtests
    /// warn again.
    var coarserPriceSteps: [String: Increment] = [:]
    /// Per instrument (by symbol) with text data besides converted data, a converted file its
    /// grids come from (fixed at conversion): named when a price or size of the text is off them.
    var convertedGridFiles: [String: String] = [:]
    /// Each converted input's sources (its metadata's: format, digest and path), by its path.
    var convertedSources: [String: [InputFile]] = [:]
    /// Each data file's identity when the plan was made (`changedInput`).
    var inputIdentities: [(path: String, identity: FileIdentity?)] = []

    /// The message for a data file whose identity (device, inode, size, modification or
    /// status-change time) is no longer what it was when the plan was made: it was written or
    /// replaced while it was read (its records' checksums were checked ahead of the reading, and
    /// a run may have mixed two versions of it). Nil when none changed.
    var changedInput: String? {
        for (path, identity) in inputIdentities where FileIdentity(path: path) != identity {
            return Self.changedMessage(path)
        }
        return nil
    }

    /// What is said of a data file at `path` written or replaced while the backtest read it.
    static func changedMessage(_ path: String) -> String {
        "\(path) changed while the backtest read it (written, cut or replaced): its results could mix two versions "
            + "of it, so there is none; rewrite inputs only between runs (data convert writes a new file and renames "
            + "it into place), then run again"
    }

    /// Every file the plan reads: its data and a measured latency table.
    public var inputPaths: [String] { settings.inputPaths }

    /// A plan for the built-in strategies. `stopRequested` is asked while the text inputs are
    /// scanned for their grids (every 65,536 lines): when it names a reason (a signal), making
    /// the plan stops with a `data` error saying so.
    public init(_ settings: BacktestSettings, stopRequested: () -> String? = { nil }) throws(BacktestError) {
        try self.init(settings, custom: IdleStrategy.self, stopRequested: stopRequested)
    }

    /// A plan whose strategies may also be of the outside type `Custom` (run it with
    /// `Backtest.run(_:custom:)` and the same type).
    public init<Custom: Strategy>(
        _ settings: BacktestSettings, custom: Custom.Type, stopRequested: () -> String? = { nil }
    ) throws(BacktestError) {
        try self.init(settings, custom: custom, refiningLots: true, stopRequested: stopRequested)
    }

    /// The most decimals a lot is refined to (sizes up to 9.2 × 10^8 units still fit in lots).
    static let maximumRefinedLotDecimals = 10

    /// `refiningLots`: whether a quantity finer than the lot found in the data may refine it
    /// (not for a sweep's jobs).
    init<Custom: Strategy>(
        _ settings: BacktestSettings, custom: Custom.Type, refiningLots: Bool, stopRequested: () -> String? = { nil }
    ) throws(BacktestError) {
        self.settings = settings
        guard !settings.data.isEmpty else {
            throw .usage("name the market data: --data FORMAT:FILE, or data = [\"FORMAT:FILE\"] in [backtest]")
        }
        guard !settings.strategies.isEmpty else { throw .usage("name a strategy: --strategy NAME [--param key=value]") }
        if let from = settings.from, let to = settings.to, from >= to {
            throw .usage(
                "the start \(UTCTime.text(from)) is not before the end \(UTCTime.text(to)) (--from and --to, or "
                    + "[backtest] from and to): nothing would run")
        }
        // A file named twice would be read twice: every event doubled.
        var named: [String: String] = [:]
        for spec in settings.data {
            for path in spec.paths {
                var status = stat()
                let identity = stat(path, &status) == 0 ? "\(status.st_dev):\(status.st_ino)" : path
                if let earlier = named[identity] {
                    let again = earlier == path ? "is given twice" : "is the same file as \(earlier)"
                    throw .usage(
                        "\(spec.origin) \(spec.text): \(path) \(again) (it would be read twice): name each file once")
                }
                named[identity] = path
            }
        }
        var symbols: [String] = []
        var textFiles: [String: [(FeedFormat, String)]] = [:]
        var convertedDefinitions: [String: InstrumentDefinition] = [:]
        var convertedQuoteBooks = Set<String>()
        /// Per symbol, the converted files holding it that are not quote books there (each with
        /// the symbol's id in the file): they hold its book changes, or no quotes of it.
        var convertedOthers: [String: [(file: EventFile, id: UInt32)]] = [:]
        /// Per symbol, the coarser price step each converted file holding it keeps (nil: none).
        var convertedSteps: [String: [Increment?]] = [:]
        var pending: [(path: String, format: FeedFormat?, symbol: String?, map: [String], converted: EventFile?)] = []
        // Instruments of the data (text or converted) that are not linear contracts, each once
        // with its files.
        var notLinear: [(kind: InverseContracts.Kind, name: RecordedName, files: [String])] = []
        var recorded: [RecordedName] = []
        var unnamed: [String] = []
        let severalFiles = settings.data.flatMap(\.paths).count > 1
        /// Notes that `path` holds data recorded as `name` says. (A name a metadata line could
        /// not keep, an exchange or symbol empty or with a space, is not recorded.)
        func note(_ name: RecordedName, in path: String) {
            guard name.isRecordable else { return }
            if !recorded.contains(name) { recorded.append(name) }
            guard let kind = InverseContracts.kind(exchange: name.exchange, symbol: name.symbol) else { return }
            if let index = notLinear.firstIndex(where: { $0.name == name }) {
                notLinear[index].files.append(path)
            } else {
                notLinear.append((kind, name, [path]))
            }
        }
        for spec in settings.data {
            for path in spec.paths where access(path, R_OK) != 0 {
                throw .usage("\(spec.origin) \(spec.text): cannot read \(path): \(String(cString: strerror(errno)))")
            }
            // Every input is read several times (names, grids, digests, the run): a pipe, a device or
            // a directory cannot be (as `feed replay` says).
            for path in spec.paths where !OutputFile.isRegularFile(path) {
                throw .usage(
                    "\(spec.origin) \(spec.text): \(path) is not a regular file (a pipe, a device or a directory)")
            }
            // And a file that is not a converted one at all (text, say) named as one: the way to
            // pass it (a converted file cut or damaged is bad data, found when it is mapped).
            for path in spec.paths where spec.format == nil && !EventFileFormat.mayBeConverted(path) {
                throw .usage(
                    "\(spec.origin) \(spec.text): \(path) is not a converted event file (it does not begin with "
                        + "PGEVENTS): give its format, FORMAT:\(path), or convert it with peregrine data convert")
            }
            // A converted file named as text would be parsed as garbage (its binary header quoted).
            for path in spec.paths where spec.format != nil && EventFileFormat.isConverted(path) {
                throw .usage(
                    "\(spec.origin) \(spec.text): \(path) is a converted event file (peregrine data convert): pass it as "
                        + "events:\(path)")
            }
        }
        // Converted files are mapped first: they are hashed through their mapping (unless
        // compressed: the digest is the file's own bytes), so the hashing thread, which reads
        // faster than the backtest, also maps their pages for it.
        var mapped: [String: EventFile] = [:]
        for spec in settings.data where spec.format == nil {
            for path in spec.paths {
                // What it holds (a damaged or cut file, another version) is bad data: exit 1.
                do { mapped[path] = try EventFile(path: path) } catch {
                    throw .data("\(spec.origin) \(spec.text): \(error)")
                }
            }
        }
        // Hashing starts now, on the core the grid scan below leaves idle; a usage error found
        // later stops it (it does not wait for it).
        let hashes = try InputHashes(
            paths: settings.data.flatMap(\.paths), mapped: mapped.filter { !MappedLines.inflates($0.key) },
            cache: settings.digestCache)
        for spec in settings.data {
            for path in spec.paths {
                if let format = spec.format {
                    let names = Self.names(in: path, format: format)
                    let symbol = spec.symbol ?? names.symbol
                    // A file whose rows name their symbol but whose first rows name none is its
                    // own instrument, named after the file: said, since with other data the
                    // report's totals then mix two markets. One without a row (empty, a header
                    // alone: a day without trading in a list of days) adds nothing: it is read
                    // for a market the other files name (which they number and give a book:
                    // an empty level file does not make a market of quotes a level book), or is
                    // its own when there is none.
                    if spec.symbol == nil, !names.fromData, format != .truefxQuotes, format != .l3JSONLines,
                        severalFiles
                    {
                        if Self.holdsNoRow(path, format: format),
                            let market = Self.namedMarket(preferring: spec, in: settings.data, converted: mapped)
                        {
                            unnamed.append(
                                "\(path) holds no row (it is empty, or a header alone): nothing is read from it")
                            pending.append((path, format, market, [], nil))
                            continue
                        } else {
                            unnamed.append(
                                "\(path): no row names a symbol (is it empty?), so it is an instrument of its own named "
                                    + "\(symbol) after the file; give it as \(format.rawValue)@SYMBOL:\(path) to join its "
                                    + "market, or leave it out")
                        }
                    }
                    if let exchange = names.exchange {
                        note(RecordedName(exchange: exchange, symbol: names.symbol, name: symbol), in: path)
                    }
                    if !symbols.contains(symbol) { symbols.append(symbol) }
                    textFiles[symbol, default: []].append((format, path))
                    pending.append((path, format, symbol, [], nil))
                } else {
                    guard let reader = mapped[path] else { continue }
                    convertedSources[path] = reader.metadata.sources.map {
                        InputFile(path: $0.path, format: $0.format, sha256: $0.sha256)
                    }
                    // One without an event (a day without trading, converted alone: its
                    // instrument named after the file, on a grid of 1) adds nothing when other
                    // inputs hold events, as a text file without a row.
                    if reader.count == 0, severalFiles, !Self.holdsNothing(settings.data, converted: mapped) {
                        unnamed.append("\(path) holds no event: nothing is read from it")
                        pending.append((path, nil, nil, [], reader))
                        continue
                    }
                    let names = reader.metadata.instruments.sorted { $0.id < $1.id }.map(\.symbol)
                    for definition in reader.metadata.instruments {
                        if !symbols.contains(definition.symbol) { symbols.append(definition.symbol) }
                        if let known = convertedDefinitions[definition.symbol],
                            known.tickSize != definition.tickSize || known.lotSize != definition.lotSize
                        {
                            throw .usage(
                                "\(spec.origin) \(spec.text): \(definition.symbol) is on a tick of \(definition.tickSize) and a lot "
                                    + "of \(definition.lotSize) here, but of \(known.tickSize) and \(known.lotSize) in "
                                    + "\(convertedGridFiles[definition.symbol] ?? "an earlier converted file"); convert "
                                    + "them together, or both with the same --tick-size and --lot-size")
                        }
                        convertedDefinitions[definition.symbol] = definition
                        if convertedGridFiles[definition.symbol] == nil { convertedGridFiles[definition.symbol] = path }
                    }
                    convertedQuoteBooks.formUnion(reader.metadata.quoteBooks)
                    for definition in reader.metadata.instruments {
                        convertedSteps[definition.symbol, default: []].append(
                            reader.metadata.priceSteps[definition.symbol])
                    }
                    for definition in reader.metadata.instruments
                    where !reader.metadata.quoteBooks.contains(definition.symbol) {
                        convertedOthers[definition.symbol, default: []].append((reader, definition.id.rawValue))
                    }
                    for name in reader.metadata.recorded { note(name, in: path) }
                    pending.append((path, nil, nil, names, reader))
                }
            }
        }
        guard !symbols.isEmpty else {
            // Every conversion lists an instrument (an empty source's is named after the file).
            let listless = pending.filter { $0.converted?.metadata.instruments.isEmpty == true }.map(\.path)
            guard listless.isEmpty else {
                throw .data(
                    listless.map { "\($0): its metadata lists no instrument, which no conversion writes" }
                        .joined(separator: "; ") + ": the file is damaged; convert its sources again")
            }
            throw .usage("the data names no instrument")
        }
        convertedGridFiles = convertedGridFiles.filter { textFiles[$0.key] != nil }
        self.recorded = recorded
        warnings = notLinear.map { InverseContracts.warning($0.kind, $0.name, files: $0.files) } + unnamed
        warnings += Self.compressedCopies(settings.data)
        // One symbol recorded on several exchanges is one instrument, one book, unless named apart.
        for name in Set(recorded.map(\.name)).sorted() {
            let exchanges = recorded.filter { $0.name == name }.map(\.exchange)
            guard exchanges.count > 1 else { continue }
            warnings.append(
                "\(name): rows of \(exchanges.joined(separator: " and ")) make one instrument, one book; to keep "
                    + "their markets apart, give each exchange's files a name of its own (FORMAT@NAME:FILE)")
        }
        // The data names its instruments by symbol: one [[instrument]] table each. Of several
        // with one symbol (a file shared with live runs, the symbol on two venues), the one whose
        // venue is the exchange its rows were recorded on, when exactly one is; else refused (the
        // first had been taken, with another venue's fees, without a word).
        var reference: [String: InstrumentDefinition] = [:]
        for symbol in symbols {
            let tables = settings.instruments.filter { $0.symbol == symbol }
            guard tables.count > 1 else {
                if let table = tables.first { reference[symbol] = table }
                continue
            }
            let exchanges = recorded.filter { $0.name == symbol }.map(\.exchange)
            let matching = tables.filter { exchanges.contains($0.venue) }
            guard matching.count == 1, let table = matching.first else {
                // Named at the second table's symbol in the file (the tables come from one file).
                let second = settings.instruments.indices.filter { settings.instruments[$0].symbol == symbol }
                    .dropFirst().first
                let place = settings.configurationFile.flatMap { file in
                    second.flatMap {
                        ConfigurationFile.location(of: "instrument[\($0 + 1)].symbol", in: file.text, path: file.path)
                    }
                }
                let venues = tables.map(\.venue)
                throw .usage(
                    (place.map { "\($0): " } ?? "") + "[[instrument]] \(symbol) is given \(tables.count) times"
                        + (Set(venues).count > 1 ? " (venues " + venues.joined(separator: ", ") + ")" : "")
                        + ": a backtest names its instruments by symbol, so give it one table, or give exactly one "
                        + "the venue its data was recorded on ("
                        + (exchanges.isEmpty ? "its data does not say which" : exchanges.joined(separator: ", "))
                        + ")")
            }
            reference[symbol] = table
        }
        // Reference data for an instrument the data does not name (a misspelt symbol) would
        // leave the data's instrument on the grids found in its files, without its fees.
        for given in settings.instruments where !symbols.contains(given.symbol) {
            warnings.append(
                "[[instrument]] \(given.symbol) names no instrument of the data (\(symbols.joined(separator: ", "))), "
                    + "so its reference data is not used: check its symbol")
        }
        // Order-level rows without time (`l3-jsonl`): each is stamped with its line number, so
        // a file of them runs alone, each row a message of its own (read as text or from a file
        // converted from one: its sources say).
        let unstamped = settings.data.flatMap { spec in
            spec.paths.filter { path in
                spec.format == .l3JSONLines
                    || mapped[path]?.metadata.sources.contains { $0.format == FeedFormat.l3JSONLines.rawValue } == true
            }
        }
        if let path = unstamped.first {
            if severalFiles {
                throw .usage(
                    "\(path): l3-jsonl rows carry no time (a sequence number only), so they cannot be merged "
                        + "with other inputs by exchange time: backtest the file alone")
            }
            warnings.append(
                "\(path): l3-jsonl rows carry no time, so each is stamped with its line number as nanoseconds since "
                    + "the epoch: every row is a message of its own, in file order, and figures over time (Sharpe "
                    + "and Sortino, time in market, time in queue, latencies) mean nothing")
        }
        // Sizes TrueFX does not carry: nothing fills against its quotes, read as text or from a
        // file converted from them (its sources say).
        for spec in settings.data {
            for path in spec.paths
            where spec.format == .truefxQuotes
                || mapped[path]?.metadata.sources.contains(where: { $0.format == FeedFormat.truefxQuotes.rawValue })
                    == true
            {
                warnings.append(
                    "\(path): TrueFX quotes carry no sizes, so no order fills against them (use them for strategies "
                        + "that only read prices)")
            }
        }
        // `--feed-latency local` on a format without a receive time (read as text, or a converted
        // file's sources): its rows come at once.
        if settings.feedLatency == .local {
            for spec in settings.data {
                for path in spec.paths {
                    let formats =
                        spec.format.map { [$0.rawValue] } ?? (mapped[path]?.metadata.sources.map(\.format) ?? [])
                    // (A converted source, a file converted again, lists its own sources too.)
                    for format in Set(formats).sorted()
                    where !format.hasPrefix("tardis-") && format != DataSpec.convertedFormat {
                        warnings.append(
                            "\(path): \(format) rows carry no receive time, so --feed-latency local delivers them "
                                + "with no feed latency")
                    }
                }
            }
        }
        // An instrument without reference data takes its grids from its files: the finest
        // price and size they write. In a run of one strategy on one such instrument (the
        // reference backtest's shape), a quantity finer than that lot (a file whose sizes
        // happen to be coarser than the instrument's real lot) refines the lot to it rather
        // than being refused: the data's sizes stay exact on the finer grid, and no other
        // strategy's lots change meaning. Sweeps do not refine (every job must run on the
        // grid it would run on alone).
        // Only lots found in text data can be chosen finer (not --lot-size, an [[instrument]]
        // or a converted file's).
        lotsFoundInData =
            settings.lotSize == nil
            && symbols.allSatisfy { symbol in
                convertedDefinitions[symbol] == nil && !settings.instruments.contains { $0.symbol == symbol }
            }
        lotsFromConvertedFiles = settings.lotSize == nil && symbols.allSatisfy { convertedDefinitions[$0] != nil }
        var refinedLot: Increment? = nil
        var dataLot: Increment? = nil
        var scannedGrids: [String: (Increment, Increment)] = [:]
        var definitions: [InstrumentDefinition] = []
        var files: [PlannedFile] = []
        var inputs: [InputFile] = []
        var configuration = EngineConfiguration()
        while true {
            definitions = []
            for (index, symbol) in symbols.enumerated() {
                let id = InstrumentID(UInt32(index))
                if var given = reference[symbol] {
                    if let converted = convertedDefinitions[symbol],
                        converted.tickSize != given.tickSize || converted.lotSize != given.lotSize
                    {
                        throw .usage(
                            "[[instrument]] \(symbol): tick \(given.tickSize) and lot \(given.lotSize) are not its "
                                + "converted data's \(converted.tickSize) and \(converted.lotSize), fixed when it "
                                + "was converted; convert its sources again with --tick-size and --lot-size")
                    }
                    given.id = id
                    given.venue = Self.venue
                    definitions.append(given)
                    continue
                }
                var tick: Increment
                var lot: Increment
                if let converted = convertedDefinitions[symbol] {
                    // A converted file's records are counted in its own ticks and lots: another
                    // grid would read them as other prices and sizes.
                    for (origin, flag, given, own) in [
                        (settings.tickSizeOrigin, "--tick-size", settings.tickSize, converted.tickSize),
                        (settings.lotSizeOrigin, "--lot-size", settings.lotSize, converted.lotSize),
                    ] {
                        if let given, given != own {
                            throw .usage(
                                "\(origin) \(given): \(symbol)'s converted data is on a grid of \(own), fixed when it "
                                    + "was converted; convert its sources again with \(flag) \(given) (data convert)")
                        }
                    }
                    tick = converted.tickSize
                    lot = converted.lotSize
                    // The step its conversion found, when every converted file of it kept one.
                    if settings.tickSize == nil, coarserPriceSteps[symbol] == nil,
                        let steps = convertedSteps[symbol], !steps.isEmpty,
                        let coarser = Self.commonStep(steps.compactMap { $0 }, count: steps.count, tick: tick)
                    {
                        coarserPriceSteps[symbol] = coarser
                        warnings.append(Self.tickWarning(symbol, step: coarser, tick: tick))
                    }
                } else {
                    if let known = scannedGrids[symbol] {
                        (tick, lot) = known
                    } else {
                        let found = try Self.grids(
                            of: textFiles[symbol] ?? [], settings: settings, stopRequested: stopRequested)
                        (tick, lot) = (found.tick, found.lot)
                        scannedGrids[symbol] = (tick, lot)
                        if let coarser = Self.coarserStep(ticks: Int128(found.priceStep), of: tick) {
                            coarserPriceSteps[symbol] = coarser
                            warnings.append(Self.tickWarning(symbol, step: coarser, tick: tick))
                        }
                    }
                    if settings.lotSize == nil, let refinedLot, refinedLot.decimals > lot.decimals { lot = refinedLot }
                }
                let maker: FeeRate
                let taker: FeeRate
                do {
                    maker = try FeeRate(basisPoints: settings.makerFeeBasisPoints)
                    taker = try FeeRate(basisPoints: settings.takerFeeBasisPoints)
                } catch {
                    throw .usage(
                        "fees in basis points must be decimals with at most 4 decimals, from -10000 to 10000 "
                            + "(maker \(settings.makerFeeBasisPoints), taker \(settings.takerFeeBasisPoints))")
                }
                definitions.append(
                    InstrumentDefinition(
                        id: id, symbol: symbol, venue: Self.venue, tickSize: tick, lotSize: lot,
                        minimumQuantity: Quantity(lots: 1), minimumNotional: .zero,
                        quoteCurrency: Self.quoteCurrency(of: symbol), makerFee: maker, takerFee: taker,
                        contract: .linear))
            }
            let bySymbol = Dictionary(uniqueKeysWithValues: definitions.map { ($0.symbol, $0) })
            files = []
            inputs = []
            let listed = Set(settings.data.flatMap { $0.paths.dropFirst() })
            for entry in pending {
                if let format = entry.format, let symbol = entry.symbol, let definition = bySymbol[symbol] {
                    files.append(
                        PlannedFile(
                            path: entry.path, format: format, instrument: definition.id, tickSize: definition.tickSize,
                            lotSize: definition.lotSize, converted: nil, instrumentMap: [],
                            followsInList: listed.contains(entry.path)))
                    inputs.append(InputFile(path: entry.path, format: format.rawValue, sha256: "", symbol: symbol))
                } else {
                    let map = entry.map.map { bySymbol[$0]?.id ?? InstrumentID(0) }
                    files.append(
                        PlannedFile(
                            path: entry.path, format: nil, instrument: InstrumentID(0),
                            tickSize: definitions[0].tickSize,
                            lotSize: definitions[0].lotSize, converted: entry.converted, instrumentMap: map))
                    inputs.append(InputFile(path: entry.path, format: DataSpec.convertedFormat, sha256: ""))
                }
            }
            configuration = EngineConfiguration()
            configuration.instruments = definitions.count
            configuration.orderFlowPercent = 0
            configuration.instrumentDefinitions = definitions
            configuration.strategies = settings.strategies
            configuration.risk = settings.risk
            // The simulated venue always answers: no acknowledgement timeout, whatever the latency.
            configuration.ackTimeoutMilliseconds = 0
            // An instrument with quotes and no level data in any input (trades aside): each
            // quote is its one-level book. A converted file that is not a quote book of the
            // symbol holds its book changes or no quotes of it: read to tell, when it matters.
            configuration.quoteBooks = definitions.filter { definition in
                let formats = (textFiles[definition.symbol] ?? []).map(\.0)
                let levelData = formats.contains { $0 != .tardisQuotes && $0 != .truefxQuotes && $0 != .tardisTrades }
                let quotes =
                    formats.contains { $0 == .tardisQuotes || $0 == .truefxQuotes }
                    || convertedQuoteBooks.contains(definition.symbol)
                guard quotes, !levelData else { return false }
                return !(convertedOthers[definition.symbol] ?? []).contains {
                    $0.file.hasBookChanges(instrument: $0.id)
                }
            }.map(\.id)
            do {
                try configuration.validate(custom: custom)
                break
            } catch {
                // Data without a row or an event stops as its run would (exit 1): not a strategy
                // refused on the grids of data that gave none (a lot of 1, refined or not).
                if Self.holdsNothing(settings.data, converted: mapped) {
                    throw .data(
                        "no events to simulate: "
                            + BacktestResult.holdNone(settings.data.flatMap(\.paths), skippedQuotes: 0))
                }
                // What the refusal may be about, said with it: the instruments' ids and symbols (a
                // strategy's instruments are named by id), and a file made an instrument of its own
                // (no symbol in it; its lot of 1, say).
                // (Named at the configuration file's line when the file defines what is refused.)
                let located =
                    settings.configurationFile.map {
                        ConfigurationFile.located(error, in: $0.text, path: $0.path, afterOverrides: true)
                    } ?? error
                var refusalContext = unnamed.map { " Note: \($0)." }.joined()
                if case .strategy(.invalidInstruments) = error {
                    refusalContext =
                        " (this backtest's instruments: "
                        + definitions.map { "\($0.id.rawValue) \($0.symbol)" }.joined(separator: ", ") + ")"
                        + refusalContext
                }
                if case .strategy(.quantityFinerThanLot(let strategy, let key, let value, let decimals, let lot)) =
                    error
                {
                    if refiningLots, lotsFoundInData, settings.strategies.count == 1, symbols.count == 1,
                        let symbol = symbols.first, decimals <= Self.maximumRefinedLotDecimals,
                        refinedLot.map({ decimals > $0.decimals }) ?? true,
                        let finer = try? Increment(units: 1, decimals: decimals)
                    {
                        let found = dataLot ?? lot
                        dataLot = found
                        refinedLot = finer
                        lotRefined = true
                        notes = [
                            "\(symbol): lot \(found) (the finest size in its data, 1 when it has none) refined to "
                                + "\(finer) for \(strategy) \(key)=\(value); pass --lot-size to choose the grid"
                        ]
                        continue
                    }
                    if lotsFoundInData {
                        let reason =
                            !refiningLots
                            ? Self.sweepLotReason
                            : decimals > Self.maximumRefinedLotDecimals
                                ? "a lot found in the data is refined to at most \(Self.maximumRefinedLotDecimals) decimals"
                                : "a lot found in the data is refined only for one strategy on one instrument"
                        throw .usage("\(located) (\(reason): pass --lot-size for a finer one)" + refusalContext)
                    }
                    if lotsFromConvertedFiles {
                        throw .usage("\(located) (\(Self.convertedLotHint))" + refusalContext)
                    }
                }
                throw .usage("\(located)" + refusalContext)
            }
        }
        instruments = definitions
        // Fees given as flags (or `[backtest]` keys) are for instruments without a table.
        if settings.namesFees {
            let bps = { (rate: FeeRate) in Money.decimalText(Int128(rate.perHundredMillion), decimals: 4) }
            for definition in definitions where settings.instruments.contains(where: { $0.symbol == definition.symbol })
            {
                notes.append(
                    "\(definition.symbol): its fees are its [[instrument]] table's (maker \(bps(definition.makerFee)) bps, "
                        + "taker \(bps(definition.takerFee)) bps); the fees given in basis points (maker "
                        + "\(settings.makerFeeBasisPoints), taker \(settings.takerFeeBasisPoints)) are for instruments "
                        + "without one")
            }
        }
        // So are the grids: --tick-size and --lot-size are for instruments without a table.
        let gridFlags = settings.givenGrids
        if !gridFlags.isEmpty {
            for definition in definitions where settings.instruments.contains(where: { $0.symbol == definition.symbol })
            {
                notes.append(
                    "\(definition.symbol): its tick \(definition.tickSize) and lot \(definition.lotSize) are its "
                        + "[[instrument]] table's; \(gridFlags.joined(separator: " and ")) "
                        + (gridFlags.count == 1 ? "is" : "are") + " for instruments without one")
            }
        }
        self.files = files
        self.inputs = inputs
        self.configuration = configuration
        self.hashes = hashes
        inputIdentities = settings.data.flatMap(\.paths).map { ($0, FileIdentity(path: $0)) }
        hashes.expect(inputIdentities)
    }

    /// `failure` (bad data that stopped a run) for people: a price or size of a text file off
    /// the grid of its instrument also says where that grid comes from when the data did not
    /// give it (its converted data, an `[[instrument]]` table, `--tick-size` or `--lot-size`),
    /// and one too large for 64 bits on the grid found in the data says that grid.
    func explained(_ failure: FeedError) -> String {
        let tooLarge = failure.message.hasSuffix("too large to represent in 64-bit fixed point at this increment")
        guard let path = failure.file,
            tooLarge || failure.message.hasSuffix("the most this increment allows")
                || failure.message.contains("is not a multiple of the increment"),
            let file = files.first(where: { $0.path == path && $0.format != nil }),
            let definition = instruments.first(where: { $0.id == file.instrument })
        else { return "\(failure)" }
        let grid = "\(definition.symbol)'s tick \(definition.tickSize) and lot \(definition.lotSize)"
        // A value too large for the grid needs a coarser one; one off the grid, a finer one.
        let other = tooLarge ? "coarser" : "finer"
        if let converted = convertedGridFiles[definition.symbol] {
            return "\(failure) (\(grid) come from its converted data, \(converted), fixed when it was converted: "
                + "convert its sources again with \(path), or with a \(other) --tick-size or --lot-size)"
        }
        if settings.instruments.contains(where: { $0.symbol == definition.symbol }) {
            return "\(failure) (\(grid) are its [[instrument]] table's: is the data on a \(other) grid?)"
        }
        let flags = settings.givenGrids
        guard !flags.isEmpty else {
            // The grid found in the data: the finest price and size anywhere in its files.
            guard tooLarge else { return "\(failure)" }
            // (A lot refined for a strategy's quantity is finer than any size in the data.)
            if lotRefined {
                return "\(failure) (\(grid): the tick is the finest price in its data, the lot the one refined for "
                    + "the strategy's quantity, as noted: give a quantity on a coarser lot, or a coarser --tick-size "
                    + "or --lot-size)"
            }
            return "\(failure) (\(grid), the finest price and size in its data: give a coarser --tick-size or "
                + "--lot-size)"
        }
        return "\(failure) (\(grid): \(flags.joined(separator: " and ")) given; is the data on a \(other) grid?)"
    }

    /// The warning that every price of `symbol`'s data is a multiple of `step`, coarser than the
    /// tick taken from its decimals.
    static func tickWarning(_ symbol: String, step: Increment, tick: Increment) -> String {
        "\(symbol): every price in its data is a multiple of \(step), but its tick is taken as \(tick), the finest "
            + "decimal in its prices: if the venue's tick is \(step), give --tick-size \(step) (or an [[instrument]] "
            + "table), or strategies quote between the venue's prices"
    }

    /// The step the `steps` of `count` converted files have in common, when each kept one and it is
    /// coarser than `tick`: nil otherwise.
    static func commonStep(_ steps: [Increment], count: Int, tick: Increment) -> Increment? {
        guard steps.count == count, !steps.isEmpty, steps.allSatisfy({ $0.decimals <= tick.decimals }) else {
            return nil
        }
        // In units of the tick's last decimal.
        let common = FeedReplay.commonPriceStep(
            steps.map { (Int128($0.units), $0.decimals) }, decimals: tick.decimals)
        guard common % Int128(tick.units) == 0 else { return nil }
        return coarserStep(ticks: common / Int128(tick.units), of: tick)
    }

    /// A step of `ticks` ticks of `tick` as a decimal, written without trailing zeros (10 ticks
    /// of 0.01 is 0.1); nil when it is not coarser than the tick or past 2^63 units.
    static func coarserStep(ticks: Int128, of tick: Increment) -> Increment? {
        guard ticks > 1, let product = Int64(exactly: ticks).map({ $0.multipliedReportingOverflow(by: tick.units) }),
            !product.overflow
        else { return nil }
        var (units, decimals) = (product.partialValue, tick.decimals)
        while units % 10 == 0, decimals > 0 { (units, decimals) = (units / 10, decimals - 1) }
        return try? Increment(units: units, decimals: decimals)
    }

    /// Why a sweep refuses a quantity finer than a lot found in the data.
    static let sweepLotReason = "a sweep keeps the lot found in the data"

    /// What to do about a quantity off a converted file's lot.
    static let convertedLotHint =
        "a converted file's lot is fixed when it is converted: convert its sources again with --lot-size"

    /// The venue name of the backtest's instruments.
    public static let venue = "backtest"

    /// The symbol a file names in its first data row (Tardis, Binance, Bybit), else its name
    /// (`fromData` false); and the exchange it is from (Tardis's exchange column; Binance and
    /// Bybit for their own formats), nil when the format does not say.
    static func names(in path: String, format: FeedFormat) -> (symbol: String, exchange: String?, fromData: Bool) {
        if let text = readTextPrefix(path: path) {
            // (By line ends of either kind: "\r\n" is one Character, which a split at "\n"
            // does not split.)
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).prefix(3)
            for (index, line) in lines.enumerated() {
                let number = index + 1
                switch format {
                case .tardisQuotes, .tardisTrades, .tardisL2, .tardisSnapshot:
                    let fields = line.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
                    if number > 1, fields.count >= 3, !fields[1].isEmpty {
                        return (String(fields[1]), fields[0].isEmpty ? nil : String(fields[0]), true)
                    }
                case .binanceDepth:
                    let fields = line.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
                    if number > 1, fields.count >= 2, let first = fields.first, !first.isEmpty {
                        return (String(first), "binance", true)
                    }
                case .bybitOrderBook:
                    if let range = line.range(of: "\"s\":\"") {
                        let rest = line[range.upperBound...]
                        if let end = rest.firstIndex(of: "\"") { return (String(rest[..<end]), "bybit", true) }
                    }
                case .truefxQuotes, .l3JSONLines: break
                }
            }
        }
        var name = path.split(separator: "/").last.map(String.init) ?? path
        if let dot = name.firstIndex(of: ".") { name = String(name[..<dot]) }
        return (name.isEmpty ? "INSTRUMENT" : name, nil, false)
    }

    /// Text inputs of one format that hold the same data once inflated, one of them at least
    /// gzip-compressed (a `.csv.gz` beside the `.csv` it was made from): one warning per pair, as
    /// `BacktestResult.sameBytes` gives for copies whose bytes as given are equal. Only files
    /// whose inflated sizes agree are read (before the backtest, once each pair).
    static func compressedCopies(_ data: [DataSpec]) -> [String] {
        // (Each file is named once: a file named twice was refused.)
        var files: [(format: FeedFormat, path: String, compressed: Bool, size: UInt32)] = []
        for spec in data {
            guard let format = spec.format else { continue }
            for path in spec.paths {
                guard let size = inflatedSizeModulo32(path) else { continue }
                files.append((format, path, size.compressed, size.size))
            }
        }
        var copies: [String] = []
        for (index, first) in files.enumerated() {
            for second in files[(index + 1)...]
            where second.format == first.format && second.size == first.size
                && (first.compressed || second.compressed) && holdSameInflatedData(first.path, second.path)
            {
                copies.append(
                    "\(first.path) and \(second.path) hold the same data once inflated (a copy given besides its "
                        + "original?): as one instrument's data, whatever they hold is read twice (give the file "
                        + "once); as several instruments', those markets are one")
            }
        }
        return copies
    }

    /// Whether no input holds a row (text) or an event (converted).
    static func holdsNothing(_ data: [DataSpec], converted: [String: EventFile]) -> Bool {
        data.allSatisfy { spec in
            spec.paths.allSatisfy { path in
                if let format = spec.format { return holdsNoRow(path, format: format) }
                return converted[path]?.count == 0
            }
        }
    }

    /// Whether a text file holds no row: nothing but blank lines, and the header where the
    /// format has one (Tardis, Binance). (Read from its start: a file past 64 KiB holds rows.)
    static func holdsNoRow(_ path: String, format: FeedFormat) -> Bool {
        let limit = 1 << 16
        guard let text = readTextPrefix(path: path, maxBytes: limit), text.utf8.count < limit else { return false }
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        switch format {
        case .tardisQuotes, .tardisTrades, .tardisL2, .tardisSnapshot, .binanceDepth: return lines.count <= 1
        case .bybitOrderBook, .truefxQuotes, .l3JSONLines: return lines.isEmpty
        }
    }

    /// The first market the data names (a symbol given, or one a file's rows or a converted
    /// file's instruments name), those of `spec` first; nil when none does.
    static func namedMarket(preferring spec: DataSpec, in data: [DataSpec], converted: [String: EventFile]) -> String? {
        for candidate in [spec] + data {
            if let symbol = candidate.symbol { return symbol }
            for path in candidate.paths {
                if let format = candidate.format {
                    let names = Self.names(in: path, format: format)
                    if names.fromData { return names.symbol }
                } else if let symbol = converted[path]?.metadata.instruments.min(by: { $0.id < $1.id })?.symbol {
                    return symbol
                }
            }
        }
        return nil
    }

    /// The finest price and size grids of an instrument's files (or the given ones), and the
    /// largest step every price found is a multiple of (`FeedReplay.detectGrids`), in ticks:
    /// 1 when none is coarser or the tick is given.
    static func grids(
        of files: [(FeedFormat, String)], settings: BacktestSettings, stopRequested: () -> String? = { nil }
    ) throws(BacktestError) -> (tick: Increment, lot: Increment, priceStep: Int) {
        if let tick = settings.tickSize, let lot = settings.lotSize { return (tick, lot, 1) }
        var tick: Increment?
        var lot: Increment?
        var steps: [(units: Int128, decimals: Int)] = []
        var pricesVary = false
        for (format, path) in files {
            let detected: (price: Increment, size: Increment, priceStep: Int128, pricesVary: Bool)
            do {
                detected = try FeedReplay.detectGrids(
                    format: format, paths: [path], price: settings.tickSize, size: settings.lotSize,
                    stopRequested: stopRequested)
            } catch {
                throw .data("\(error)")
            }
            if tick.map({ detected.price.decimals > $0.decimals }) ?? true { tick = detected.price }
            if lot.map({ detected.size.decimals > $0.decimals }) ?? true { lot = detected.size }
            steps.append((detected.priceStep, detected.price.decimals))
            pricesVary = pricesVary || detected.pricesVary
        }
        guard let tick = settings.tickSize ?? tick, let lot = settings.lotSize ?? lot else {
            throw .usage("no data files for an instrument")
        }
        // The steps of every file in common, in ticks of the finest grid; 1 when the tick is
        // given, no two prices differ, or the step is past 2^63 ticks.
        let common = FeedReplay.commonPriceStep(steps, decimals: tick.decimals)
        guard settings.tickSize == nil, pricesVary, common > 1, common <= Int128(Int64.max) else {
            return (tick, lot, 1)
        }
        return (tick, lot, Int(common))
    }

    /// The quote currency a symbol ends in (`BTCUSDT` → USDT, `USDJPY` → JPY), else `QUOTE`.
    static func quoteCurrency(of symbol: String) -> String {
        let upper = symbol.uppercased()
        for currency in ["USDT", "USDC", "BUSD", "FDUSD", "USD", "EUR", "GBP", "JPY", "BTC", "ETH"]
        where upper.hasSuffix(currency) && upper.count > currency.count {
            return currency
        }
        return "QUOTE"
    }

    /// The inputs with their SHA-256 (waits for the hashing thread). A file that could not be
    /// read throws.
    public func hashedInputs() throws(BacktestError) -> [InputFile] {
        let digests = try hashes.wait()
        return zip(inputs, digests).map { input, digest in
            var hashed = input
            hashed.sha256 = digest
            return hashed
        }
    }

    /// The file's SHA-256, hex, taken 1 MiB at a time through a read-only mapping of it (as
    /// its lines are read: `MappedLines`; reading it into a buffer had cost the hashing thread
    /// as much again in copies); nil when `cancelled` turned true. A `mapped` file is read
    /// through its mapping, its records' checksums checked first (`checkAhead`), its digest
    /// taken behind its readers (`sha256(behindReadersOf:)`).
    static func sha256(of path: String, mapped: EventFile? = nil, cancelled: () -> Bool = { false })
        throws(BacktestError) -> String?
    {
        if let mapped {
            guard checkAhead(mapped, cancelled: cancelled) else { return nil }
            return sha256(behindReadersOf: [mapped], cancelled: cancelled)?.first
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .usage("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let base: UnsafeRawPointer?
        let byteCount: Int
        do { (base, byteCount) = try MappedLines.map(descriptor: fd, name: path) } catch {
            throw .data(error.message)
        }
        defer { if let base { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) } }
        var hasher = SHA256()
        var offset = 0
        while let base, offset < byteCount {
            if cancelled() { return nil }
            let end = Swift.min(offset &+ (1 << 20), byteCount)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: base + offset, count: end &- offset))
            offset = end
        }
        return JobIdentity.hex(hasher.finalize())
    }

    /// Checks a converted file's records' checksums over the whole file, 1 MiB at a time
    /// (`EventFile.verifyAhead(through:)`): several times faster than SHA-256, so they are
    /// checked (and their pages mapped) before the backtest reaches them, and it need not check
    /// them itself. Stops at the first damaged record (the backtest finds it and names it).
    /// False when `cancelled` turned true.
    static func checkAhead(_ file: EventFile, cancelled: () -> Bool) -> Bool {
        var offset = 0
        while offset < file.byteCount {
            if cancelled() { return false }
            let end = Swift.min(offset &+ (1 << 20), file.byteCount)
            guard file.verifyAhead(through: end) else { return true }
            offset = end
        }
        return true
    }

    /// The SHA-256 of each converted file, hex, in order, taken 1 MiB at a time behind the
    /// backtests reading them (whichever file's readers have moved on: they are read merged),
    /// so that the hashing does not read on the other core what a backtest is about to read
    /// (`EventFile.readThrough`). A file whose readers have not moved for 250 ms is hashed
    /// without waiting (a reader that stopped without saying so holds nothing back). Nil when
    /// `cancelled` turned true.
    static func sha256(behindReadersOf files: [EventFile], cancelled: () -> Bool) -> [String]? {
        var hashers = files.map { _ in SHA256() }
        var offsets = files.map { _ in 0 }
        var seen = files.map { $0.readThrough.load(ordering: .relaxed) }
        var movedAt = files.map { _ in ContinuousClock.now }
        while true {
            if cancelled() { return nil }
            var waiting = false
            for (index, file) in files.enumerated() where offsets[index] < file.byteCount {
                let end = Swift.min(offsets[index] &+ (1 << 20), file.byteCount)
                let read = file.readThrough.load(ordering: .relaxed)
                if read < end {
                    if read != seen[index] {
                        seen[index] = read
                        movedAt[index] = .now
                    } else if ContinuousClock.now - movedAt[index] > .milliseconds(250) {
                        file.readersDone()
                    }
                    waiting = true
                    continue
                }
                let bytes = UnsafeRawBufferPointer(start: file.mapping + offsets[index], count: end &- offsets[index])
                hashers[index].update(bufferPointer: bytes)
                offsets[index] = end
            }
            if !waiting {
                guard zip(files, offsets).contains(where: { $1 < $0.byteCount }) else { break }
                continue
            }
            usleep(500)
        }
        return hashers.map { JobIdentity.hex($0.finalize()) }
    }

    /// The same data with other strategies (a sweep's job): the files stay mapped once and the
    /// inputs are hashed once. Refuses strategies the engine would refuse (exit 2).
    public func with(strategies: [StrategySpec]) throws(BacktestError) -> BacktestPlan {
        // A lot refined for this plan's strategy is not the grid other strategies would get.
        guard !lotRefined || strategies == settings.strategies else {
            throw .usage(
                "this plan's lot was refined for its strategy's quantity: make a plan for the other strategies")
        }
        do { return try checked(strategies: strategies) } catch { throw .usage("\(error)") }
    }

    /// `with(strategies:)`, with the engine's own error (a sweep tells a quantity finer than
    /// the lot from the rest).
    func checked(strategies: [StrategySpec]) throws(EngineError) -> BacktestPlan {
        var plan = self
        plan.settings.strategies = strategies
        plan.configuration.strategies = strategies
        try plan.configuration.validate(custom: IdleStrategy.self)
        return plan
    }

    /// The plan with its text inputs converted once into a memory-mapped event file (an
    /// unlinked temporary file) that every run reads on its own thread: what a sweep's jobs
    /// share. Events from `to` on are not kept. Results are the same as from the text (the
    /// report still names the original inputs). Converted inputs alone are read through once
    /// instead: either way, bad data stops the sweep here with one error, before any job runs.
    /// `stopRequested` is polled every 65,536 events: when it names a reason, the reading
    /// stops (`data`: "stopped by REASON while the inputs were read").
    public func sharingData(stopRequested: () -> String? = { nil }) throws(BacktestError) -> BacktestPlan {
        var plan = self
        plan.settings.parseOnSecondThread = false
        var events = 0
        var stopReason: String?
        /// Counts an event read; whether the reading stops here.
        func stops() -> Bool {
            events &+= 1
            guard events & 0xFFFF == 0 else { return false }
            stopReason = stopRequested()
            return stopReason != nil
        }
        func stopped(_ reason: String) -> BacktestError { .data("stopped by \(reason) while the inputs were read") }
        guard files.contains(where: { $0.format != nil }) else {
            let stream = try openData()
            while stream.next(before: settings.to) != nil, !stops() {}
            stream.finish()
            if let stopReason { throw stopped(stopReason) }
            if let failure = stream.failure { throw .data(explained(failure)) }
            return plan
        }
        let stream = try openData()
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        guard let (descriptor, path) = UniqueFile.create(prefix: directory + "/peregrine-sweep-") else {
            throw .output("cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // Unlinked at once: the file lives while it is open or mapped, and a killed process
        // leaves nothing behind.
        unlink(path)
        // The runs take their instruments and quote books from the plan, not from the file.
        let metadata = EventFileMetadata(instruments: [], sources: [])
        var file: EventFile?
        do throws(FeedError) {
            let writer = try EventFileWriter(descriptor: descriptor, path: path, metadata: metadata)
            while let item = stream.next(before: settings.to) {
                try writer.append(item.event)
                if stops() { break }
            }
            stream.finish()
            if stopReason == nil {
                if let failure = stream.failure { throw failure }
                // Said of the text files, by line; the shared file (a temporary name, its own
                // record numbers) says nothing.
                plan.warnings += stream.dataWarnings
                var finished = metadata
                finished.skippedQuoteRows = stream.skippedQuotes
                try writer.finish(metadata: finished)
                file = try EventFile(descriptor: descriptor, path: path)
            }
        } catch {
            throw .data(explained(error))
        }
        guard let file else { throw stopped(stopReason ?? "a stop") }
        if let changed = changedInput { throw .data(changed) }
        // The jobs read the shared file alone (unlinked: nothing else can write it).
        plan.inputIdentities = []
        plan.files = [
            PlannedFile(
                path: path, format: nil, instrument: InstrumentID(0), tickSize: instruments[0].tickSize,
                lotSize: instruments[0].lotSize, converted: file, instrumentMap: instruments.map(\.id),
                warnsOfStepBacks: false)
        ]
        return plan
    }

    /// The merged market data, opened.
    func openData() throws(BacktestError) -> MarketDataStream {
        do {
            return try MarketDataStream(
                streams: files.map { (file) throws(FeedError) in
                    let stream = try DataFileStream(
                        path: file.path, format: file.format, instrument: file.instrument,
                        priceIncrement: file.tickSize, sizeIncrement: file.lotSize, converted: file.converted,
                        instrumentMap: file.instrumentMap)
                    stream.warnsOfStepBacks = file.warnsOfStepBacks
                    stream.until = settings.to ?? .max
                    return stream
                }, following: files.map(\.followsInList))
        } catch {
            throw .data(explained(error))
        }
    }
}

/// The inputs' SHA-256, computed on a thread (`pg-backtest-hash`, at the lowest priority) while
/// the plan is made and the backtest runs; stopped when the plan goes unused.
final class InputHashes: Sendable {
    /// Filled once by the thread.
    final class Slot: Sendable {
        let digests = Mutex<[Result<String, BacktestError>]?>(nil)
        /// The converted files whose digest came from the cache (confirmed by `wait`).
        let cached = Mutex<Set<String>>([])
        /// The other files' digests' identities: the one a digest from the cache was kept for,
        /// or the file's before and after the thread hashed it (nil when it moved meanwhile or
        /// there is none). Confirmed by `wait`.
        let textIdentities = Mutex<[String: FileIdentity?]>([:])
        /// Each input's identity when the plan was made (`expect`), nil for one without.
        let planIdentities = Mutex<[String: FileIdentity?]>([:])
        /// Set when nobody can read the digests any more: the thread stops.
        let cancelled = Atomic<Bool>(false)
    }

    let slot = Slot()
    let thread: PinnedThread
    /// The files hashed through their mapping (behind their readers), by path.
    let mapped: [String: EventFile]
    let paths: [String]

    /// Hashes `paths` in order; those in `mapped` are read through their mapping. A file's
    /// digest is taken from `cache` when it holds one for the file's identity (and stored there
    /// when hashed).
    init(paths: [String], mapped: [String: EventFile] = [:], cache: DigestCache? = nil) throws(BacktestError) {
        let slot = slot
        self.mapped = mapped
        self.paths = paths
        let startedAt = Int64(clamping: WallClock.nanoseconds())
        do {
            thread = try PinnedThread.start(name: "pg-backtest-hash") {
                // The lowest priority: it uses what the backtest's two threads leave (on Linux
                // the nice value is per thread).
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
                let cancelled = { slot.cancelled.load(ordering: .relaxed) }
                // The checksums of every converted file first (ahead of the backtest), then the
                // text files, then the converted files' digests, behind their readers.
                // (A path given twice is hashed once.)
                var unique: [String] = []
                for path in paths where !unique.contains(path) { unique.append(path) }
                let mappedPaths = unique.filter { mapped[$0] != nil }
                let files = mappedPaths.compactMap { mapped[$0] }
                for file in files { guard BacktestPlan.checkAhead(file, cancelled: cancelled) else { return } }
                var digests: [String: Result<String, BacktestError>] = [:]
                for path in unique where mapped[path] == nil {
                    // Text (and compressed) files hashed before, with the same identity, are
                    // not hashed again either: the next run or sweep over one CSV does not read it for that.
                    let identity = FileIdentity(path: path)
                    if let identity, let digest = cache?.digest(for: identity) {
                        digests[path] = .success(digest)
                        slot.textIdentities.withLock { $0[path] = identity }
                        continue
                    }
                    do throws(BacktestError) {
                        guard let digest = try BacktestPlan.sha256(of: path, cancelled: cancelled) else { return }
                        digests[path] = .success(digest)
                        let stable = FileIdentity(path: path) == identity ? identity : nil
                        slot.textIdentities.withLock { $0[path] = stable }
                        if let cache, let identity {
                            cache.store(digest, for: identity, path: path, startedAt: startedAt)
                        }
                    } catch {
                        digests[path] = .failure(error)
                    }
                }
                // Converted files hashed before (the same identity) are not hashed again.
                var hashed: [String] = []
                for path in mappedPaths {
                    if let identity = mapped[path]?.identity, let digest = cache?.digest(for: identity) {
                        digests[path] = .success(digest)
                        slot.cached.withLock { _ = $0.insert(path) }
                    } else {
                        hashed.append(path)
                    }
                }
                guard
                    let hashedDigests = BacktestPlan.sha256(
                        behindReadersOf: hashed.compactMap { mapped[$0] }, cancelled: cancelled)
                else { return }
                for (path, digest) in zip(hashed, hashedDigests) {
                    digests[path] = .success(digest)
                    if let cache, let identity = mapped[path]?.identity {
                        cache.store(digest, for: identity, path: path, startedAt: startedAt)
                    }
                }
                let ordered = paths.map {
                    digests[$0] ?? .failure(.output("the SHA-256 of \($0) was not computed"))
                }
                slot.digests.withLock { $0 = ordered }
            }
        } catch {
            throw .usage("cannot start the hashing thread: \(error)")
        }
    }

    /// Records each input's identity as the plan found it (`BacktestPlan.inputIdentities`):
    /// what a digest taken from the cache must be for (`wait`).
    func expect(_ identities: [(path: String, identity: FileIdentity?)]) {
        slot.planIdentities.withLock { planned in
            for (path, identity) in identities { planned[path] = identity }
        }
    }

    /// The SHA-256 of the file at `path` if it has `identity` before and after hashing; a
    /// `data` error saying it changed otherwise.
    static func sha256(of path: String, keeping identity: FileIdentity?) -> Result<String, BacktestError> {
        let changed = BacktestError.data(BacktestPlan.changedMessage(path))
        guard let identity, FileIdentity(path: path) == identity else { return .failure(changed) }
        do throws(BacktestError) {
            guard let digest = try BacktestPlan.sha256(of: path), FileIdentity(path: path) == identity else {
                return .failure(changed)
            }
            return .success(digest)
        } catch {
            return .failure(error)
        }
    }

    /// The digests, in the paths' order (waits for the thread; safe to call again).
    func wait() throws(BacktestError) -> [String] {
        // Wanted now: the hashing no longer waits for the files' readers.
        for file in mapped.values { file.readersDone() }
        thread.join()
        guard var digests = slot.digests.withLock({ $0 }) else {
            throw .output("the inputs' SHA-256 were not computed (the hashing thread ended early)")
        }
        // A digest from the cache holds for the bytes read only if the file still has the
        // identity it had when mapped (written meanwhile, its times moved): otherwise the
        // mapping is hashed now.
        for path in slot.cached.withLock({ $0 }) {
            guard let file = mapped[path], FileIdentity(path: path) != file.identity,
                let digest = BacktestPlan.sha256(behindReadersOf: [file], cancelled: { false })?.first
            else { continue }
            slot.cached.withLock { _ = $0.remove(path) }
            for (index, named) in paths.enumerated() where named == path { digests[index] = .success(digest) }
        }
        // A text file's digest, hashed by the thread or taken from the cache, holds for the
        // file as the plan found it (a run whose input changes after that fails:
        // `BacktestPlan.changedInput`). One for another identity (the file was written while
        // the plan was made, or while the thread hashed it, which at its low priority may be
        // after the run) gives way to the digest of the file now, if it still has the plan's
        // identity before and after hashing. Confirmed once: later calls return the same digests.
        let planned = slot.planIdentities.withLock { $0 }
        let kept = slot.textIdentities.withLock { entries in
            defer { entries = [:] }
            return entries
        }
        for (path, identity) in kept {
            guard let expected = planned[path], expected != identity else { continue }
            let digest = Self.sha256(of: path, keeping: expected)
            for (index, named) in paths.enumerated() where named == path { digests[index] = digest }
        }
        slot.digests.withLock { $0 = digests }
        var hex: [String] = []
        for digest in digests {
            switch digest {
            case .success(let value): hex.append(value)
            case .failure(let error): throw error
            }
        }
        return hex
    }

    deinit {
        slot.cancelled.store(true, ordering: .relaxed)
        thread.join()
    }
}

/// What a backtest writes as it runs (its CSVs) and keeps for drawing (the chart series).
public struct BacktestOutputFiles: Sendable {
    public var fillsCSV: String?
    public var equityCSV: String?
    /// Whether the run keeps the series the HTML report plots (`BacktestHTMLReport`: prices,
    /// fills, equity, drawdown, positions). Without them a run does less work per book change
    /// and fill, and its result cannot be drawn; every other figure is the same.
    public var charts: Bool
    /// Where the CSVs go once written whole, to be renamed into place with the reports made
    /// after the run (`StagedOutputs.publish`); nil: renamed into place when the run ends.
    public var staging: StagedOutputs?
    public init(fillsCSV: String? = nil, equityCSV: String? = nil, charts: Bool = true, staging: StagedOutputs? = nil) {
        self.fillsCSV = fillsCSV
        self.equityCSV = equityCSV
        self.charts = charts
        self.staging = staging
    }
}

/// Ties between the backtest's queues go to what was queued first.
final class QueueClock {
    @exclusivity(unchecked) var next: UInt64 = 0
    func take() -> UInt64 {
        next &+= 1
        return next
    }
}

/// A report of the simulated venue's and the venue time it was made at (`sentAt`).
struct SentReport {
    var report: ExecutionReport
    var venueTime: UInt64
}

/// The simulated venue's reports on their way to the strategies (after the response latency).
struct ReportQueue: ExecutionReportSink {
    let queue = TimedQueue<SentReport>()
    /// The venue's time: the reports it makes now are stamped with it.
    var sentAt: UInt64 = 0
    let latency: OrderLatency
    let clock: QueueClock

    mutating func accept(_ report: ExecutionReport) {
        queue.push(
            SentReport(report: report, venueTime: sentAt), at: sentAt &+ latency.response(at: sentAt),
            order: clock.take())
    }
}

/// What the engine logic sends out during a backtest: orders for the simulated venue (after the
/// entry latency) and the strategies' order updates for the recorder.
struct BacktestOutputs: OutputSink {
    let orders = TimedQueue<VenueOrder>()
    var now: UInt64 = 0
    let latency: OrderLatency
    let clock: QueueClock
    let recorder: BacktestRecorder
    var reports = 0
    var reportCount: Int { reports }

    /// The backtest keeps no outcomes (the logic does not compute them).
    static var takesOutcomes: Bool { false }
    /// Of the order updates, the recorder keeps fills alone (`orderUpdate`).
    static var orderUpdates: OrderUpdateInterest { .fills }
    mutating func outcome(_ outcome: Outcome) {}
    mutating func order(_ order: VenueOrder) {
        if deferring { deferred.append(order) } else { queue(order) }
    }

    /// Puts `order` on its way to the venue (due after the entry latency).
    mutating func queue(_ order: VenueOrder) {
        orders.push(order, at: now &+ latency.entry(at: now), order: clock.take())
    }

    /// While set, orders are held back (`sendDeferred` queues them): what the logic sends
    /// before an event is queued after the reports the venue makes applying that event, as it
    /// is when the logic sees the event after the venue.
    var deferring = false
    var deferred: [VenueOrder] = []

    /// Queues the orders held back, in the order they were sent.
    mutating func sendDeferred() {
        for order in deferred { queue(order) }
        deferred.removeAll(keepingCapacity: true)
    }
    /// The venue time of the report the logic is handling (set before it is handed over): a
    /// fill's, for the fills CSV.
    var venueTime: UInt64 = 0
    /// Fills go to the recorder (the other updates change none of its figures); inlined, so
    /// the update is copied into an event for fills alone.
    @inline(__always)
    mutating func orderUpdate(sequence: Int64, time: UInt64, _ update: OrderUpdate) {
        if update.report.isFill {
            recorder.record(StrategyOrderEvent(sequence: sequence, time: time, update: update), venueTime: venueTime)
        }
    }
    mutating func accept(_ report: ExecutionReport) { reports &+= 1 }
    mutating func bundleLeg(_ leg: borrowing BundleLeg) {}
    mutating func bundleSealed(_ seal: BundleSeal) {}
}
