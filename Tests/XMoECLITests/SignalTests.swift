import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Signals never crash: SIGINT, SIGTERM and SIGHUP at random moments end `xmoe run` and
/// `xmoe prepare-data` with 128 + signal, record the step interrupted (never complete), leave a
/// loadable checkpoint and no temporary files after the next run; a killed sweep takes its points along.
@Suite(.serialized) struct SignalTests {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Waits at most 60 s (a signal that is lost must fail the test, not hang it); "exit N", "killed by
    /// signal N" or "hung".
    static func wait(_ process: Process) -> String {
        for _ in 0..<1200 where process.isRunning { usleep(50_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return "hung"
        }
        return process.terminationReason == .exit ? "exit \(process.terminationStatus)" : "killed by signal \(process.terminationStatus)"
    }

    /// Exit status 128 + signal; or, for a signal sent in the first half second, death by that very
    /// signal: before the program's first instruction (loading its libraries takes tens of
    /// milliseconds) the kernel's default action ends it, which shells report as 128 + signal too and
    /// which writes nothing. Never a crash, never a hang.
    static func acceptable(_ reason: String, signal: Int32, delay: UInt32) -> Bool {
        reason == "exit \(128 + signal)" || (delay < 500_000 && reason == "killed by signal \(signal)")
    }

    /// 18 signals at random moments of a run with a checkpoint after every step: while the process
    /// starts, while it prepares data (the shared cache is removed before every third trial), while it
    /// builds the model and trains, and while it writes checkpoints.
    @Test func signalStormOnRun() throws {
        let f = try RunFixture(iters: 100_000, saveInterval: 1)
        defer { f.dir.cleanup() }
        var outcomes: [String] = []
        for trial in 0..<18 {
            if trial % 3 == 0 { try? FileManager.default.removeItem(at: f.dir.url.appendingPathComponent("runs/cache")) }
            let signal = Self.signals[trial % 3]
            let process = try f.launch(["run", "exp.yaml"], log: "trial-\(trial).log")
            // 0.05–2.4 s: the first few hundred milliseconds are start-up and data preparation.
            let delay = UInt32.random(in: 50_000...2_400_000)
            usleep(delay)
            kill(process.processIdentifier, signal)
            if trial % 6 == 5 {
                // A second signal (Ctrl-C pressed twice) does not wait for a safe point.
                usleep(20_000)
                kill(process.processIdentifier, signal)
            }
            let reason = Self.wait(process)
            outcomes.append("\(trial): sig \(signal)\(trial % 6 == 5 ? " twice" : "") after \(delay / 1000) ms → \(reason), "
                            + "train \(f.status(of: "train") ?? "-")")
            #expect(Self.acceptable(reason, signal: signal, delay: delay), "trial \(trial): \(reason)\n\(f.log("trial-\(trial).log"))")
            #expect(f.status(of: "train") != "complete", "trial \(trial)")
        }
        print("signal storm on xmoe run:\n" + outcomes.joined(separator: "\n"))
        // The next run resumes from a loadable checkpoint and finishes.
        let latest = try #require(f.latestCheckpoint(), "no checkpoint after 18 trials:\n\(outcomes.joined(separator: "\n"))")
        let step = try #require(Int(latest.dropFirst("step_".count)))
        let final = try f.train(["train.iters=\(step + 2)"])
        #expect(final.stderr.contains("resumed from the checkpoint of step \(step)"), "\(final.stderr)")
        #expect(f.status(of: "train") == "complete")
        let leftovers = RunFixture.snapshot(f.dir.url).keys.filter { $0.contains(".tmp-") || $0.contains(".partial") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    /// `xmoe prepare-data` stopped by signals while tokenizing (each removes its own temporaries on the
    /// way out); one SIGKILL leaves temporaries, which the next run with the same prefix removes.
    @Test func signalStormOnPrepareData() throws {
        let f = try RunFixture()
        defer { f.dir.cleanup() }
        let root = XMoEBinary.repositoryRoot.path
        // The bundled KJV corpus takes seconds to tokenize in a debug build: long enough to interrupt.
        let arguments = ["prepare-data", "--input", "\(root)/data/corpus/kjv.jsonl.gz", "--output-prefix", "out/kjv",
                         "--workers", "2", "--vocab-file", "\(root)/data/gpt2/vocab.json", "--merge-file", "\(root)/data/gpt2/merges.txt"]
        try FileManager.default.createDirectory(at: f.dir.url.appendingPathComponent("out"), withIntermediateDirectories: true)
        var outcomes: [String] = []
        for trial in 0..<9 {
            let signal = Self.signals[trial % 3]
            let process = try f.launch(arguments, log: "prepare-\(trial).log")
            let delay = UInt32.random(in: 50_000...1_500_000)
            usleep(delay)
            kill(process.processIdentifier, signal)
            let reason = Self.wait(process)
            let temporaries = RunFixture.snapshot(f.dir.url.appendingPathComponent("out")).keys.filter { $0.contains(".tmp-") }
            outcomes.append("\(trial): sig \(signal) after \(delay / 1000) ms → \(reason), temporaries \(temporaries.count)")
            #expect(Self.acceptable(reason, signal: signal, delay: delay), "trial \(trial): \(reason)\n\(f.log("prepare-\(trial).log"))")
        }
        print("signal storm on xmoe prepare-data:\n" + outcomes.joined(separator: "\n"))

        let killed = try f.launch(arguments, log: "prepare-killed.log")
        let out = f.dir.url.appendingPathComponent("out")
        for _ in 0..<400 where RunFixture.snapshot(out).keys.allSatisfy({ !$0.contains(".tmp-") }) { usleep(10_000) }
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(RunFixture.snapshot(out).keys.contains { $0.contains(".bin.tmp-\(killed.processIdentifier)-") })

        let small = try f.xmoe(["prepare-data", "--input", "corpus.jsonl", "--output-prefix", "out/kjv", "--workers", "1",
                                "--vocab-file", "\(root)/data/gpt2/vocab.json", "--merge-file", "\(root)/data/gpt2/merges.txt"])
        #expect(small.status == 0, "\(small.stderr)")
        #expect(small.stderr.contains("an earlier, killed run left next to out/kjv"), "\(small.stderr)")
        let files = RunFixture.snapshot(out).keys.sorted()
        #expect(files == ["kjv_text_document.bin", "kjv_text_document.idx"], "\(files)")
    }

    /// SIGKILL and SIGTERM to `xmoe sweep`: its points stop within seconds (recording their steps
    /// interrupted), and the next sweep continues them.
    @Test func killedSweepTakesItsPointsAlong() throws {
        let f = try RunFixture(iters: 100_000, saveInterval: 1)
        defer { f.dir.cleanup() }
        try f.dir.write("grid.yaml", """
            extends: exp.yaml
            name: grid
            sweep:
              name: "e{moe.num_experts}"
              grid:
                moe.num_experts: [2, 4]
            """)
        let points = ["e2", "e4"].map { f.dir.url.appendingPathComponent("runs/grid/\($0)") }
        for signal in [SIGKILL, SIGTERM] {
            let sweep = try f.launch(["sweep", "grid.yaml", "--max-parallel", "2"], log: "sweep-\(signal).log")
            // Until both points train (each has written a checkpoint in this round).
            let started = Date()
            func training() -> Bool {
                points.allSatisfy { point in
                    let latest = point.appendingPathComponent("checkpoints/latest")
                    let modified = (try? FileManager.default.attributesOfItem(atPath: latest.path)[.modificationDate] as? Date) ?? nil
                    return (modified ?? .distantPast) > started
                }
            }
            for _ in 0..<1200 where !training() && sweep.isRunning { usleep(50_000) }
            #expect(training(), "the points did not start training:\n\(f.log("sweep-\(signal).log"))")
            let children = points.compactMap { point -> Int32? in
                let text = try? String(contentsOf: point.appendingPathComponent(".lock"), encoding: .utf8)
                return text.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            #expect(children.count == 2 && children.allSatisfy(processExists))
            kill(sweep.processIdentifier, signal)
            let outcome = Self.wait(sweep)
            let expected = signal == SIGTERM ? "exit 143" : "killed by signal \(SIGKILL)"
            #expect(outcome == expected, "\(outcome)\n\(f.log("sweep-\(signal).log"))")
            var alive = children
            for _ in 0..<100 where !alive.isEmpty {
                usleep(50_000)
                alive = alive.filter(processExists)
            }
            #expect(alive.isEmpty, "points still running 5 s after the sweep got signal \(signal): \(alive)")
            for point in points {
                let record = try String(contentsOf: point.appendingPathComponent("steps/train.json"), encoding: .utf8)
                #expect(record.contains("\"status\" : \"interrupted\""), "\(point.lastPathComponent): \(record)")
            }
        }
        // The next sweep takes both points over and finishes them.
        let rerun = try f.xmoe(["sweep", "grid.yaml", "--max-parallel", "2", "train.iters=1"])
        #expect(rerun.status == 0, "\(rerun.stdout)\n\(rerun.stderr)")
        #expect(!rerun.stderr.contains("in use by another xmoe process"), "\(rerun.stderr)")
    }
}
