import PeregrineEVM

/// A pair of tokens in canonical order (the smaller address first), as Uniswap V2 keys pairs.
@frozen
public struct TokenPair: Hashable, Sendable, BitwiseCopyable {
    public var token0: EVMAddress
    public var token1: EVMAddress

    @inlinable
    public init(_ a: EVMAddress, _ b: EVMAddress) {
        if (a.first, a.second, a.third) < (b.first, b.second, b.third) {
            token0 = a
            token1 = b
        } else {
            token0 = b
            token1 = a
        }
    }
}

/// Constant-product pools of several venues: one per token pair and venue. Lookups by
/// (pair, venue), every venue's pool of a pair, and every pool holding a token walk
/// index-linked lists in flat arrays: no allocation and no reference counting per lookup.
/// Adding pools allocates.
public struct PoolBook: Sendable {
    public private(set) var pools: [ConstantProductPool] = []
    @usableFromInline struct Key: Hashable, Sendable {
        @usableFromInline var pair: TokenPair
        @usableFromInline var venue: Venue
        @usableFromInline init(pair: TokenPair, venue: Venue) {
            self.pair = pair
            self.venue = venue
        }
    }
    @usableFromInline var indexByKey: [Key: Int] = [:]
    /// First pool of a pair (any venue), and the next pool of the same pair.
    @usableFromInline var firstOfPair: [TokenPair: Int] = [:]
    @usableFromInline var nextOfPair: [Int] = []
    /// First pool holding a token, and per pool the next one holding its token0 / token1.
    @usableFromInline var firstOfToken: [EVMAddress: Int] = [:]
    @usableFromInline var nextOfToken0: [Int] = []
    @usableFromInline var nextOfToken1: [Int] = []

    public init() {}

    /// Adds or replaces the pool of its token pair and venue; returns its index.
    @discardableResult
    public mutating func upsert(_ pool: ConstantProductPool) -> Int {
        let pair = TokenPair(pool.token0, pool.token1)
        let key = Key(pair: pair, venue: pool.venue)
        if let index = indexByKey[key] {
            pools[index] = pool
            return index
        }
        let index = pools.count
        pools.append(pool)
        indexByKey[key] = index
        nextOfPair.append(firstOfPair[pair] ?? -1)
        firstOfPair[pair] = index
        nextOfToken0.append(firstOfToken[pool.token0] ?? -1)
        firstOfToken[pool.token0] = index
        nextOfToken1.append(firstOfToken[pool.token1] ?? -1)
        firstOfToken[pool.token1] = index
        return index
    }

    /// The index of `venue`'s pool trading `a` against `b`.
    @inlinable
    public func index(_ a: EVMAddress, _ b: EVMAddress, venue: Venue = .uniswapV2) -> Int? {
        indexByKey[Key(pair: TokenPair(a, b), venue: venue)]
    }

    /// The first pool (any venue) of the pair; continue with `nextOfSamePair`. -1: none.
    @inlinable
    public func firstOfPair(_ a: EVMAddress, _ b: EVMAddress) -> Int { firstOfPair[TokenPair(a, b)] ?? -1 }

    @inlinable
    public func nextOfSamePair(_ index: Int) -> Int { nextOfPair[index] }

    /// The first pool holding `token`; continue with `nextHolding(token, after:)`. -1: none.
    @inlinable
    public func firstHolding(_ token: EVMAddress) -> Int { firstOfToken[token] ?? -1 }

    @inlinable
    public func nextHolding(_ token: EVMAddress, after index: Int) -> Int {
        pools[index].token0 == token ? nextOfToken0[index] : nextOfToken1[index]
    }

    public subscript(index: Int) -> ConstantProductPool {
        get { pools[index] }
        set { pools[index] = newValue }
    }
}
