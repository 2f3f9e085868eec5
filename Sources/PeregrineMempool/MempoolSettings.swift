import PeregrineEVM

/// What shapes the mempool analysis and its bundles: part of the logic's settings, so that a
/// journal is replayed with the settings that wrote it. The signing key is not among them (it
/// is the output sink's, and never journaled).
public struct MempoolSettings: Equatable, Sendable, CustomStringConvertible {
    /// Distinct transactions the de-duplicating Bloom filter holds at its false-positive rate
    /// (0.01%) per block.
    public var bloomCapacity: Int = 20_000
    /// The filter's size for that capacity (`BloomFilter.size`), once fixed (`resolved()`): a
    /// journal stores it, so a replay on a machine whose libm rounds otherwise builds the same
    /// filter. nil: derived when the analysis starts.
    public var bloomSize: BloomSize? = nil
    /// Least fee cap in gwei for a transaction to be analysed.
    public var minimumGasPriceGwei: UInt64 = 0
    /// Least net profit after gas, in wei, for a back-run to be bundled.
    public var minimumProfitWei: UInt128 = 100_000_000_000_000_000
    /// Transactions per bundle (victim and back-run pairs are never split): 2 to 16.
    public var bundleSize: Int = 2
    /// Event time after its first transaction when a bundle that is not full is sealed.
    public var bundleTimeoutNanoseconds: UInt64 = 100_000
    /// Our executor contract, which back-runs call.
    public var executor = EVMAddress(first: 0, second: 0, third: 0x000e_8ec0)
    /// Chain id our back-runs are signed for.
    public var chainID: UInt64 = 1
    /// Our account's next nonce (every bundle for a block uses it: only one can land).
    public var nonce: UInt64 = 0

    public static let falsePositiveRate = 0.000_1

    /// Settings of the idle analysis an engine without a mempool holds (and never calls): the
    /// smallest Bloom filter.
    public static var idle: MempoolSettings {
        var settings = MempoolSettings()
        settings.bloomCapacity = 1
        return settings
    }

    public init() {}

    /// A Bloom filter's size: 512-bit blocks and bits set per key.
    public struct BloomSize: Equatable, Sendable {
        public var blocks: Int
        public var bitsPerKey: Int
        public init(blocks: Int, bitsPerKey: Int) {
            self.blocks = blocks
            self.bitsPerKey = bitsPerKey
        }
    }

    /// These settings with the Bloom filter's size fixed (derived from the capacity if not yet).
    public func resolved() throws(Invalid) -> MempoolSettings {
        var settings = self
        settings.bloomSize = try bloomFilterSize()
        return settings
    }

    /// The Bloom filter's size: the stored one, or the one derived from the capacity.
    public func bloomFilterSize() throws(Invalid) -> BloomSize {
        if let bloomSize { return bloomSize }
        do {
            let size = try BloomFilter.size(capacity: bloomCapacity, falsePositiveRate: Self.falsePositiveRate)
            return BloomSize(blocks: size.blocks, bitsPerKey: size.bitsPerKey)
        } catch { throw Invalid("\(error)") }
    }

    /// Why settings cannot be used, naming the setting and what to give.
    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Refuses settings the analysis cannot run with.
    public func validate() throws(Invalid) {
        guard (1...100_000_000).contains(bloomCapacity) else {
            throw Invalid("bloom=\(bloomCapacity): the Bloom filter holds 1 to 100000000 transactions")
        }
        if let bloomSize, !(1...(1 << 23)).contains(bloomSize.blocks) || !(1...24).contains(bloomSize.bitsPerKey) {
            throw Invalid(
                "bloom-blocks=\(bloomSize.blocks) bloom-k=\(bloomSize.bitsPerKey): use 1 to 8388608 blocks and 1 to 24 bits"
            )
        }
        guard (2...16).contains(bundleSize) else { throw Invalid("bundle-size=\(bundleSize): use 2 to 16") }
        guard (1...60_000_000_000).contains(bundleTimeoutNanoseconds) else {
            throw Invalid("bundle-timeout-ns=\(bundleTimeoutNanoseconds): use 1 to 60000000000 (60 s)")
        }
        guard chainID > 0 else { throw Invalid("chain-id=0: give the chain's id (1 for mainnet; EIP-155)") }
        guard executor != .zero else {
            throw Invalid(
                "executor=\(executor): our back-runs call the executor contract; the zero address runs no code, so "
                    + "nothing would check their minimum output")
        }
    }

    /// One line of `name=value` pairs, as `parse` reads them.
    public var description: String {
        "bloom=\(bloomCapacity) "
            + (bloomSize.map { "bloom-blocks=\($0.blocks) bloom-k=\($0.bitsPerKey) " } ?? "")
            + "min-gas-gwei=\(minimumGasPriceGwei) min-profit-wei=\(minimumProfitWei) "
            + "bundle-size=\(bundleSize) bundle-timeout-ns=\(bundleTimeoutNanoseconds) executor=\(executor) "
            + "chain-id=\(chainID) nonce=\(nonce)"
    }

    /// Reads `description`'s form: every name once (`bloom-blocks` and `bloom-k` optional,
    /// together), nothing else.
    public static func parse(_ text: some StringProtocol) throws(Invalid) -> MempoolSettings {
        var settings = MempoolSettings()
        var seen: Set<String> = []
        var blocks: Int? = nil
        var bitsPerKey: Int? = nil
        let optional = ["bloom-blocks", "bloom-k"]
        let names = [
            "bloom", "min-gas-gwei", "min-profit-wei", "bundle-size", "bundle-timeout-ns", "executor", "chain-id",
            "nonce",
        ]
        for pair in String(text).split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, names.contains(parts[0]) || optional.contains(parts[0]) else {
                throw Invalid("'\(pair)' is not one of \(names.map { "\($0)=…" }.joined(separator: ", "))")
            }
            let (name, value) = (parts[0], parts[1])
            guard seen.insert(name).inserted else { throw Invalid("\(name) is given twice") }
            func number<T: FixedWidthInteger>(_: T.Type) throws(Invalid) -> T {
                guard let number = T(value) else { throw Invalid("\(name)=\(value): use a whole number") }
                return number
            }
            switch name {
            case "bloom": settings.bloomCapacity = try number(Int.self)
            case "bloom-blocks": blocks = try number(Int.self)
            case "bloom-k": bitsPerKey = try number(Int.self)
            case "min-gas-gwei": settings.minimumGasPriceGwei = try number(UInt64.self)
            case "min-profit-wei": settings.minimumProfitWei = try number(UInt128.self)
            case "bundle-size": settings.bundleSize = try number(Int.self)
            case "bundle-timeout-ns": settings.bundleTimeoutNanoseconds = try number(UInt64.self)
            case "executor":
                guard let address = EVMAddress(hex: value) else {
                    throw Invalid("executor=\(value): use 0x and 40 hex digits")
                }
                settings.executor = address
            case "chain-id": settings.chainID = try number(UInt64.self)
            default: settings.nonce = try number(UInt64.self)
            }
        }
        let missing = names.filter { !seen.contains($0) }
        guard missing.isEmpty else { throw Invalid("missing \(missing.joined(separator: ", "))") }
        switch (blocks, bitsPerKey) {
        case (let blocks?, let bitsPerKey?): settings.bloomSize = BloomSize(blocks: blocks, bitsPerKey: bitsPerKey)
        case (nil, nil): break
        default: throw Invalid("bloom-blocks and bloom-k go together")
        }
        try settings.validate()
        return settings
    }
}
