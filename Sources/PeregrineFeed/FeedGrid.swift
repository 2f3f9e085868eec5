import PeregrineCodec
import PeregrineModel

/// The most decimals seen in one kind of field, and the first value that had them; and the
/// largest step (up to 1,000 units of that last decimal) every value seen is a multiple of.
struct GridWitness {
    var decimals = 0
    var line = 0
    var value = ""
    var path = ""
    /// The greatest common divisor of 1,000 and every value seen, in units of the last decimal
    /// (`decimals`), taken from the values' last three digits (enough for any step dividing
    /// 1,000 units: 0.5, 0.25, 5 and the like); 0 while none is seen or all end in 000.
    var stepUnits = 0
    var valuesSeen = false

    @inline(__always)
    mutating func note(_ field: UnsafeBufferPointer<UInt8>, line: Int) {
        let places = field.decimalPlaces
        noteStep(field, places: places)
        guard places > decimals else { return }
        decimals = places
        self.line = line
        value = String(decoding: field.prefix(64), as: UTF8.self)
    }

    /// Folds a value with `places` decimals into `stepUnits` (before `decimals` takes `places`).
    @inline(__always)
    mutating func noteStep(_ field: UnsafeBufferPointer<UInt8>, places: Int) {
        // The value's last three digits, the point skipped; another byte leaves it out, as does
        // an empty field (a missing side).
        guard !field.isEmpty else { return }
        var last = 0
        var scale = 1
        var index = field.count &- 1
        while index >= 0, scale < 1_000 {
            let byte = field[index]
            index &-= 1
            if byte == UInt8(ascii: ".") { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return }
            last &+= Int(byte &- UInt8(ascii: "0")) &* scale
            scale &*= 10
        }
        valuesSeen = true
        if places > decimals {
            // Every value before, counted in the finer unit: its residue times 10^shift.
            stepUnits = Self.gcd(1_000, stepUnits &* Self.powerOfTen(Swift.min(places &- decimals, 3)))
            if stepUnits == 1_000 { stepUnits = 0 }
        }
        let shift = Swift.max(decimals, places) &- places
        stepUnits = Self.gcd(stepUnits, shift >= 3 ? 0 : (last &* Self.powerOfTen(shift)) % 1_000)
    }

    /// The step every value seen is a multiple of, in units of the last decimal (1: none coarser).
    var step: Int { valuesSeen ? Self.gcd(1_000, stepUnits) : 1 }

    @inline(__always)
    static func powerOfTen(_ exponent: Int) -> Int {
        exponent == 0 ? 1 : exponent == 1 ? 10 : exponent == 2 ? 100 : 1_000
    }

    @inline(__always)
    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// The grid: one unit of the last decimal seen; a value finer than 18 decimals is named.
    func increment(named name: String) throws(FeedError) -> Increment {
        do { return try Increment(units: 1, decimals: decimals) } catch {
            // Past the 18th decimal only zeros: the value lies on a coarser grid, if one is given.
            let fraction = value.split(separator: ".", maxSplits: 1).dropFirst().first ?? ""
            let onCoarserGrid = fraction.dropFirst(18).allSatisfy { $0 == "0" }
            throw FeedError(
                line: line,
                "\(name) '\(value)' has \(decimals) decimals; at most 18 are supported"
                    + (onCoarserGrid
                        ? " (give --tick-size or --lot-size to read the file on a coarser grid)"
                        : ": no grid holds it exactly"),
                file: path)
        }
    }
}

/// The price and size grids being detected.
struct FeedGrids {
    var price = GridWitness()
    var size = GridWitness()

    /// Notes a CSV line whose price and size are the two fields before the last `skip` fields:
    /// a backward scan of only the bytes those fields span (the whole-file scan stays a small
    /// fraction of a replay).
    @inline(__always)
    mutating func noteTrailingPriceAndSize(_ line: UnsafeBufferPointer<UInt8>, _ number: Int, skip: Int = 0) {
        var end = line.count
        var skipped = 0
        while skipped < skip {
            guard let comma = Self.previousComma(line, before: end) else { return }
            end = comma
            skipped &+= 1
        }
        guard let sizeStart = Self.previousComma(line, before: end) else { return }
        let sizeField = UnsafeBufferPointer(rebasing: line[(sizeStart &+ 1)..<end])
        if sizeField.decimalPlaces > size.decimals { size.note(sizeField, line: number) }
        let priceStart = Self.previousComma(line, before: sizeStart) ?? -1
        let priceField = UnsafeBufferPointer(rebasing: line[(priceStart &+ 1)..<sizeStart])
        price.note(priceField, line: number)
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

    /// `detectScale`, and the largest step (up to 1,000 ticks) every price of `paths` is a
    /// multiple of, in ticks of the detected grid: 5 for prices 99, 99.5 and 100 (a tick of 0.1
    /// found, prices on a grid of 0.5); 1 when none is coarser, or when the price grid is given.
    public static func detectGrids(
        format: FeedFormat, paths: [String], price givenPrice: Increment? = nil, size givenSize: Increment? = nil
    ) throws(FeedError) -> (price: Increment, size: Increment, priceStep: Int) {
        let grids = try witnesses(format: format, paths: paths)
        let price = if let givenPrice { givenPrice } else { try grids.price.increment(named: "price") }
        let size = if let givenSize { givenSize } else { try grids.size.increment(named: "size") }
        return (price, size, givenPrice == nil ? grids.price.step : 1)
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

    /// The most decimals of any price and any size of `paths`, with where they are.
    static func witnesses(format: FeedFormat, paths: [String]) throws(FeedError) -> FeedGrids {
        var grids = FeedGrids()
        var object = FlatJSONObject()
        for path in paths {
            var lines = try MappedLines(path: path)
            let before = (grids.price.decimals, grids.size.decimals)
            while let line = lines.next() {
                let number = lines.lineNumber
                switch format {
                case .binanceDepth: grids.noteTrailingPriceAndSize(line, number, skip: 1)
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
