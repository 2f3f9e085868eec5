/// Recorded instruments that are not linear contracts, known by their exchange (Tardis's
/// exchange id, or the format's own exchange) and the symbol's conventions: inverse ones (sized
/// in USD contracts, settled in the coin) and BitMEX's quanto ones (settled in XBT at a fixed
/// multiplier). The backtest takes every instrument as linear (P&L = quantity × price in the
/// quote currency), so for these its quantities, volume, P&L and fees are not the contract's:
/// the plan warns (`BacktestPlan.warnings`). An instrument not recognised here is taken as
/// linear without a word; options and spot pairs are never flagged.
enum InverseContracts {
    enum Kind: Equatable {
        case inverse
        case quanto
    }

    /// What `symbol` on `exchange` is, when it is not linear in its quote currency.
    static func kind(exchange: String, symbol: String) -> Kind? {
        let upper = symbol.uppercased()
        // Options (BTC-25DEC20-20000-C) are priced in their coin, not inverse; none is flagged.
        if upper.hasSuffix("-C") || upper.hasSuffix("-P") { return nil }
        switch exchange.lowercased() {
        case "bitmex":
            // Spot pairs (XBT_USDT) and the USDT/USDC contracts are linear; so are the futures
            // priced and settled in XBT (ETHH21, ADAZ20).
            guard !upper.contains("_"), !upper.contains("USDT"), !upper.contains("USDC") else { return nil }
            if upper.hasPrefix("XBT") { return .inverse }  // XBTUSD, XBTZ20, XBTEUR
            return endsInUSDContract(upper) ? .quanto : nil  // ETHUSD, SOLUSD, ETHUSDH21
        case "deribit":
            // Futures and perpetuals (BTC-PERPETUAL, ETH-25DEC20: two parts) settle in their coin;
            // not the USDC/USDT ones (BTC_USDC-PERPETUAL), spot pairs (ETH_BTC), options and
            // combos (BTC-CS-16FEB24-48000_50000, BTC-FS-29MAR24_PERP).
            return !upper.contains("_") && upper.split(separator: "-").count == 2 ? .inverse : nil
        case "binance-delivery":
            return .inverse
        case "binance", "binance-futures":
            // COIN-M symbols in Binance's own files: BTCUSD_PERP, BTCUSD_201225.
            return upper.contains("USD_") ? .inverse : nil
        case "bybit":
            // BTCUSD and its futures BTCUSDZ20 (not BTCUSDT, USDEUSDT or BTCPERP).
            return endsInUSDContract(upper) ? .inverse : nil
        case "phemex":
            // BTCUSD and cETHUSD (CETHUSD in Tardis's upper case); ETHUSD, uBTCUSD, COMPUSD and
            // the like settle in USD.
            return upper == "BTCUSD" || upper == "CETHUSD" ? .inverse : nil
        case "okex-swap", "okex-futures", "okx-swap", "okx-futures":
            return upper.contains("-USD-") ? .inverse : nil
        case "huobi-dm", "huobi-dm-swap":
            return .inverse
        case "cryptofacilities", "kraken-futures":
            return upper.hasPrefix("PI_") || upper.hasPrefix("FI_") ? .inverse : nil
        case "gate-io-futures":
            return upper.hasSuffix("_USD") ? .inverse : nil
        case "kucoin-futures":
            return upper.hasSuffix("USDM") ? .inverse : nil  // XBTUSDM, ETHUSDM
        case "bitget-futures":
            return upper.contains("_DMCBL") ? .inverse : nil  // BTCUSD_DMCBL
        default:
            return nil
        }
    }

    /// `…USD`, or a future on it: `USD` and a month code with a two-digit year (BTCUSDZ20).
    static func endsInUSDContract(_ symbol: String) -> Bool {
        if symbol.hasSuffix("USD") { return true }
        let tail = symbol.suffix(6)
        return tail.count == 6 && tail.hasPrefix("USD")
            && tail.dropFirst(3).first.map { "FGHJKMNQUVXZ".contains($0) } == true
            && tail.dropFirst(4).allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The warning for such an instrument, as the backtest names it (`name`), from `files`.
    static func warning(_ kind: Kind, _ recorded: RecordedName, files: [String]) -> String {
        let (exchange, symbol, name) = (recorded.exchange, recorded.symbol, recorded.name)
        let source =
            (name == symbol ? symbol : "\(name) (\(symbol))") + " on \(exchange)"
            + " (\(files[0])" + (files.count > 1 ? " and \(files.count - 1) more" : "") + ")"
        let what =
            kind == .inverse
            ? "an inverse contract: its sizes count contracts of a fixed value in its quote currency and it settles "
                + "in its coin"
            : "a quanto contract: it settles in XBT at a fixed multiplier, not in its quote currency"
        return
            "\(source) is \(what). Peregrine's backtests take every contract as linear, so its sizes are read as base "
            + "units and its volume, P&L and fees as quantity × price in the quote currency, which is not what the "
            + "contract pays (NautilusTrader's is_inverse, hftbacktest's inverse asset); its prices and times are "
            + "read as recorded"
    }
}
