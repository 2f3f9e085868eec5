/// Recorded instruments that are not linear contracts: inverse ones (sized in USD contracts,
/// settled in the coin: BitMEX XBTUSD, Deribit BTC-PERPETUAL, Binance COIN-M, Bybit and Phemex
/// BTCUSD, OKX and Huobi coin-margined swaps and futures, Kraken Futures PI_/FI_) and BitMEX's
/// quanto ones (settled in XBT). The backtest takes every instrument as linear (P&L = quantity
/// × price in the quote currency), so for these its volume, P&L and fees are not in the
/// contract's units: the plan warns (`BacktestPlan.warnings`). Known by the exchange's name
/// (Tardis's, or the format's own exchange) and the symbol's conventions; an instrument not
/// recognised here is taken as linear without a word.
enum InverseContracts {
    /// Whether `symbol` on `exchange` is settled in a coin rather than in its quote currency.
    static func settledInCoin(exchange: String, symbol: String) -> Bool {
        let symbol = symbol.uppercased()
        func endsInUSD(after separator: String) -> Bool { symbol.hasSuffix(separator + "USD") }
        /// `USD` not followed by `T` or `C` (USDT, USDC are linear).
        var namesUSDAlone: Bool {
            var rest = Substring(symbol)
            while let range = rest.range(of: "USD") {
                let next = rest[range.upperBound...].first
                if next != "T" && next != "C" { return true }
                rest = rest[range.upperBound...]
            }
            return false
        }
        switch exchange.lowercased() {
        case "bitmex":
            // Everything but the USDT/USDC contracts and the spot pairs (XBT_USDT) settles in XBT.
            return !symbol.contains("USDT") && !symbol.contains("USDC") && !symbol.contains("_")
        case "deribit":
            // Coin-settled but for the USDC/USDT-settled instruments (BTC_USDC-PERPETUAL).
            return !symbol.contains("_USDC") && !symbol.contains("_USDT")
        case "binance-delivery":
            return true
        case "binance", "binance-futures":
            // COIN-M symbols in Binance's own files: BTCUSD_PERP, BTCUSD_201225.
            return symbol.contains("USD_")
        case "bybit", "phemex":
            // BTCUSD, BTCUSDZ20 (inverse), not BTCUSDT or BTCPERP (USDC).
            return namesUSDAlone
        case "okex-swap", "okex-futures", "okx-swap", "okx-futures":
            return symbol.contains("-USD-")
        case "huobi-dm", "huobi-dm-swap":
            return true
        case "cryptofacilities", "kraken-futures":
            return symbol.hasPrefix("PI_") || symbol.hasPrefix("FI_")
        case "gate-io-futures":
            return endsInUSD(after: "_")
        default:
            return false
        }
    }

    /// The warning for such an instrument.
    static func warning(exchange: String, symbol: String, path: String) -> String {
        "\(path): \(symbol) on \(exchange) is an inverse or quanto contract (settled in a coin, not in its quote "
            + "currency), which this backtest takes as linear: its volume, P&L and fees are quantity × price in the "
            + "quote currency, not the contract's (its prices and the fills' times are as recorded)"
    }
}
