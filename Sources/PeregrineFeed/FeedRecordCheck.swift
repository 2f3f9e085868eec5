import PeregrineCodec
import PeregrineModel
import PeregrineSys

/// A last line that does not end in a line break and does not parse as a complete record of
/// its format: what a recorder cut short leaves. Reported, never applied.
public struct FeedTornTail: Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var bytes: Int
    public var reason: String

    public var description: String {
        "\(path):\(line): torn last line (\(bytes) bytes, no line break): \(reason)"
    }
}

extension FeedFormat {
    /// The header line a CSV format's files start with (nil: JSON lines, no header; Tardis
    /// book snapshots are checked by `checkSnapshotHeader`).
    var header: String? {
        switch self {
        case .binanceDepth: return "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"
        case .tardisQuotes: return "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
        case .tardisTrades: return "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
        case .tardisL2: return "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
        case .truefxQuotes: return "timestamp,bid,ask"
        case .tardisSnapshot, .bybitOrderBook, .l3JSONLines: return nil
        }
    }

}

/// Whether a line holds exactly one complete JSON object (strings and escapes respected),
/// with nothing but spaces after it: `pg_json_single_object`, 16 bytes at a time. No allocation.
enum JSONShape {
    static func problem(in line: UnsafeBufferPointer<UInt8>) -> String? {
        var column = 0
        let code = pg_json_single_object(line.baseAddress, line.count, &column)
        switch code {
        case 0: return nil
        case 1: return "not a JSON object (it does not start with '{')"
        case 2: return "a ']' or '}' at column \(column) closes nothing"
        case 3:
            // A CR the line break left (CR CR LF line ends) shows as nothing on a terminal.
            let index = column - 1
            if index >= 0, index < line.count, line[index] == 0x0D {
                return "a carriage return (CR, \\r) after the JSON object at column \(column): "
                    + "end lines with LF or CR LF"
            }
            return "text after the JSON object at column \(column)"
        default: return "the JSON object is not closed (the line ends at column \(column))"
        }
    }
}

