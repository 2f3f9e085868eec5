import PeregrineEVM

/// Why a constant-product computation has no result: the same conditions Uniswap V2's library
/// and pair revert on.
public enum AMMError: Error, Equatable, Sendable, CustomStringConvertible {
    case insufficientInputAmount
    case insufficientOutputAmount
    case insufficientLiquidity
    /// An amount or reserve beyond uint112 (a pair cannot hold it).
    case overflow

    public var description: String {
        switch self {
        case .insufficientInputAmount: return "insufficient input amount"
        case .insufficientOutputAmount: return "insufficient output amount"
        case .insufficientLiquidity: return "insufficient liquidity"
        case .overflow: return "amount beyond uint112"
        }
    }
}

/// Uniswap V2 constant-product math in exact integers: the router library's `getAmountOut` and
/// `getAmountIn` with the 0.3% fee, as on chain. 256-bit intermediates through `UInt128`'s
/// full-width multiply and divide; no floating point, no heap.
public enum ConstantProduct {
    /// The largest reserve a pair holds (uint112).
    public static let maxReserve: UInt128 = (1 << 112) - 1
    /// Fee numerator and denominator (0.3%).
    public static let feeNumerator: UInt128 = 997
    public static let feeDenominator: UInt128 = 1000

    /// Output for `amountIn`: `amountIn·997·reserveOut / (reserveIn·1000 + amountIn·997)`, rounded down.
    @inlinable
    public static func amountOut(in amountIn: UInt128, reserveIn: UInt128, reserveOut: UInt128) throws(AMMError)
        -> UInt128
    {
        guard amountIn > 0 else { throw .insufficientInputAmount }
        guard reserveIn > 0, reserveOut > 0 else { throw .insufficientLiquidity }
        guard amountIn <= maxReserve, reserveIn <= maxReserve, reserveOut <= maxReserve else { throw .overflow }
        let amountInWithFee = amountIn &* feeNumerator  // < 2^122
        let numerator = amountInWithFee.multipliedFullWidth(by: reserveOut)  // < 2^234
        let denominator = reserveIn &* feeDenominator &+ amountInWithFee  // < 2^123
        // The quotient is below reserveOut < 2^112, so it fits.
        return denominator.dividingFullWidth(numerator).quotient
    }

    /// Input needed for `amountOut`: `reserveIn·amountOut·1000 / ((reserveOut − amountOut)·997) + 1`.
    @inlinable
    public static func amountIn(out amountOut: UInt128, reserveIn: UInt128, reserveOut: UInt128) throws(AMMError)
        -> UInt128
    {
        guard amountOut > 0 else { throw .insufficientOutputAmount }
        guard reserveIn > 0, reserveOut > 0 else { throw .insufficientLiquidity }
        guard reserveIn <= maxReserve, reserveOut <= maxReserve else { throw .overflow }
        guard amountOut < reserveOut else { throw .insufficientLiquidity }
        let numerator = (reserveIn &* feeDenominator).multipliedFullWidth(by: amountOut)  // < 2^234
        let denominator = (reserveOut &- amountOut) &* feeNumerator  // < 2^122
        // On chain this is uint256 arithmetic; a quotient of 2^128 or more cannot be paid anyway.
        guard numerator.high < denominator else { throw .overflow }
        let quotient = denominator.dividingFullWidth(numerator).quotient
        guard quotient < maxReserve else { throw .overflow }
        return quotient &+ 1
    }
}

/// A constant-product venue (Uniswap V2 and its forks share the math; each has its own pools).
@frozen
public struct Venue: RawRepresentable, Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let uniswapV2 = Venue(rawValue: 0)
    public static let sushiswap = Venue(rawValue: 1)

    public var description: String {
        switch rawValue {
        case 0: return "uniswap_v2"
        case 1: return "sushiswap"
        default: return "venue_\(rawValue)"
        }
    }
}

/// A Uniswap V2-style pair: its venue, its tokens in the pair's order (token0 < token1) and
/// its reserves.
@frozen
public struct ConstantProductPool: Hashable, Sendable, BitwiseCopyable {
    public var address: EVMAddress
    public var token0: EVMAddress
    public var token1: EVMAddress
    public var reserve0: UInt128
    public var reserve1: UInt128
    public var venue: Venue

    @inlinable
    public init(
        address: EVMAddress, token0: EVMAddress, token1: EVMAddress, reserve0: UInt128, reserve1: UInt128,
        venue: Venue = .uniswapV2
    ) {
        self.address = address
        self.token0 = token0
        self.token1 = token1
        self.reserve0 = reserve0
        self.reserve1 = reserve1
        self.venue = venue
    }

    /// The other token of the pool.
    @inlinable
    public func other(than token: EVMAddress) -> EVMAddress { token == token0 ? token1 : token0 }

    /// Reserves as (in, out) for a swap from `tokenIn`; nil if the pool does not hold it.
    @inlinable
    public func reserves(from tokenIn: EVMAddress) -> (reserveIn: UInt128, reserveOut: UInt128)? {
        if tokenIn == token0 { return (reserve0, reserve1) }
        if tokenIn == token1 { return (reserve1, reserve0) }
        return nil
    }

    /// Applies a swap of `amountIn` of `tokenIn` for `amountOut` of the other token.
    @inlinable
    public mutating func apply(tokenIn: EVMAddress, amountIn: UInt128, amountOut: UInt128) throws(AMMError) {
        if tokenIn == token0 {
            guard amountOut < reserve1 else { throw .insufficientLiquidity }
            let (sum, overflow) = reserve0.addingReportingOverflow(amountIn)
            guard !overflow, sum <= ConstantProduct.maxReserve else { throw .overflow }
            reserve0 = sum
            reserve1 &-= amountOut
        } else {
            guard amountOut < reserve0 else { throw .insufficientLiquidity }
            let (sum, overflow) = reserve1.addingReportingOverflow(amountIn)
            guard !overflow, sum <= ConstantProduct.maxReserve else { throw .overflow }
            reserve1 = sum
            reserve0 &-= amountOut
        }
    }
}
