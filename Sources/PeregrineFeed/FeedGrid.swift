import PeregrineCodec
import PeregrineModel

/// The most decimals seen in one kind of field, and the first value that had them; and the
/// greatest step every value seen is a multiple of.
struct GridWitness {
    var decimals = 0
    var line = 0
    var value = ""
    /// The column (or field) that value was in, as the replay's errors name it.
    var column = ""
    var path = ""
    /// The greatest common divisor of every value seen, in units of the last decimal
    /// (`decimals`); 0 before any. Once 1 with no finer decimal to come, values are not read.
    var stepUnits: Int128 = 0
    /// The first value seen (same units) and whether another differed: one price says nothing
    /// of a grid.
    var firstValue: Int128 = 0
    var valuesVary = false
    /// A value too long to hold (past 36 digits): no step is claimed.
    var stepUnknown = false
    /// Whether the step is sought (prices; sizes need none).
    var tracksStep = false

    @inline(__always)
    mutating func note(_ field: UnsafeBufferPointer<UInt8>, line: Int, column: @autoclosure () -> String) {
        let places = field.decimalPlaces
        // Every value is a multiple of one unit: nothing to read until a finer decimal comes.
        if tracksStep, stepUnits != 1 || places > decimals { noteStep(field, places: places) }
        guard places > decimals else { return }
        decimals = places
        self.line = line
        self.column = column()
        value = String(decoding: field.prefix(64), as: UTF8.self)
    }

    /// Folds a value with `places` decimals into `stepUnits` (before `decimals` takes `places`).
    mutating func noteStep(_ field: UnsafeBufferPointer<UInt8>, places: Int) {
        // The value's digits, the point skipped; another byte (a sign, a letter of a header) or
        // an empty field (a missing side) leaves it out.
        guard !field.isEmpty, !stepUnknown else { return }
        var units: Int128 = 0
        var digits = 0
        for byte in field where byte != UInt8(ascii: ".") {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return }
            digits &+= 1
            guard digits <= 36 else {
                stepUnknown = true
                return
            }
            units = units &* 10 &+ Int128(byte &- UInt8(ascii: "0"))
        }
        if places > decimals {
            // The values before, counted in the finer unit.
            guard let scale = Self.powerOfTen(places &- decimals) else {
                stepUnknown = true
                return
            }
            let (step, stepOverflow) = stepUnits.multipliedReportingOverflow(by: scale)
            let (first, firstOverflow) = firstValue.multipliedReportingOverflow(by: scale)
            guard !stepOverflow, !firstOverflow else {
                stepUnknown = true
                return
            }
            stepUnits = step
            firstValue = first
        }
        guard let shift = Self.powerOfTen(Swift.max(decimals, places) &- places) else {
            stepUnknown = true
            return
        }
        let (value, overflow) = units.multipliedReportingOverflow(by: shift)
        guard !overflow else {
            stepUnknown = true
            return
        }
        if stepUnits == 0, !valuesVary {
            firstValue = value
        } else if value != firstValue {
            valuesVary = true
        }
        stepUnits = Self.gcd(stepUnits, value)
    }

    /// The greatest common divisor of the values, in units of the last decimal (0 when none was
    /// read, or one was too long), and whether two of them differed.
    var step: (units: Int128, vary: Bool) { stepUnknown ? (0, false) : (stepUnits, valuesVary) }

    /// The grid: one unit of the last decimal seen; a value finer than 18 decimals is named,
    /// with its column.
    func increment() throws(FeedError) -> Increment {
        do { return try Increment(units: 1, decimals: decimals) } catch {
            // Past the 18th decimal only zeros: the value lies on a coarser grid, if one is given.
            let fraction = value.split(separator: ".", maxSplits: 1).dropFirst().first ?? ""
            let onCoarserGrid = fraction.dropFirst(18).allSatisfy { $0 == "0" }
            throw FeedError(
                line: line,
                "\(column) '\(value)' has \(decimals) decimals; at most 18 are supported"
                    + (onCoarserGrid
                        ? " (give \(tracksStep ? "--tick-size" : "--lot-size") to read the file on a coarser grid)"
                        : ": no grid holds it exactly"),
                file: path)
        }
    }

    static func powerOfTen(_ exponent: Int) -> Int128? {
        guard exponent >= 0, exponent <= 38 else { return nil }
        var value: Int128 = 1
        for _ in 0..<exponent { value &*= 10 }
        return value
    }

    @inline(__always)
    static func gcd(_ a: Int128, _ b: Int128) -> Int128 {
        // In 64 bits when both fit (prices of up to 18 digits): a 128-bit division is a call.
        if a >= 0, b >= 0, a <= Int128(UInt64.max), b <= Int128(UInt64.max) {
            var (x, y) = (UInt64(truncatingIfNeeded: a), UInt64(truncatingIfNeeded: b))
            while y != 0 { (x, y) = (y, x % y) }
            return Int128(x)
        }
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}

