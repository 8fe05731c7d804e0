import Foundation

/// What `xmoe prepare-data` does: JSON lines → GPT-2 tokens → one Megatron indexed dataset per
/// json key, `PREFIX_<key>_document.bin/.idx`, byte for byte what megatron-core's
/// `tools/preprocess_data.py --tokenizer-type GPT2BPETokenizer` writes for the same input (without
/// `--split-sentences`; a list of strings as a value is taken as pre-split sentences, as there).
///
/// Workers tokenize batches of lines in parallel, each with its own tokenizer copy; the calling
/// thread reads the input and writes results in input order, so the output does not depend on
/// the number of workers. `IndexedDatasetWriter` writes under temporary names and renames at the
/// end, so a run that fails on a bad line or a read error leaves nothing at the final names.
public struct PrepareDataOptions: Sendable {
    public var input: URL
    /// Output path prefix (`--output-prefix`).
    public var outputPrefix: String
    public var jsonKeys: [String]
    public var appendEOD: Bool
    public var workers: Int
    /// Skip (and count) lines Megatron would crash on, instead of failing at the first one.
    public var skipBadLines: Bool
    /// Bytes of input lines per batch handed to a worker.
    public var batchBytes: Int
    /// Seconds between progress callbacks.
    public var progressInterval: Double

    public init(input: URL, outputPrefix: String, jsonKeys: [String] = ["text"], appendEOD: Bool = false,
                workers: Int = 1, skipBadLines: Bool = false, batchBytes: Int = 1 << 20,
                progressInterval: Double = 1) {
        self.input = input
        self.outputPrefix = outputPrefix
        self.jsonKeys = jsonKeys
        self.appendEOD = appendEOD
        self.workers = workers
        self.skipBadLines = skipBadLines
        self.batchBytes = batchBytes
        self.progressInterval = progressInterval
    }

    /// Megatron's dataset prefix for a key: `{prefix}_{key}_document` (add `.bin` / `.idx`).
    public func outputPrefix(key: String) -> String { "\(outputPrefix)_\(key)_document" }

    public func outputURLs(key: String) -> (bin: URL, idx: URL) {
        (URL(fileURLWithPath: outputPrefix(key: key) + ".bin"), URL(fileURLWithPath: outputPrefix(key: key) + ".idx"))
    }
}

public struct PrepareDataProgress: Sendable {
    public var documents: Int
    /// Input bytes consumed so far (compressed bytes for gzip input) and the input file's size.
    public var inputBytesRead: Int
    public var inputBytesTotal: Int
    public var elapsedSeconds: Double

    public var documentsPerSecond: Double { elapsedSeconds > 0 ? Double(documents) / elapsedSeconds : 0 }
    /// Input megabytes (10^6 bytes, as on disk) per second.
    public var megabytesPerSecond: Double { elapsedSeconds > 0 ? Double(inputBytesRead) / 1e6 / elapsedSeconds : 0 }
    /// Seconds left at the rate so far; nil before anything was read.
    public var etaSeconds: Double? {
        guard inputBytesRead > 0, elapsedSeconds > 0 else { return nil }
        return Double(inputBytesTotal - inputBytesRead) / (Double(inputBytesRead) / elapsedSeconds)
    }
}

public struct PrepareDataSummary: Sendable {
    public struct Output: Sendable {
        public var key: String
        public var bin: URL
        public var idx: URL
        public var tokens: Int
        public var sequences: Int
    }

    public var lines: Int
    /// Documents written to each output (bad lines excluded; empty documents included).
    public var documents: Int
    /// Documents whose every requested text has no tokens: a document boundary, no sequences.
    public var emptyDocuments: Int
    public var skippedLines: [BadLineKind: Int]
    /// The first few skipped lines' errors, to show the user.
    public var skippedExamples: [PrepareDataError]
    public var outputs: [Output]
    public var elapsedSeconds: Double
}

public struct PrepareData: Sendable {
    public let options: PrepareDataOptions
    public let vocabulary: GPT2Vocabulary
    static let maximumSkippedExamples = 10

    public init(options: PrepareDataOptions, vocabulary: GPT2Vocabulary) throws {
        guard options.workers >= 1 else { throw PrepareDataError.invalidOptions("workers must be at least 1, got \(options.workers)") }
        guard !options.jsonKeys.isEmpty else { throw PrepareDataError.invalidOptions("give at least one json key") }
        guard Set(options.jsonKeys).count == options.jsonKeys.count else {
            throw PrepareDataError.invalidOptions("json keys repeat: \(options.jsonKeys)")
        }
        self.options = options
        self.vocabulary = vocabulary
    }

