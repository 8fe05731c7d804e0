import ArgumentParser
import Foundation
import XMoEBase
import XMoESpec

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a grid of experiments that share cached steps; run again to continue where it stopped.",
        usage: """
            xmoe sweep <file> [<key.path=value> ...] [--max-parallel <n>] [--dry-run]
                       [--launcher <launcher>] [--slurm-partition <partition>]
                       [--slurm-account <account>] [--slurm-time <time>]
                       [--slurm-cpus-per-task <n>] [--slurm-mpi <plugin>]
            """,
        discussion: """
            The sweep file is a spec (with `extends` and sections as usual) plus a `sweep:` section with \
            `grid` (key → list of values, Cartesian product), `zip` (groups of keys that vary together), \
            `exclude` (rules dropping points) and `name` (a point-name pattern such as \
            "e{moe.num_experts}-k{moe.top_k}").

            Points run in <output.dir>/<sweep name>/<point>/; the summary is written there as summary.md, \
            summary.csv and summary.h5 whenever a point finishes.
            """)

    enum Launcher: String, ExpressibleByArgument, CaseIterable {
        case local, slurm
    }

    @Argument(help: "Sweep file (YAML): a spec with a `sweep:` section.")
    var file: String

    @Argument(help: ArgumentHelp("Overrides applied to every point.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(name: .customLong("max-parallel"), help: "Points run at the same time (local), or the array's task limit (slurm).")
    var maxParallel: Int?

    @Flag(name: .customLong("dry-run"), help: "Print the points and what each would run; run nothing.")
    var dryRun = false

    @Option(help: "local: run the points here; slurm: write an sbatch array script instead of running.")
    var launcher: Launcher = .local

    @OptionGroup var slurm: SlurmOptions

    func validate() throws {
        if let maxParallel, maxParallel < 1 { throw ValidationError("--max-parallel must be at least 1") }
    }

    func run() throws {
        let sweep = try loadSweep()
        let directory = SweepDirectory(sweep: sweep)
        let plans = try sweep.points.map(SweepPointPlan.init)
        let pending = plans.filter { !$0.isDone }
        Console.line("xmoe sweep: \(sweep.name): \(sweep.points.count) point\(sweep.points.count == 1 ? "" : "s")"
              + (sweep.excludedCount > 0 ? " (\(sweep.excludedCount) excluded)" : "")
              + ", \(pending.count) to run, in \(displayPath(directory.root))")
        Console.write(SweepTableText.points(sweep: sweep, plans: plans))
        if dryRun {
            Console.line("nothing was run (--dry-run)")
            return
        }
        try directory.writePointSpecs(sweep)
        switch launcher {
        case .slurm:
            let script = try SlurmScript(sweep: sweep, directory: directory, options: slurm, maxParallel: maxParallel)
            let url = try script.write()
            Console.line()
            Console.line("wrote \(displayPath(url)) (\(sweep.points.count) array task\(sweep.points.count == 1 ? "" : "s"))")
            Console.line("submit it with:  sbatch \(displayPath(url))")
            Console.line("each task runs `xmoe run` on its point's spec; run `xmoe sweep \(file)` afterwards (or at any time) to see the summary")
        case .local:
            let runner = SweepRunner(sweep: sweep, directory: directory, plans: plans, maxParallel: maxParallel ?? 1)
            let outcome = try runner.run()
            try SweepSummaryFiles.write(sweep: sweep, directory: directory, outcomes: outcome.points)
            Console.line()
            Console.write(SweepSummaryFiles.table(sweep: sweep, directory: directory, outcomes: outcome.points).markdown())
            Console.line("summary: \(displayPath(directory.summaryMarkdown)), \(displayPath(directory.summaryCSV)), \(displayPath(directory.summaryHDF5))")
            let failed = outcome.points.filter { if case .failed = $0.result { return true } else { return false } }
            if !failed.isEmpty {
                Terminal.error("xmoe sweep: \(failed.count) of \(sweep.points.count) points failed:")
                for point in failed { if case .failed(let error) = point.result { Terminal.error("  \(point.name): \(error)") } }
            }
            if let signal = outcome.interruptedBy { throw ExitCode(128 + signal) }
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }

    private func loadSweep() throws -> SweepSpec {
        try exitingOnSpecErrors(in: "sweep") { try SweepSpec.load(file: file, overrides: overrides) }
    }
}

/// A path as the user would type it: relative to the working directory when below it.
func displayPath(_ url: URL) -> String {
    let cwd = FileManager.default.currentDirectoryPath
    let path = url.standardizedFileURL.path
    return path.hasPrefix(cwd + "/") ? String(path.dropFirst(cwd.count + 1)) : path
}
