import Foundation
import XMoEBase
import XMoEData
import XMoEPipeline
import XMoESpec

/// The DAG's first step: tokenizes `data.input` into `<output.cache_dir>/prepare-data/<key>/data/<stem>_<key>_document.bin/.idx`,
/// shared by every run (and sweep point) that reads the same data settings.
/// It reads the data settings that change the tokens (not `data.workers`: the output is the same for
/// any worker count) and the SHA-256 of the input file's content, so editing the corpus reruns it.
enum PrepareDataStep {
    static let keys = ["data.input", "data.json_keys", "data.append_eod", "data.tokenizer", "data.vocab_file",
                       "data.merge_file", "data.skip_bad_lines"]

    static func step(_ spec: ExperimentSpec) -> Step {
        var inputs = spec.slice(keys)
        let input = spec.values.string("data.input")!
        inputs["data.input file"] = fingerprint(of: input)
        let workers = spec.values.int("data.workers")!
        return Step(name: "prepare-data", inputs: inputs, formatVersion: "1", shared: true) { context in
            let temporary = try context.temporaryURL(for: "data")
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            let stem = datasetStem(input)
            let options = PrepareDataOptions(
                input: URL(fileURLWithPath: input), outputPrefix: temporary.appendingPathComponent(stem).path,
                jsonKeys: spec.values.strings("data.json_keys")!, appendEOD: spec.values.bool("data.append_eod")!,
                workers: workers, skipBadLines: spec.values.bool("data.skip_bad_lines")!)
            let summary = try DataPreparation.run(options: options, vocabFile: spec.values.string("data.vocab_file")!,
                                                  mergeFile: spec.values.string("data.merge_file")!) {
                context.progress($0.fraction, $0.message)
            }
            try context.commit("data")
            var files: [String: String] = [:]
            var facts = ["documents": "\(summary.documents)"]
            for output in summary.outputs {
                let prefix = "data/\(stem)_\(output.key)_document"
                files["\(output.key).bin"] = prefix + ".bin"
                files["\(output.key).idx"] = prefix + ".idx"
                facts["\(output.key).prefix"] = prefix
                facts["\(output.key).tokens"] = "\(output.tokens)"
            }
            facts["skipped_lines"] = "\(summary.skippedLines.values.reduce(0, +))"
            return StepOutputs(files: files, facts: facts)
        }
    }

    /// `corpus.jsonl.gz` → `corpus`, as Megatron users name their prefixes.
    static func datasetStem(_ path: String) -> String {
        var name = URL(fileURLWithPath: path).lastPathComponent
        for suffix in [".gz", ".jsonl", ".json"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name.isEmpty ? "dataset" : name
    }

    /// The input's content, not its size and modification time: an edit in place that keeps both
    /// (or a file replaced by one restored with `touch -d`) must rerun the step. SHA-256 through
    /// swift-crypto hashes hundreds of MB/s even on a loaded machine (Benchmarks/hash: ~2 ms for the
    /// bundled corpus, about 100× XMoEBase's own SHA256), so the input is hashed on every plan and
    /// run rather than through a cache of hashes keyed on size and mtime, which an in-place edit fools.
    static func fingerprint(of path: String) -> String {
        guard let hash = try? ContentDigest.sha256(fileAt: path) else { return "missing" }
        return "sha256 \(hash)"
    }
}
