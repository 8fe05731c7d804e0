import Foundation
import Testing
@testable import XMoESpec

#if canImport(Glibc)
import Glibc
#endif

/// Fault injection at the spec level: every malformed or hostile spec is an error with a location,
/// never a trap, and never unbounded memory.
@Suite struct SpecFaultTests {
    func bytes(_ dir: SpecDirectory, _ name: String, _ data: [UInt8]) throws -> String {
        let path = dir.url.appendingPathComponent(name).path
        try Data(data).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// CRLF and lone-CR files with a duplicate key (once a trap: a range with lowerBound > upperBound)
    /// report the second occurrence at the line an editor shows, like the LF file.
    @Test(arguments: ["\n", "\r\n", "\r"])
    func duplicateKeyWithAnyLineEndingIsLocated(_ end: String) throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        let text = ["# comment", "model:", "  layers: 2", "", "  hidden: 64", "  hidden: 128", "moe:", "  top_k: 2"]
            .joined(separator: end) + end
        let path = try bytes(dir, "s.yaml", Array(text.utf8))
        let errors = dir.errors("s.yaml")
        let want = SpecLocation.file(path: path, line: 6, column: 3)
        #expect(errors.count == 1)
        #expect(errors.first?.location == want, "\(errors)")
        #expect(errors.first?.keyPath == "model.hidden")
        let message = errors.first?.message ?? ""
        #expect(message.contains("first set at \(path):5:3"), "\(message)")
    }

