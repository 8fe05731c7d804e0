import Foundation
import Testing

import XMoEBase

/// ContentDigest against coreutils `sha256sum` on real files, at sizes around its 4 MiB read size.
struct ContentDigestTests {
    func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }

    @Test(arguments: [0, 1, 63, 64, 4 << 20, (4 << 20) + 3, (8 << 20) + 1])
    func fileDigestMatchesSha256sum(size: Int) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xmoe-digest-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(size)
        let bytes = (0..<size).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let ours = try ContentDigest.sha256(fileAt: path)
        let reference = try sha256sum(path)
        #expect(ours == reference)
        let inMemory = ContentDigest.sha256(of: bytes)
        #expect(inMemory == reference)
    }

    @Test func missingFileIsNamed() {
        do {
            _ = try ContentDigest.sha256(fileAt: "/nonexistent/xmoe-file")
            Issue.record("hashed a missing file")
        } catch {
            #expect("\(error)".contains("/nonexistent/xmoe-file: cannot open"))
        }
    }
}
