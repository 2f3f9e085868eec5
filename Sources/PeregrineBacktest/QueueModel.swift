import PeregrineEngine
import PeregrineModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a resting order's place in the queue at its price moves while it waits, given only what
/// the recorded book shows: the quantity displayed ahead of it when it joined, then trades at
/// its price and changes of the displayed size.
///
/// Every model lets trades at the order's price advance it by their quantity. They differ on a
/// *decrease* of the displayed size (a cancellation somewhere in the queue):
/// - `riskAverse` (the default): a decrease never advances the order; the quantity ahead is only
///   capped at what is displayed. The order fills last, as if every cancellation came from behind it.
/// - `power(n)` and `log`: the deterministic probability models hftbacktest documents
///   (`ProbQueueModel` with `PowerProbQueueFunc` / `LogProbQueueFunc`). With `front` ahead and
///   `back = previous − front` behind, a decrease of `d` (less what traded at the price since the
///   last change, already counted) advances the order by `(1 − p) × d`, where `p = f(back) ÷
///   (f(back) + f(front))` is the share of the decrease assumed to come from behind it, and
///   `f(x) = x^n` (`power`) or `ln(1 + x)` (`log`, with `x` in the instrument's base units, as
///   hftbacktest's quantities are, so that it does not depend on the lot grid); the part
///   assumed to come from behind (`p × d`) beyond `back` comes from ahead too:
///   `front − (1 − p) × d + min(back − p × d, 0)`. The result is capped at the new displayed
///   size and floored at 0 (hftbacktest's is not: a decrease larger than the estimate allows
///   would leave the order "ahead of the front", filled by more than a trade printed).
///
/// Quantities are in lots, as doubles (the probability models give fractions of a lot);
/// every step is IEEE arithmetic, so a run repeats exactly on the same platform.
public enum QueueModel: Hashable, Sendable, CustomStringConvertible {
    case riskAverse
    case power(exponent: Double)
    case log

    /// Parses `risk-averse`, `power:N` (N > 0 a plain decimal, e.g. `power:2` or `power:0.5`:
    /// no sign, exponent or hexadecimal, as every other number the backtest reads) or `log`.
    public init?(_ text: String) {
        if text == "risk-averse" {
            self = .riskAverse
        } else if text == "log" {
            self = .log
        } else if text.hasPrefix("power:"), case let number = String(text.dropFirst(6)),
            (try? Increment(number)) != nil, let exponent = Double(number), exponent.isFinite
        {
            self = .power(exponent: exponent)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .riskAverse: return "risk-averse"
        case .power(let exponent):
            // Plain decimal: `power:2`, not `power:2.0`; `power:0.00001`, not `power:1e-05`.
            return "power:" + (ConfigurationFile.decimalText(exponent) ?? "\(exponent)")
        case .log: return "log"
        }
    }

    /// The share of a decrease assumed to come from behind the order; `unit` is a lot in base
    /// units (the `log` model weighs quantities in them, as hftbacktest, whose quantities are
    /// the asset's; `power` is the same at any scale).
    func probabilityBehind(front: Double, back: Double, unit: Double = 1) -> Double {
        let weightBack: Double
        let weightFront: Double
        switch self {
        case .riskAverse: return 1
        case .power(let exponent):
            weightBack = pow(Swift.max(back, 0), exponent)
            weightFront = pow(Swift.max(front, 0), exponent)
        case .log:
            weightBack = log1p(Swift.max(back, 0) * unit)
            weightFront = log1p(Swift.max(front, 0) * unit)
        }
        let total = weightBack + weightFront
        guard total > 0 else { return 1 }
        guard total.isFinite else {
            // x^n past the doubles (a large exponent): the same share from the ratio of the sides,
            // which tends to all from behind or all from ahead instead of overflowing.
            guard case .power(let exponent) = self, back > 0 else { return 0 }
            return 1 / (1 + pow(Swift.max(front, 0) / back, exponent))
        }
        return weightBack / total
    }

    /// The quantity ahead after the displayed size at the order's price went from `previous`
    /// to `new` lots, with `traded` lots traded at the price since the last change (already
    /// taken off `front`); `unit`: a lot in base units.
    public func ahead(front: Double, previous: Double, new: Double, traded: Double, unit: Double = 1) -> Double {
        let decrease = previous - new - traded
        guard case .riskAverse = self else {
            if decrease <= 0 { return Swift.min(front, new) }
            let back = previous - front
            let share = probabilityBehind(front: front, back: back, unit: unit)
            let estimate = front - (1 - share) * decrease + Swift.min(back - share * decrease, 0)
            // Never below nothing ahead: a negative estimate (hftbacktest's has no floor) would
            // fill the order by more than a trade printed.
            return Swift.max(Swift.min(estimate, new), 0)
        }
        return Swift.min(front, new)
    }
}
