import ArgumentParser
import Foundation
import XMoEReport

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "PNG plots and a text summary of one or several runs (or a whole sweep), overlaid.",
        discussion: """
            Writes loss.png (train and eval loss against steps and tokens), training.png (learning rate, \
            throughput, gradient norm, load-balancing loss), expert-load-<run>.png (share of routed slots per \
            expert over the steps, for chosen MoE layers) and summary.txt. A sweep directory stands for all \
            its points. Runs still training can be reported on. The summary warns about MoE layers with \
            dead experts (under 10% of the even share) or hot ones (over 2× it).
            """)

    @Argument(help: ArgumentHelp("Run directories (runs/<name>) or sweep directories (runs/<sweep>).", valueName: "run-dir"))
    var directories: [String]

    @Option(name: .customLong("out"), help: "Where to write the report (default: <run-dir>/report for one directory, ./report for several).")
    var output: String?

    @Option(name: .customLong("layers"), parsing: .upToNextOption,
            help: ArgumentHelp("MoE layers (model layer index) for the expert-load heatmaps; default: the first and the last.", valueName: "layer"))
    var layers: [Int] = []

    func validate() throws {
        if directories.isEmpty { throw ValidationError("give at least one run directory, e.g. `xmoe report runs/quickstart`") }
    }

    func run() throws {
        let runDirectories = try expand(directories.map { URL(fileURLWithPath: $0, isDirectory: true) })
        var metrics: [RunMetrics] = []
        var summaries: [String] = []
        var skipped: [String] = []
        for directory in runDirectories {
            do {
                metrics.append(try RunMetrics.load(runDirectory: directory))
                summaries.append(try RunSummary.load(runDirectory: directory).text)
            } catch let error as ReportError {
                // One point of a sweep that never trained must not hide the others.
                if runDirectories.count == 1 { throw failure("xmoe report: \(error)") }
                skipped.append("\(displayPath(directory)): \(error)")
            }
        }
        guard !metrics.isEmpty else {
            throw failure("xmoe report: none of the runs has metrics yet:\n  " + skipped.joined(separator: "\n  "))
        }
        let outputDirectory = URL(fileURLWithPath: output ?? (directories.count == 1 ? directories[0] + "/report" : "report"),
                                  isDirectory: true)
        let figures = RunFigures(runs: metrics, layers: layers.isEmpty ? nil : layers)
        let written: [URL]
        do {
            written = try figures.write(to: outputDirectory)
        } catch let error as ReportError {
            throw failure("xmoe report: \(error)")
        }
        var text = summaries.joined(separator: "\n")
        if !skipped.isEmpty { text += "\nnot reported (no metrics):\n  " + skipped.joined(separator: "\n  ") + "\n" }
        let summaryURL = outputDirectory.appendingPathComponent("summary.txt")
        try text.write(to: summaryURL, atomically: true, encoding: .utf8)
        Console.write(text)
        Console.line()
        Console.line("wrote " + (written + [summaryURL]).map(displayPath).joined(separator: ", "))
    }

    /// A sweep directory (it has sweep.json) stands for its points, in the sweep's order.
    private func expand(_ urls: [URL]) throws -> [URL] {
        var result: [URL] = []
        for url in urls {
            let sweep = SweepDirectory(root: url)
            if FileManager.default.fileExists(atPath: sweep.manifest.path) {
                let manifest: SweepManifest
                do {
                    manifest = try sweep.readManifest()
                } catch {
                    throw failure("xmoe report: \(displayPath(sweep.manifest)) is not a sweep manifest: \(error)")
                }
                result += manifest.points.map { sweep.runDirectory($0.name) }
            } else {
                result.append(url)
            }
        }
        return result
    }
}

/// Prints an error the user can act on, alone (without ArgumentParser's "Error:" and usage), and gives
/// the exit status to throw.
func failure(_ message: String) -> ExitCode {
    Terminal.error(message)
    return ExitCode(1)
}