/// The price and size grids being detected.
struct FeedGrids {
    var price = GridWitness(tracksStep: true)
    var size = GridWitness()

    /// Notes a CSV line whose price and size are the two fields before the last `skip` fields:
    /// a backward scan of only the bytes those fields span (the whole-file scan stays a small
    /// fraction of a replay).
    @inline(__always)
    mutating func noteTrailingPriceAndSize(
        _ line: UnsafeBufferPointer<UInt8>, _ number: Int, skip: Int = 0, sizeColumn: StaticString = "amount"
    ) {
        var end = line.count
        var skipped = 0
        while skipped < skip {
            guard let comma = Self.previousComma(line, before: end) else { return }
            end = comma
            skipped &+= 1
        }
        guard let sizeStart = Self.previousComma(line, before: end) else { return }
        let sizeField = UnsafeBufferPointer(rebasing: line[(sizeStart &+ 1)..<end])
        if sizeField.decimalPlaces > size.decimals { size.note(sizeField, line: number, column: "\(sizeColumn)") }
        let priceStart = Self.previousComma(line, before: sizeStart) ?? -1
        let priceField = UnsafeBufferPointer(rebasing: line[(priceStart &+ 1)..<sizeStart])
        price.note(priceField, line: number, column: "price")
    }

    @inline(__always)
    static func previousComma(_ line: UnsafeBufferPointer<UInt8>, before end: Int) -> Int? {
        var index = end &- 1
        while index >= 0 {
            if line[index] == UInt8(ascii: ",") { return index }
            index &-= 1
        }
        return nil
    }
}

extension FeedReplay {
    /// The price and size grids of `paths`: the most decimals in any price and any size field of
    /// every line of every file (so integer and 8-decimal prices mixed anywhere load exactly).
    /// Streams each file through a memory map; lines of the wrong shape are skipped here and
    /// reported by the replay. A grid given (`price`, `size`) is taken as it is: values finer
    /// than 18 decimals are then named by the replay, at their line, only if off that grid.
    public static func detectScale(
        format: FeedFormat, paths: [String], price givenPrice: Increment? = nil, size givenSize: Increment? = nil
    ) throws(FeedError) -> (price: Increment, size: Increment) {
        let detected = try detectGrids(format: format, paths: paths, price: givenPrice, size: givenSize)
        return (detected.price, detected.size)
    }

    /// `detectScale`, and the greatest common divisor of the prices of `paths` in ticks of the
    /// detected grid (`priceStep`; 0 when none was read or the grid is given) with whether two
    /// of them differ (`pricesVary`): prices 99, 99.5 and 100 give a tick of 0.1 and a step of
    /// 5, a grid of 0.5. `stopRequested` is asked every 65,536 lines: when it names a reason (a
    /// signal), the scan stops with an error saying so.
    public static func detectGrids(
        format: FeedFormat, paths: [String], price givenPrice: Increment? = nil, size givenSize: Increment? = nil,
        stopRequested: () -> String? = { nil }
    ) throws(FeedError) -> (price: Increment, size: Increment, priceStep: Int128, pricesVary: Bool) {
        let grids = try witnesses(format: format, paths: paths, stopRequested: stopRequested)
        let price = if let givenPrice { givenPrice } else { try grids.price.increment() }
        let size = if let givenSize { givenSize } else { try grids.size.increment() }
        let step: (units: Int128, vary: Bool) = givenPrice == nil ? grids.price.step : (0, false)
        return (price, size, step.units, step.vary)
    }

