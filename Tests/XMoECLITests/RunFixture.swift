import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A tiny experiment (one MoE layer of width 16, 8-token sequences, 60 short documents) whose steps
/// take a fraction of a second, for the tests that rerun, change, interrupt and kill runs.
struct RunFixture {
    let dir: TemporaryDirectory

    static let documents = (0..<60).map {
        "{\"text\": \"Chapter \($0). In the beginning was the word, and the word was \($0 * 7). And it came to pass.\"}"
    }

    init(iters: Int = 6, saveInterval: Int = 3) throws {
        dir = try TemporaryDirectory()
        try dir.write("corpus.jsonl", Self.documents.joined(separator: "\n") + "\n")
        let root = XMoEBinary.repositoryRoot.path
        try dir.write("exp.yaml", """
            name: tiny
            seed: 1
            data:
              input: corpus.jsonl
              append_eod: true
              workers: 1
              vocab_file: \(root)/data/gpt2/vocab.json
              merge_file: \(root)/data/gpt2/merges.txt
              split: "90,10,0"
            model: {layers: 1, hidden: 16, heads: 2, ffn_hidden: 32, seq_length: 8}
            moe: {num_experts: 2, top_k: 1, expert_ffn_hidden: 16, dispatcher: local}
            train: {micro_batch: 1, iters: \(iters), eval_interval: 0, save_interval: \(saveInterval), threads: 1,
                    warmup_iters: 1, lr: 0.01, min_lr: 0.001}
            """)
    }

    var run: URL { dir.url.appendingPathComponent("runs/tiny") }

    func xmoe(_ arguments: [String]) throws -> CommandResult {
        try XMoEBinary.run(arguments, in: dir.url)
    }

    /// `xmoe run exp.yaml OVERRIDES`, expected to succeed.
    @discardableResult
    func train(_ overrides: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let result = try xmoe(["run", "exp.yaml"] + overrides)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)", sourceLocation: sourceLocation)
        return result
    }

    func plan(_ overrides: [String] = []) throws -> String {
        try xmoe(["plan", "--brief", "exp.yaml"] + overrides).stdout
    }

    /// A metrics series read with h5py (an independent HDF5 reader), as exact decimal text per row.
    func series(_ path: String, in file: URL? = nil) throws -> [String] {
        let url = file ?? run.appendingPathComponent("metrics.h5")
        let (output, status) = try Python.run(
            "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(' '.join(repr(float(x)) for x in f[sys.argv[2]][()]))",
            [url.path, path])
        #expect(status == 0, "h5py could not read \(path) of \(url.path)")
        return output.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }

    func status(of step: String) -> String? {
        guard let data = try? Data(contentsOf: run.appendingPathComponent("steps/\(step).json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["status"] as? String
    }

    func latestCheckpoint() -> String? {
        (try? String(contentsOf: run.appendingPathComponent("checkpoints/latest"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every file under `url` with its bytes, by relative path.
    static func snapshot(_ url: URL) -> [String: Data] {
        var files: [String: Data] = [:]
        let paths = FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []
        for path in paths {
            var isDirectory: ObjCBool = false
            let full = url.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: full.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = try? Data(contentsOf: full)
            }
        }
        return files
    }

    /// Starts `xmoe ARGUMENTS` without waiting; output goes to `log`.
    func launch(_ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: XMoEBinary.path)
        process.arguments = arguments
        process.currentDirectoryURL = dir.url
        let url = dir.url.appendingPathComponent(log)
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: dir.url.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }
}

/// Whether a process with this pid exists (and is not a zombie of ours).
func processExists(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    return !stat.contains(") Z ")
}