    /// Top-level duplicates and other errors after CRLF lines keep their line numbers too.
    @Test func crlfLinesOfOtherErrorsAreRight() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        let path = try bytes(dir, "s.yaml", Array("seed: 1\r\nmodel:\r\n  hidden: 64\r\n\r\n  heads: x\r\nseed: 2\r\n".utf8))
        let errors = dir.errors("s.yaml")
        let locations = errors.compactMap(\.location)
        #expect(locations.contains(.file(path: path, line: 6, column: 1)), "\(errors)")
        // Yams reports the top-level duplicate while composing, so the heads error is not reached; the
        // same file without the duplicate locates it on line 5.
        let path2 = try bytes(dir, "t.yaml", Array("seed: 1\r\nmodel:\r\n  hidden: 64\r\n\r\n  heads: x\r\n".utf8))
        let second = dir.errors("t.yaml")
        #expect(second.first?.location == .file(path: path2, line: 5, column: 3), "\(second)")
    }

    /// A duplicate inside a flow mapping and a document using LINE SEPARATOR as a break never trap.
    @Test func duplicatesInOddLayoutsNeverTrap() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("flow.yaml", "model: {hidden: 64, hidden: 128}\n")
        let flow = dir.errors("flow.yaml")
        #expect(flow.count == 1 && flow[0].message.hasPrefix("duplicate key") && flow[0].keyPath == "model.hidden", "\(flow)")
        try dir.write("ls.yaml", "model:\n  hidden: 64\u{2028}  hidden: 128\n")
        let separator = dir.errors("ls.yaml")
        #expect(separator.count == 1 && separator[0].message.hasPrefix("duplicate key"), "\(separator)")
    }

    /// Invalid UTF-8 in a file reached through `extends` is located in that file by line and column.
    @Test func invalidUTF8InAnExtendedFileIsLocated() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("child.yaml", "extends: base.yaml\nmodel:\n  hidden: 64\n")
        let base = try bytes(dir, "base.yaml", Array("model:\n  heads: 4\n  layers: ".utf8) + [0xC3, 0x28] + Array("\n".utf8))
        let errors = dir.errors("child.yaml")
        #expect(errors.count == 1)
        #expect(errors.first?.location == .file(path: base, line: 3, column: 11), "\(errors)")
        let says = errors.first?.message.contains("not valid UTF-8") == true
        #expect(says, "\(errors)")
    }

    /// A syntax error inside an extended file names that file, and the line where the unclosed
    /// construct began as well as where the parser noticed it.
    @Test func unclosedFlowMappingNamesWhereItBegan() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("child.yaml", "extends: base.yaml\n")
        let base = try dir.write("base.yaml", "model:\n  hidden: {a: 1\n  heads: 4\nmoe:\n  top_k: 2\n")
        let errors = dir.errors("child.yaml")
        #expect(errors.count == 1)
        #expect(errors.first?.location == .file(path: base, line: 3, column: 8), "\(errors)")
        let message = errors.first?.message ?? ""
        #expect(message.contains("flow mapping that began at \(base):2:11"), "\(message)")
        try dir.write("quote.yaml", "name: \"open\nmodel:\n  hidden: 64\n")
        let quote = dir.errors("quote.yaml").first?.message ?? ""
        #expect(quote.contains("quoted scalar that began at \(dir.url.path)/quote.yaml:1:7"), "\(quote)")
    }

    /// A directory as the spec, or as an extended file, says so (no Foundation error text).
    @Test func directoryAsSpecSaysSo() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("d.yaml"), withIntermediateDirectories: true)
        let direct = dir.errors("d.yaml")
        #expect(direct.first?.message.contains("is a directory") == true, "\(direct)")
        try dir.write("e.yaml", "seed: 3\nextends: d.yaml\n")
        let extended = dir.errors("e.yaml")
        #expect(extended.first?.location == .file(path: dir.url.path + "/e.yaml", line: 2, column: 1), "\(extended)")
        #expect(extended.first?.message.contains("is a directory") == true, "\(extended)")
    }

    /// A FIFO that never ends (a writer sending 17 MiB) is cut off at the 16 MiB bound.
    @Test func endlessFifoAsSpecIsBounded() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        let path = dir.url.appendingPathComponent("fifo.yaml").path
        #expect(mkfifo(path, 0o600) == 0)
        let writer = Thread {
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { return }
            let block = [UInt8](repeating: UInt8(ascii: "#"), count: 1 << 20)
            for _ in 0..<17 where block.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) > 0 {}
            close(fd)
        }
        signal(SIGPIPE, SIG_IGN)
        writer.start()
        let errors = dir.errors("fifo.yaml")
        #expect(errors.first?.message.contains("larger than 16 MiB") == true, "\(errors)")
        let zero = (try? ExperimentSpec.load(file: "/dev/zero")) == nil
        #expect(zero)
    }

    @Test(arguments: [
        ("..", "parent"), ("../x", "holds a '/'"), ("a/b", "holds a '/'"), ("/", "holds a '/'"), ("\"  \"", "empty after trimming"),
        ("\"a\\0b\"", "NUL"), ("\".\"", "output.dir itself"), ("\"x\\ny\"", "control character"),
        (String(repeating: "n", count: 256), "at most 255"),
    ])
    func namesThatLeaveOutputDirAreRefused(_ name: String, _ says: String) throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        let path = try dir.write("s.yaml", "seed: 1\nname: \(name)\n")
        let errors = dir.errors("s.yaml")
        #expect(errors.count == 1)
        #expect(errors.first?.location == .file(path: path, line: 2, column: 1), "\(errors)")
        #expect(errors.first?.message.contains(says) == true, "\(errors)")
        try dir.write("t.yaml", "seed: 1\nname: run-1.b\n")
        let fine = try dir.load("t.yaml")
        #expect(fine.name == "run-1.b")
    }

    /// Products of in-range values that would overflow 64-bit arithmetic downstream are refused,
    /// each at the key the user set.
    @Test(arguments: [
        (["train.iters=9223372036854775807"], "train.iters", "tokens of the whole run"),
        (["train.eval_iters=9223372036854775807"], "train.eval_iters", "tokens of one evaluation"),
        (["moe.num_experts=65536", "moe.expert_ffn_hidden=4194304", "model.hidden=1048576", "model.heads=4096", "model.layers=1024"],
         "moe.num_experts", "parameter count"),
        (["model.seq_length=1048576", "train.micro_batch=1048576", "train.global_batch=1048576"], "train.micro_batch",
         "activations of one micro-batch"),
    ])
    func overflowingProductsAreRefused(_ overrides: [String], _ key: String, _ says: String) throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "")
        let errors = dir.errors("s.yaml", overrides)
        let hit = errors.first { $0.keyPath == key }
        #expect(hit != nil, "\(errors)")
        #expect(hit?.message.contains(says) == true, "\(errors)")
        if case .override = hit?.location {} else { Issue.record("not located at an override: \(errors)") }
    }

    /// The largest run the bound allows still loads (the bound is not a range in disguise).
    @Test func largeButCountableRunsLoad() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "")
        let spec = try dir.load("s.yaml", ["train.iters=1000000000", "train.global_batch=4096", "model.seq_length=2048"])
        #expect(spec.values.int("train.iters") == 1_000_000_000)
    }

    @Test(arguments: [
        ("0,1,0", "leaves no training documents"), ("0", "must not all be zero"), ("1e308,1,1", "not a plain decimal"),
        ("1e308", "not a plain decimal"), ("-1,2", "not a plain decimal"), ("1..2,1", "not a plain decimal"),
        (String(repeating: "9", count: 400) + ",1", "too large a weight"),
        ("1" + String(repeating: "0", count: 308) + ",1" + String(repeating: "0", count: 308), "too large to add up"),
    ])
    func splitsThatRunWouldRefuseAreRefused(_ split: String, _ says: String) throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        try dir.write("s.yaml", "")
        let errors = dir.errors("s.yaml", ["data.split=\(split)"])
        #expect(errors.count == 1 && errors[0].keyPath == "data.split", "\(errors)")
        #expect(errors.first?.message.contains(says) == true, "\(errors)")
    }

    @Test func layoutReasonsAreLocatedAtTheirKey() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        let path = try dir.write("s.yaml", "moe:\n  num_experts: 8\nparallel:\n  dp: 2\n  ep: 2\n")
        let spec = try dir.load("s.yaml")
        let errors = spec.unsupportedLayoutErrors(["parallel.ep (2) must divide …", "something without a key"])
        #expect(errors.count == 2)
        let first = errors.first, second = errors.last
        #expect(first?.location == .file(path: path, line: 5, column: 3))
        #expect(first?.keyPath == "parallel.ep")
        // A reason naming no key is located at the first layout key the spec sets.
        #expect(second?.keyPath == "moe.num_experts")
        #expect(second?.location == .file(path: path, line: 2, column: 3))
        let none = spec.unsupportedLayoutErrors([])
        #expect(none.isEmpty)
    }

    @Test func sweepGridsBeyondTheLimitAreRefusedWithoutExpanding() throws {
        let dir = try SpecDirectory()
        defer { dir.cleanup() }
        let values = "[" + (1...100).map(String.init).joined(separator: ", ") + "]"
        let path = try dir.write("sweep.yaml", """
            sweep:
              name: "p{index}"
              grid:
                seed: \(values)
                train.iters: \(values)
                train.eval_iters: \(values)

            """)
        do {
            _ = try SweepSpec.load(file: path)
            Issue.record("a 10^6-point grid loaded")
        } catch let errors as SpecErrors {
            #expect(errors.errors.first?.message.contains("100·100·100 points") == true, "\(errors)")
            #expect(errors.errors.first?.keyPath == "sweep.grid")
        }
    }
}
