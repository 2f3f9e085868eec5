import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The progress bar long commands draw on a terminal (stderr): `[###   ] LABEL · N s elapsed ·
/// ETA M s`, redrawn in place (from the second drawing on, the cursor goes up a line and back
/// to its start: the control codes are written as they are, not escaped as `printError`
/// escapes them). The first drawing starts on the line the cursor is on, so the line above it
/// (the command the user typed) stays.
enum ProgressBar {
    /// Whether a bar has been drawn (the next drawing replaces it).
    static let drawn = Atomic<Bool>(false)

    /// Something else was written on the terminal after the bar: the next drawing starts on the
    /// cursor's line, below it, instead of over it.
    static func wrotePastIt() { drawn.store(false, ordering: .relaxed) }

    /// Draws `fraction` (0…1) done since `start`; `label` says how much (`37%`, `5/16 jobs`).
    static func show(_ fraction: Double, label: String, since start: ContinuousClock.Instant) {
        let clamped = clamp(fraction)
        let seconds = (ContinuousClock.now - start).seconds
        let remaining = clamped > 0.001 ? Swift.min(seconds * (1 - clamped) / clamped, 1e9) : 0
        draw("\(bar(clamped)) \(label) · \(Int(seconds)) s elapsed · ETA \(Int(remaining.rounded())) s")
    }

    /// `fraction` within 0…1 (0 when it is not a number).
    static func clamp(_ fraction: Double) -> Double { fraction.isFinite ? Swift.min(Swift.max(fraction, 0), 1) : 0 }

    /// The bar itself, 30 characters between brackets, `#` for the part done.
    static func bar(_ fraction: Double) -> String {
        let filled = Int(clamp(fraction) * 30)
        return "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "]"
    }

    /// Writes `line` over the previous drawing (on the cursor's line the first time), then a
    /// newline.
    static func draw(_ line: String) {
        let again = drawn.exchange(true, ordering: .relaxed)
        var text = again ? "\u{1B}[1A\r\u{1B}[2K" : ""
        for scalar in line.unicodeScalars {
            // The line's own text stays printable (a path from the command line, say).
            text += scalar.value < 0x20 || scalar.value == 0x7F ? scalar.escaped(asASCII: true) : String(scalar)
        }
        text += "\n"
        Array(text.utf8).withUnsafeBytes { writeFully(2, $0) }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
