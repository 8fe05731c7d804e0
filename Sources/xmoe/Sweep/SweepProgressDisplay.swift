import Foundation
import XMoEPipeline

/// What a running sweep shows: a permanent line per event (point started, finished, failed) and a
/// status of the running points, redrawn in place on a terminal or printed every 15 s into a log.
final class SweepProgressDisplay {
    let total: Int
    private var finished = 0
    private var failed = 0
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    private var lineIsOpen = false
    private var lastPlain = monotonicSeconds()

    /// `alreadyDone`: points that were up to date before this sweep started, counted as finished.
    init(total: Int, alreadyDone: Int) {
        self.total = total
        finished = alreadyDone
    }

    func event(_ text: String) {
        clearLine()
        Console.write("[sweep] \(text)\n")
    }

    func finished(_ name: String, result: SweepRunner.PointResult, seconds: Double) {
        finished += 1
        let took = ProgressFormat.duration(seconds)
        switch result {
        case .succeeded: event("\(name): done in \(took) (\(finished)/\(total))")
        case .failed(let error):
            failed += 1
            event("\(name): FAILED after \(took): \(error)")
        case .interrupted: event("\(name): interrupted after \(took); `xmoe sweep` again continues it")
        case .upToDate, .notRun: break
        }
    }

    func status(running: [PointProcess]) {
        guard !running.isEmpty else { return }
        let parts = running.map { process in
            let progress = process.latestProgress().map(Self.shorten) ?? "starting"
            return "\(process.name) \(progress)"
        }
        if isTerminal {
            var text = "[sweep \(finished)/\(total)\(failed > 0 ? ", \(failed) failed" : "")] " + parts.joined(separator: " | ")
            let columns = TerminalProgressReporter(fileDescriptor: STDOUT_FILENO).terminalColumns() ?? 120
            if text.count >= columns { text = String(text.prefix(columns - 1)) }
            Console.write("\r\u{1B}[K" + text)
            lineIsOpen = true
        } else if monotonicSeconds() - lastPlain >= 15 {
            lastPlain = monotonicSeconds()
            for part in parts { Console.write("[sweep] \(part)\n") }
        }
    }

    func close() { clearLine() }

    private func clearLine() {
        if lineIsOpen {
            Console.write("\r\u{1B}[K")
            lineIsOpen = false
        }
    }

    /// "[train] 40% step 24/60 loss 6.2100 lr 3.00e-03 grad 0.51 1.2k tok/s ETA 31s" → "40% step 24/60 loss 6.2100 ETA 31s"
    static func shorten(_ line: String) -> String {
        var words = line.split(separator: " ").map(String.init)
        if words.first?.hasPrefix("[") == true { words.removeFirst() }
        var kept: [String] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            if ["loss", "step", "ETA", "eval"].contains(word), index + 1 < words.count {
                kept += [word, words[index + 1]]
                index += 2
            } else {
                if word.hasSuffix("%") && kept.isEmpty { kept.append(word) }
                index += 1
            }
        }
        return kept.isEmpty ? line : kept.joined(separator: " ")
    }
}