extension FeedReplay {
    /// Checks the first line of a file of `format`: no byte-order mark, and the format's header
    /// where it has one (throws naming both, at line 1). Returns the number of fields the
    /// header gives its rows, nil when the format has no header (the line is a row). Stateless:
    /// the grid scan checks a file with it before a run reads its rows.
    static func checkFirstLine(_ line: UnsafeBufferPointer<UInt8>, format: FeedFormat) throws(FeedError) -> Int? {
        // A byte-order mark (a spreadsheet's UTF-8 export) would make the first line differ
        // invisibly from what it shows.
        if line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
            throw FeedError(
                line: 1,
                "the file begins with a UTF-8 byte-order mark (bytes EF BB BF): remove it "
                    + "(sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)")
        }
        // A format without a header (a JSON line can be a whole book) is not decoded here.
        guard format.header != nil || format == .tardisSnapshot else { return nil }
        let found = String(decoding: line, as: UTF8.self)
        if format == .tardisSnapshot {
            let fields = found.split(separator: ",", omittingEmptySubsequences: false)
            let prefix = ["exchange", "symbol", "timestamp", "local_timestamp"]
            var expected = prefix
            let levels = max(0, (fields.count - 4) / 4)
            for level in 0..<levels {
                expected += [
                    "asks[\(level)].price", "asks[\(level)].amount", "bids[\(level)].price", "bids[\(level)].amount",
                ]
            }
            guard levels > 0, fields.map(String.init) == expected else {
                // A header of hundreds of fields is named by its first field that differs.
                let differs = zip(fields, expected).enumerated().first { String($0.element.0) != $0.element.1 }?.offset
                let detail =
                    if let differs {
                        "field \(differs + 1) is '\(TextField.excerpt(String(fields[differs])))' where "
                            + "'\(expected[differs])' was expected"
                    } else {
                        "it has \(fields.count) fields, where a snapshot's header has 4 and then 4 for each level"
                    }
                throw FeedError(
                    line: 1,
                    "not a tardis-snapshot header (expected exchange,symbol,timestamp,local_timestamp,"
                        + "asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,...): \(detail)"
                )
            }
            return fields.count
        }
        guard let header = format.header else { return nil }
        guard found == header else {
            throw FeedError(
                line: 1,
                "not a \(format.rawValue) file: expected the header '\(header)', found '\(TextField.excerpt(found))'")
        }
        return CSVRow.fieldCount(line)
    }

    /// Checks the shape of a line before anything of it is applied, where applying could
    /// otherwise change the book before finding the line bad: exactly one complete JSON object
    /// for Bybit messages (read by searching, not parsing), the header's number of fields for
    /// Tardis book snapshots (each row replaces the book). The other formats check their shape
    /// as they parse, before they apply anything (`fieldsMismatch`; `FlatJSONObject`).
    func checkShape(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        try Self.checkShape(line, format: format, fields: expectedFields)
    }

    /// `checkShape(_:)` for a file of `format` whose header has `fields` fields. (Static: as a
    /// method reading the replay's state it had the compiler copy 512 bytes of it per row.)
    @inline(__always)
    static func checkShape(_ line: UnsafeBufferPointer<UInt8>, format: FeedFormat, fields expected: Int)
        throws(FeedError)
    {
        switch format {
        case .bybitOrderBook:
            if let problem = JSONShape.problem(in: line) { throw FeedError(line: 0, problem) }
            if let key = BybitMessage(line).repeatedKey { throw FeedError(line: 0, "the key \(key) is given twice") }
        case .tardisSnapshot:
            let fields = CSVRow.fieldCount(line)
            if fields != expected { throw fieldsMismatch(fields, header: expected) }
        default: break
        }
    }

    /// Checks that a row names the file's symbol (the first row's): one book is kept per file,
    /// so a second symbol would mix two instruments' prices in it. No allocation after the
    /// first row.
    @inline(__always)
    mutating func noteSymbol(_ field: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        if !Self.same(symbol, field) { try firstOrAnotherSymbol(field) }
    }

    /// Checks that a Tardis row names the file's exchange (the first row's): a symbol listed on
    /// two exchanges (binance and binance-futures) is two markets, which one book would mix.
    @inline(__always)
    mutating func noteExchange(_ field: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        if !Self.same(exchange, field) { try firstOrAnotherExchange(field) }
    }

    /// Whether `field` holds the bytes of `known` (read in place: binding the array would
    /// retain it on every row).
    @inline(__always)
    static func same(_ known: [UInt8]?, _ field: UnsafeBufferPointer<UInt8>) -> Bool {
        known?.withUnsafeBufferPointer { known in
            guard known.count == field.count else { return false }
            var index = 0
            while index < known.count {
                if known[index] != field[index] { return false }
                index &+= 1
            }
            return true
        } ?? false
    }

    @inline(never)
    mutating func firstOrAnotherExchange(_ field: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        guard let exchange else {
            exchange = Array(field)
            return
        }
        throw FeedError(
            line: 0,
            "exchange '\(TextField.excerpt(field))' is not '\(TextField.excerpt(String(decoding: exchange, as: UTF8.self)))', "
                + "the exchange of the first row read: a replay is one market's; split the file into one file per "
                + "exchange (its column 1)")
    }

    @inline(never)
    mutating func firstOrAnotherSymbol(_ field: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        guard let symbol else {
            symbol = Array(field)
            return
        }
        let place = format == .bybitOrderBook ? "its \"s\"" : "its column \(format == .binanceDepth ? 1 : 2)"
        throw FeedError(
            line: 0,
            "symbol '\(TextField.excerpt(field))' is not '\(TextField.excerpt(String(decoding: symbol, as: UTF8.self)))', "
                + "the symbol of the first row read: a replay is one instrument's; split the file into one file "
                + "per symbol (\(place))")
    }

    /// A row whose field count is not the header's.
    func fieldsMismatch(_ fields: Int) -> FeedError { Self.fieldsMismatch(fields, header: expectedFields) }

    /// A row of `fields` fields where the header has `header`.
    @inline(never)
    static func fieldsMismatch(_ fields: Int, header: Int) -> FeedError {
        FeedError(
            line: 0, "\(fields)\(fields == CSVRow.maxFields ? " or more" : "") field(s); the header has \(header)")
    }

    /// Parses every value of a record without applying it: for a last line without a line
    /// break, which is applied only if it is a complete record.
    mutating func validateRecord(_ line: UnsafeBufferPointer<UInt8>) throws(FeedError) {
        try checkShape(line)
        if format.header != nil {
            let fields = CSVRow(line).count
            if fields != expectedFields { throw fieldsMismatch(fields) }
        }
        switch format {
        case .binanceDepth:
            let row = CSVRow(line)
            guard let first = row[2].integerValue, let last = row[3].integerValue, row[8].integerValue != nil else {
                throw Self.badUpdateIDs(row)
            }
            try Self.checkUpdateIDs(first: first, last: last)
            _ = try Self.side(row[4], bid: "b", ask: "a")
            _ = try Self.flag(row[5], "update_type", true: "snap", false: "set")
            _ = try price(row[6], "price")
            _ = try size(row[7], "qty")
        case .tardisQuotes, .tardisTrades, .tardisL2:
            let row = CSVRow(line)
            guard row[2].integerValue != nil, row[3].integerValue != nil else {
                throw FeedError(line: 0, "timestamps are not integers")
            }
            switch format {
            case .tardisQuotes:
                for (field, column): (Int, StaticString) in [
                    (4, "ask_amount"), (5, "ask_price"), (6, "bid_price"), (7, "bid_amount"),
                ] where !row[field].isEmpty {
                    if field == 5 || field == 6 {
                        _ = try price(row[field], column)
                    } else {
                        _ = try size(row[field], column)
                    }
                }
            case .tardisTrades:
                _ = try Self.aggressor(row[5])
                _ = try price(row[6], "price")
                _ = try size(row[7], "amount")
            default:
                _ = try Self.flag(row[4], "is_snapshot", true: "true", false: "false")
                _ = try Self.side(row[5], bid: "bid", ask: "ask")
                _ = try price(row[6], "price")
                _ = try size(row[7], "amount")
            }
        case .truefxQuotes:
            let row = CSVRow(line)
            _ = try Self.trueFXTime(row[0])
            _ = try price(row[1], "bid")
            _ = try price(row[2], "ask")
        case .tardisSnapshot:
            var cursor = CSVCursor(line)
            var index = 0
            var levelPrice = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
            while let field = cursor.next() {
                if index == 2 || index == 3, field.integerValue == nil {
                    throw FeedError(line: 0, "timestamps are not integers")
                }
                if index >= 4 {
                    // As `applyTardisSnapshot` reads them: a level is both fields or neither.
                    if (index - 4) % 2 == 0 {
                        levelPrice = field
                    } else {
                        if levelPrice.isEmpty != field.isEmpty { throw Self.halfLevel(levelPrice, field, at: index) }
                        if !field.isEmpty {
                            let at = index
                            _ = try level(.buy, price: levelPrice, size: field) { Self.namingColumn($0, at: at) }
                        }
                    }
                }
                index += 1
            }
        case .bybitOrderBook:
            let message = BybitMessage(line)
            guard message.type != nil else { throw BybitMessage.noType }
            _ = try message.timestamp()
            var pairs = BybitPairs(line)
            while let (priceBytes, sizeBytes) = try pairs.next() {
                let found = pairs
                _ = try level(pairs.side, price: priceBytes, size: sizeBytes) { found.naming($0) }
            }
            _ = try message.updateID(searchingFrom: pairs.position)
        case .l3JSONLines:
            try scanner.parse(line)
            _ = try Self.orderLevelNumbers(scanner)
            guard let op = scanner.value("op"), op.kind == .string else { throw FeedError(line: 0, "missing \"op\"") }
            if !op.bytes.equals("delete") {
                guard let priceValue = scanner.value("price"), let sizeValue = scanner.value("size") else {
                    throw FeedError(line: 0, "an add or update needs \"price\" and \"size\"")
                }
                _ = try price(priceValue.bytes, "price")
                _ = try size(sizeValue.bytes, "size")
            }
        }
    }
}
