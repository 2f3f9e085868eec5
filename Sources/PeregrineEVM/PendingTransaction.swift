/// A pending EVM transaction as the mempool path sees it: fixed size, trivially copyable.
/// Its calldata lives in a byte arena owned by the source (`calldataOffset`, `calldataLength`),
/// so a transaction moves without allocation.
@frozen
public struct PendingTransaction: Hashable, Sendable, BitwiseCopyable {
    public var hash: TransactionHash
    public var from: EVMAddress
    /// The called contract (zero for contract creation).
    public var to: EVMAddress
    public var value: UInt256
    /// Legacy gas price, or the EIP-1559 fee cap (`maxFeePerGas`), wei.
    public var gasPrice: UInt128
    /// EIP-1559 tip cap (`maxPriorityFeePerGas`), wei; equal to `gasPrice` for legacy ones.
    public var maxPriorityFee: UInt128
    public var gasLimit: UInt64
    public var nonce: UInt64
    public var calldataOffset: Int
    public var calldataLength: Int
    /// The signed transaction's bytes in the same arena (what a bundle carries); length 0 when
    /// the source has none (block traces do not include signatures).
    public var rawOffset: Int
    public var rawLength: Int

    @inlinable
    public init(
        hash: TransactionHash, from: EVMAddress, to: EVMAddress, value: UInt256, gasPrice: UInt128,
        maxPriorityFee: UInt128? = nil, gasLimit: UInt64 = 0, nonce: UInt64 = 0, calldataOffset: Int,
        calldataLength: Int, rawOffset: Int = 0, rawLength: Int = 0
    ) {
        self.hash = hash
        self.from = from
        self.to = to
        self.value = value
        self.gasPrice = gasPrice
        self.maxPriorityFee = maxPriorityFee ?? gasPrice
        self.gasLimit = gasLimit
        self.nonce = nonce
        self.calldataOffset = calldataOffset
        self.calldataLength = calldataLength
        self.rawOffset = rawOffset
        self.rawLength = rawLength
    }

    /// The price per gas it pays in a block with `baseFee`: min(fee cap, base fee + tip).
    @inlinable
    public func effectiveGasPrice(baseFee: UInt128) -> UInt128 {
        let (sum, overflow) = baseFee.addingReportingOverflow(maxPriorityFee)
        return overflow ? gasPrice : Swift.min(gasPrice, sum)
    }
}

/// Uniswap V2 Router02 on mainnet.
public let uniswapV2Router02 = EVMAddress(
    first: 0x7a25_0d56_30b4_cf53, second: 0x9739_df2c_5dac_b4c6, third: 0x59f2_488d)
