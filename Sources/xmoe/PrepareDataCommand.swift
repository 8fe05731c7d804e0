import ArgumentParser
import Foundation
import XMoEData
import XMoEPipeline

/// `xmoe prepare-data`: Megatron's `tools/preprocess_data.py` with the same flags and byte-identical output.
struct PrepareDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare-data",
        abstract: "Tokenize JSON lines with GPT-2 BPE into Megatron indexed datasets (PREFIX_<key>_document.bin/.idx).",
        usage: """
            xmoe prepare-data --input <input> --output-prefix <output-prefix>
                   [--json-keys <json-keys> ...] [--append-eod] [--workers <n>]
                   [--vocab-file <file>] [--merge-file <file>] [--skip-bad-lines]
                   [--tokenizer-type <tokenizer-type>]
            """)

    @Option(help: "JSON-lines input, plain or gzip-compressed (.jsonl, .jsonl.gz).")
    var input: String

    @Option(help: "Output path prefix; writes PREFIX_<key>_document.bin and .idx.")
    var outputPrefix: String

    @Option(parsing: .upToNextOption, help: "JSON keys to tokenize, each into its own dataset.")
    var jsonKeys: [String] = ["text"]

    @Flag(help: "Append the end-of-document token (50256) to every document.")
    var appendEod = false

    @Option(help: "Tokenizer worker threads (the output does not depend on it).")
    var workers: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "GPT-2 vocab.json.")
    var vocabFile: String = "data/gpt2/vocab.json"

    @Option(help: "GPT-2 merges.txt.")
    var mergeFile: String = "data/gpt2/merges.txt"

    @Flag(help: "Skip malformed JSON lines, missing keys and invalid UTF-8, and report how many, instead of failing.")
    var skipBadLines = false

    @Option(help: "Accepted for Megatron compatibility; only GPT2BPETokenizer is supported.")
    var tokenizerType: String = "GPT2BPETokenizer"

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard tokenizerType == "GPT2BPETokenizer" else {
            throw ValidationError("--tokenizer-type \(tokenizerType) is not supported; xmoe uses GPT2BPETokenizer")
        }
    }

    func run() throws {
        let options = PrepareDataOptions(
            input: URL(fileURLWithPath: input), outputPrefix: outputPrefix, jsonKeys: jsonKeys,
            appendEOD: appendEod, workers: workers, skipBadLines: skipBadLines)
        let stale = PrepareDataTemporaries.removeStale(prefix: outputPrefix)
        if stale > 0 {
            Terminal.error("xmoe prepare-data: removed \(stale) temporary file\(stale == 1 ? "" : "s") an earlier, killed run left next to \(outputPrefix)")
        }
        // A signal ends the process at once (InterruptHandler); what it was writing goes with it.
        let prefix = outputPrefix
        let cleanup = InterruptHandler.addCleanup { PrepareDataTemporaries.removeOwn(prefix: prefix) }
        defer { InterruptHandler.removeCleanup(cleanup) }
        let reporter = TerminalProgressReporter()
        let summary: PrepareDataSummary
        do {
            summary = try DataPreparation.run(options: options, vocabFile: vocabFile, mergeFile: mergeFile) {
                reporter.progress("prepare-data", fraction: $0.fraction, message: $0.message)
            }
        } catch let error as DataPreparation.Failure {
            Terminal.error("xmoe prepare-data: error: \(error)")
            throw ExitCode(1)
        }
        reporter.stepFinished("prepare-data", durationSeconds: summary.elapsedSeconds)
        print(DataPreparation.describe(summary))
    }
}

/// Shared by the command and the DAG step: loads the tokenizer, runs, turns errors into messages.
enum DataPreparation {
    /// A mistake in the input or the tokenizer files, with a message that names the file (and line).
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Progress {
        var fraction: Double?
        var message: String
    }

    static func run(options: PrepareDataOptions, vocabFile: String, mergeFile: String,
                    progress: @escaping (Progress) -> Void) throws -> PrepareDataSummary {
        do {
            let vocabulary = try GPT2Vocabulary(vocabURL: URL(fileURLWithPath: vocabFile),
                                                mergesURL: URL(fileURLWithPath: mergeFile))
            let engine = try PrepareData(options: options, vocabulary: vocabulary)
            return try engine.run { p in
                var message = String(format: "%d docs, %.1f docs/s, %.1f MB/s", p.documents, p.documentsPerSecond,
                                     p.megabytesPerSecond)
                if let eta = p.etaSeconds { message += ", ETA " + ProgressFormat.duration(eta) }
                let fraction = p.inputBytesTotal > 0 ? Double(p.inputBytesRead) / Double(p.inputBytesTotal) : nil
                progress(Progress(fraction: fraction, message: message))
            }
        } catch let error as PrepareDataError {
            throw Failure(description: error.description)
        } catch let error as GPT2TokenizerError {
            throw Failure(description: error.description)
        }
    }

    static func describe(_ s: PrepareDataSummary) -> String {
        var lines = ["prepared \(s.documents) documents from \(s.lines) lines in \(ProgressFormat.duration(s.elapsedSeconds))"
                     + (s.emptyDocuments > 0 ? " (\(s.emptyDocuments) empty)" : "")]
        for output in s.outputs {
            lines.append("  \(output.key): \(output.sequences) sequences, \(output.tokens) tokens → \(output.bin.path), \(output.idx.lastPathComponent)")
        }
        let skipped = s.skippedLines.values.reduce(0, +)
        if skipped > 0 {
            lines.append("  skipped \(skipped) bad line\(skipped == 1 ? "" : "s"): "
                         + s.skippedLines.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", "))
            for example in s.skippedExamples.prefix(5) { lines.append("    e.g. \(example)") }
        }
        return lines.joined(separator: "\n")
    }
}
