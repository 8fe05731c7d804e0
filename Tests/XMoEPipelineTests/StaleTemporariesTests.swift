import Foundation
import Testing

@testable import XMoEPipeline

#if canImport(Glibc)
import Glibc
#endif

/// Temporaries of dead processes are removed; those of live ones (this process, pid 1) and ordinary
/// files that merely contain ".tmp" stay.
struct StaleTemporariesTests {
    @Test func namesCarryTheWriterPID() {
        let cases: [(String, Int32?)] = [
            (".train.json.tmp-4242-123456", 4242), ("corpus_text_document.bin.tmp-17-99", 17),
            ("x-GPTSampleIndex-doc.npy.tmp-31", 31), (".step_000003.tmp-8", 8),
            ("notes.tmp", nil), ("a.tmp-", nil), ("a.tmp-12-x", nil), ("a.tmp-1-2-3", nil), ("plain.json", nil),
        ]
        for (name, pid) in cases {
            let got = StaleTemporaries.writerPID(name)
            #expect(got == pid, "\(name)")
        }
    }

    @Test func removesOnlyTemporariesOfDeadProcesses() throws {
        let dir = try TemporaryDirectory()
        // A pid that surely exited: a child that is reaped before we look.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let files = ["steps/.train.json.tmp-\(dead)-7", "cache/a.npy.tmp-\(dead)", "keep.json",
                     "steps/.live.json.tmp-\(getpid())-1", "init.json.tmp-1-5", "notes.tmp"]
        for file in files {
            let url = dir.url.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url)
        }
        let checkpoint = dir.url.appendingPathComponent("checkpoints/.step_000004.tmp-\(dead)")
        try FileManager.default.createDirectory(at: checkpoint, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: checkpoint.appendingPathComponent("rank_00000.h5"))

        let removed = StaleTemporaries.remove(under: dir.url).sorted()
        #expect(removed == ["cache/a.npy.tmp-\(dead)", "checkpoints/.step_000004.tmp-\(dead)", "steps/.train.json.tmp-\(dead)-7"])
        for file in ["keep.json", "steps/.live.json.tmp-\(getpid())-1", "init.json.tmp-1-5", "notes.tmp"] {
            #expect(FileManager.default.fileExists(atPath: dir.url.appendingPathComponent(file).path), "\(file)")
        }
    }
}
