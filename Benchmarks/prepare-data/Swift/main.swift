import Foundation
import XMoEData

// Usage: xmoe-bench-prepare-data GPT2_DIR INPUT OUTPUT_PREFIX WORKERS [--append-eod]
// Runs the prepare-data engine once and prints {"documents", "tokens", "seconds"} as JSON
// (seconds: whole run including loading the vocabulary, like the Python side's wall time).
let arguments = CommandLine.arguments
guard arguments.count >= 5, let workers = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: xmoe-bench-prepare-data GPT2_DIR INPUT OUTPUT_PREFIX WORKERS [--append-eod]\n".utf8))
    exit(2)
}
let start = Date()
do {
    let vocabulary = try GPT2Vocabulary(directory: URL(fileURLWithPath: arguments[1]))
    let options = PrepareDataOptions(input: URL(fileURLWithPath: arguments[2]), outputPrefix: arguments[3],
                                     appendEOD: arguments.contains("--append-eod"), workers: workers)
    let summary = try PrepareData(options: options, vocabulary: vocabulary).run()
    let seconds = Date().timeIntervalSince(start)
    print("{\"documents\": \(summary.documents), \"tokens\": \(summary.outputs[0].tokens), \"seconds\": \(seconds)}")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
