/// A small, fast, deterministic random number generator (SplitMix64, Steele et al. 2014).
///
/// The same seed always gives the same sequence on every platform, which synthetic sources
/// and tests rely on for reproducible runs. A value type: no allocation, no locking.
@frozen
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    @inlinable public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    @inlinable
    public mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in 0 ..< bound (bound > 0), by multiply-shift (Lemire), unbiased
    /// enough for simulation.
    @inlinable
    public mutating func next(below bound: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: bound).high
    }
}
