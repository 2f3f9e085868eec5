/// The self-contained HTML report (placeholder until the plots land: see docs/backtesting.md).
public enum BacktestHTMLReport {
    public static func render(_ result: BacktestResult) -> String {
        "<!doctype html><meta charset=utf-8><title>Peregrine backtest</title><pre>\(result.json)</pre>\n"
    }
}
