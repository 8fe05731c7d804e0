import Foundation
import Testing

@testable import XMoEPipeline

/// Counts step-body executions across threads and pipelines.
final class ExecutionCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    func add(_ step: String) {
        lock.lock()
        counts[step, default: 0] += 1
        lock.unlock()
    }

    func count(_ step: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return counts[step, default: 0]
    }
}

/// prepare (shared: writes `data/tokens.txt` from `data.input`) ──▶ train (run-local: copies what it
/// reads, through both `upstreamFile` and `upstreamRoot` + a recorded relative prefix, into `model.txt`).
struct SharedPipeline {
    var input = "a.jsonl"
    var failure: String? = nil
    /// Runs inside prepare's body after it counted itself (the concurrency test blocks here).
    var duringPrepare: (@Sendable () -> Void)? = nil

    func make(cache: URL?, run: URL, counter: ExecutionCounter) throws -> Pipeline {
        let input = input, failure = failure, duringPrepare = duringPrepare
        let prepare = Step(name: "prepare", inputs: ["data.input": input], formatVersion: "1", shared: true) {
            context in
            counter.add("prepare")
            duringPrepare?()
            if let failure { throw TestFailure(description: failure) }
            let temporary = try context.temporaryURL(for: "data/tokens.txt")
            try SharedPipeline.tokens(of: input).write(to: temporary, atomically: false, encoding: .utf8)
            try context.commit("data/tokens.txt")
            return StepOutputs(files: ["tokens": "data/tokens.txt"], facts: ["tokens.prefix": "data/tokens"])
        }
        let train = Step(name: "train", upstream: ["prepare"], inputs: ["model.hidden": "8"], formatVersion: "1") {
            context in
            counter.add("train")
            let byName = try context.upstreamFile(step: "prepare", name: "tokens")
            guard let prefix = context.upstreamOutputs["prepare"]?.facts["tokens.prefix"] else {
                throw TestFailure(description: "prepare recorded no tokens.prefix")
            }
            let byPrefix = try context.upstreamRoot(step: "prepare").appendingPathComponent(prefix + ".txt")
            let text = try readText(byName)
            guard try readText(byPrefix) == text else { throw TestFailure(description: "prefix and file differ") }
            let temporary = try context.temporaryURL(for: "model.txt")
            try "trained on \(byName.path)\n\(text)".write(to: temporary, atomically: false, encoding: .utf8)
            try context.commit("model.txt")
            return StepOutputs(files: ["model": "model.txt"])
        }
        return try Pipeline(
            steps: [prepare, train], runDirectory: RunDirectory(root: run), sharedCache: cache.map(StepCache.init))
    }

    /// What prepare must have written for `input`, spelled out independently of the step body.
    static func tokens(of input: String) -> String {
        "tokens of \(input)\n"
    }
}

/// A test's cache root and run directories.
struct SharedLayout {
    let dir: TemporaryDirectory
    var cache: URL { dir.url.appendingPathComponent("cache", isDirectory: true) }

    func run(_ name: String) -> URL {
        dir.url.appendingPathComponent("runs/sweep/\(name)", isDirectory: true)
    }

    /// `<cache>/prepare/<first 16 hex of the key>`, built here from the spec of the layout.
    func entry(_ pipeline: Pipeline) -> URL {
        cache.appendingPathComponent("prepare").appendingPathComponent(String(pipeline.keys["prepare"]!.prefix(16)))
    }
}