    public func run(progress: ((PrepareDataProgress) -> Void)? = nil) throws -> PrepareDataSummary {
        let start = Date()
        let reader = try JSONLinesReader(url: options.input)
        let finals = options.jsonKeys.map { options.outputURLs(key: $0) }
        var sinks: [IndexedDatasetWriter] = []
        let keys = options.jsonKeys.map { Array($0.utf8) }
        let (appendEOD, skip, vocabulary) = (options.appendEOD, options.skipBadLines, vocabulary)
        let queue = OrderedWorkQueue<JSONLinesBatch, PreparedBatch>(
            workers: options.workers,
            makeState: { GPT2Tokenizer(vocabulary: vocabulary) },
            work: { batch, tokenizer in
                PreparedBatch(batch: batch, keys: keys, appendEOD: appendEOD, stopAtFirstBadLine: !skip,
                              tokenizer: &tokenizer)
            })
        var summary = PrepareDataSummary(lines: 0, documents: 0, emptyDocuments: 0, skippedLines: [:],
                                         skippedExamples: [], outputs: [], elapsedSeconds: 0)
        var tokenCounts = Array(repeating: 0, count: keys.count)
        var sequenceCounts = Array(repeating: 0, count: keys.count)
        do {
            for key in options.jsonKeys {
                sinks.append(try IndexedDatasetWriter(prefix: options.outputPrefix(key: key),
                                                      vocabularySize: vocabulary.count))
            }
            var lastReport = Date()
            func report() {
                progress?(PrepareDataProgress(documents: summary.documents, inputBytesRead: reader.bytesRead,
                                              inputBytesTotal: reader.totalBytes,
                                              elapsedSeconds: Date().timeIntervalSince(start)))
                lastReport = Date()
            }
            func write(_ prepared: PreparedBatch) throws {
                if !skip, let (line, problem) = prepared.badLines.first {
                    throw PrepareDataError.badLine(file: reader.path, line: line, kind: problem.kind, detail: problem.detail)
                }
                for (line, problem) in prepared.badLines {
                    summary.skippedLines[problem.kind, default: 0] += 1
                    if summary.skippedExamples.count < Self.maximumSkippedExamples {
                        summary.skippedExamples.append(.badLine(file: reader.path, line: line, kind: problem.kind,
                                                                detail: problem.detail))
                    }
                }
                for k in keys.indices {
                    let output = prepared.perKey[k]
                    var tokenStart = 0, sequenceStart = 0
                    for sequences in output.sequencesPerDocument {
                        let lengths = output.sequenceLengths[sequenceStart ..< sequenceStart + Int(sequences)]
                        let tokenCount = lengths.reduce(0) { $0 + Int($1) }
                        try sinks[k].addDocument(tokens: output.tokens[tokenStart ..< tokenStart + tokenCount],
                                                 sequenceLengths: lengths)
                        tokenStart += tokenCount
                        sequenceStart += Int(sequences)
                    }
                    tokenCounts[k] += output.tokens.count
                    sequenceCounts[k] += output.sequenceLengths.count
                }
                summary.documents += prepared.documents
                summary.emptyDocuments += prepared.emptyDocuments
                if Date().timeIntervalSince(lastReport) >= options.progressInterval { report() }
            }

            let inFlightLimit = 2 * options.workers + 2
            var submitted = 0, written = 0
            while let batch = try reader.nextBatch(targetBytes: options.batchBytes) {
                summary.lines += batch.lineCount
                if submitted - written >= inFlightLimit {
                    try write(queue.output(written))
                    written += 1
                }
                queue.submit(submitted, batch)
                submitted += 1
            }
            queue.close()
            while written < submitted {
                try write(queue.output(written))
                written += 1
            }
            // Each writer renames its finished pair into place; until here nothing has a final name.
            for sink in sinks { try sink.finalize() }
            report()
        } catch {
            queue.cancelAndWait()
            sinks.removeAll()  // an unfinalized writer deletes its temporary file
            throw error
        }
        summary.outputs = options.jsonKeys.indices.map {
            .init(key: options.jsonKeys[$0], bin: finals[$0].bin, idx: finals[$0].idx,
                  tokens: tokenCounts[$0], sequences: sequenceCounts[$0])
        }
        summary.elapsedSeconds = Date().timeIntervalSince(start)
        return summary
    }
}
