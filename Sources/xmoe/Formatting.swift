import Foundation

/// Sizes as `xmoe plan` states them: parameter counts in B/M (as papers do) and memory in GiB.
/// Progress lines use `ProgressFormat` (decimal rates, durations).
enum Format {
    /// 10917875712 → "10.92 B"; 1546000 → "1.55 M".
    static func count(_ n: Int) -> String {
        let x = Double(n)
        switch abs(x) {
        case 1e12...: return String(format: "%.2f T", x / 1e12)
        case 1e9...: return String(format: "%.2f B", x / 1e9)
        case 1e6...: return String(format: "%.2f M", x / 1e6)
        case 1e3...: return String(format: "%.1f K", x / 1e3)
        default: return "\(n)"
        }
    }

    /// Bytes in binary units: "41.3 GiB".
    static func bytes(_ n: Int) -> String { bytes(Double(n)) }

    static func bytes(_ x: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = x, unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(x)) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func flops(_ x: Double) -> String {
        switch x {
        case 1e15...: return String(format: "%.2f PFLOP", x / 1e15)
        case 1e12...: return String(format: "%.2f TFLOP", x / 1e12)
        case 1e9...: return String(format: "%.2f GFLOP", x / 1e9)
        case 1e6...: return String(format: "%.2f MFLOP", x / 1e6)
        default: return String(format: "%.0f FLOP", x)
        }
    }
}

/// Memory this machine can give the run now (MemAvailable), in bytes.
func availableMemoryBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let parts = line.split(separator: " ")
        if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
    }
    return nil
}