    /// The step every price of several files is a multiple of, in units of `decimals` (the
    /// finest of the files' grids): each file's `detectGrids` step (0: none read) counted in
    /// that unit, their greatest common divisor; 0 when none was read or a step does not fit.
    public static func commonPriceStep(_ steps: [(units: Int128, decimals: Int)], decimals: Int) -> Int128 {
        var common: Int128 = 0
        for file in steps where file.units > 0 {
            guard let scale = GridWitness.powerOfTen(Swift.max(decimals &- file.decimals, 0)) else { return 0 }
            let (units, overflow) = file.units.multipliedReportingOverflow(by: scale)
            guard !overflow else { return 0 }
            common = GridWitness.gcd(common, units)
        }
        return common
    }

    /// The first error reading `paths` on an instrument's grids (`price`, `size`) would give at
    /// the files' finest price and finest size (the values with the most decimals): nil when
    /// both are on the grids. A file recorded on a finer grid than the instrument's fails here,
    /// before anything runs; a value off the grid with fewer decimals (a tick of 0.5, a price of
    /// 100.3) stops the replay at its line.
    public static func offGrid(format: FeedFormat, paths: [String], price: Increment, size: Increment)
        throws(FeedError) -> FeedError?
    {
        let grids = try witnesses(format: format, paths: paths)
        for (witness, increment, name) in [(grids.price, price, "price"), (grids.size, size, "size")]
        where witness.decimals > increment.decimals {
            let value = Array(witness.value.utf8)
            let onGrid = value.withUnsafeBufferPointer { bytes in
                name == "price"
                    ? (try? Price(utf8: bytes, tickSize: increment)) != nil
                    : (try? Quantity(utf8: bytes, lotSize: increment)) != nil
            }
            if !onGrid {
                return FeedError(
                    line: witness.line,
                    "\(name) '\(witness.value)' is finer than the instrument's \(name == "price" ? "tick" : "lot") "
                        + "\(increment)", file: witness.path)
            }
        }
        return nil
    }

    /// The most decimals of any price and any size of `paths`, with where they are; stopped
    /// (an error naming the file and the reason) when `stopRequested`, asked every 65,536 lines,
    /// names a reason.
    static func witnesses(format: FeedFormat, paths: [String], stopRequested: () -> String? = { nil })
        throws(FeedError) -> FeedGrids
    {
        var grids = FeedGrids()
        var object = FlatJSONObject()
        for path in paths {
            var lines = try MappedLines(path: path)
            let before = (grids.price.decimals, grids.size.decimals)
            while let line = lines.next() {
                let number = lines.lineNumber
                // A file of another format (or with a byte-order mark) is refused here, as its
                // replay would refuse it, before anything found in its lines is used.
                if number == 1 {
                    do { _ = try FeedReplay.checkFirstLine(line, format: format) } catch {
                        throw FeedError(line: 1, error.message, file: path)
                    }
                }
                if number & 0xFFFF == 0, let reason = stopRequested() {
                    throw FeedError(
                        line: 0, "stopped by \(reason) while its prices and sizes were scanned for the grids",
                        file: path)
                }
                switch format {
                case .binanceDepth: grids.noteTrailingPriceAndSize(line, number, skip: 1, sizeColumn: "qty")
                case .bybitOrderBook: noteBybitGrid(line, number, &grids)
                case .tardisL2, .tardisTrades: grids.noteTrailingPriceAndSize(line, number)
                case .tardisQuotes: noteTardisQuoteGrid(line, number, &grids)
                case .tardisSnapshot: noteTardisSnapshotGrid(line, number, &grids)
                case .truefxQuotes: noteTrueFXGrid(line, number, &grids)
                case .l3JSONLines: noteOrderLevelGrid(line, number, &grids, &object)
                }
            }
            if grids.price.decimals != before.0 { grids.price.path = path }
            if grids.size.decimals != before.1 { grids.size.path = path }
        }
        return grids
    }
}
