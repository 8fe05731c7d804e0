import Foundation
import Testing

@testable import XMoEPipeline

#if canImport(Glibc)
import Glibc
#endif

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0.0
    func set(_ seconds: Double) { lock.lock(); value = seconds; lock.unlock() }
    func now() -> Double { lock.lock(); defer { lock.unlock() }; return value }
}

struct ProgressTests {
    private func withOutputFile(_ body: (Int32) throws -> Void) throws -> String {
        let dir = try TemporaryDirectory()
        let path = dir.url.appendingPathComponent("progress.log").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        try body(fd)
        close(fd)
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test func fileIsNotATerminalSoLinesArePlainAndThrottled() throws {
        let clock = ManualClock()
        let text = try withOutputFile { fd in
            let reporter = TerminalProgressReporter(fileDescriptor: fd, plainInterval: 10, clock: { clock.now() })
            #expect(reporter.style == .plain)
            reporter.stepStarted("prepare-data", reason: "never run")
            reporter.progress("prepare-data", fraction: 0.1, message: "10 docs")
            clock.set(5)
            reporter.progress("prepare-data", fraction: 0.2, message: "20 docs")  // within 10 s: dropped
            clock.set(10)
            reporter.progress("prepare-data", fraction: 0.5, message: "50 docs")
            clock.set(11)
            reporter.progress("prepare-data", fraction: 1, message: "100 docs")  // completion always shown
            reporter.stepFinished("prepare-data", durationSeconds: 125)
            reporter.stepSkipped("sample-index", reason: "unchanged")
            reporter.stepFailed("train", error: "boom")
            reporter.stepNotRun("report", reason: "upstream train failed")
        }
        #expect(text == """
            [prepare-data] running (never run)
            [prepare-data] 10% 10 docs
            [prepare-data] 50% 50 docs
            [prepare-data] 100% 100 docs
            [prepare-data] done in 2m05s
            [sample-index] up-to-date (unchanged)
            [train] FAILED: boom
            [report] not run: upstream train failed

            """)
    }

    @Test func redrawStyleRewritesOneLine() throws {
        let clock = ManualClock()
        let text = try withOutputFile { fd in
            let reporter = TerminalProgressReporter(fileDescriptor: fd, style: .redraw, clock: { clock.now() })
            reporter.progress("train", fraction: nil, message: "step 1")
            clock.set(1)
            reporter.progress("train", fraction: nil, message: "step 2")
            reporter.stepFinished("train", durationSeconds: 3)
        }
        let clear = "\r\u{1B}[K"
        #expect(text == "\(clear)[train] step 1\(clear)[train] step 2\(clear)[train] done in 3s\n")
    }

    /// A pseudo-terminal pair opened through /dev/ptmx (posix_openpt is not visible in Swift's Glibc).
    @Test func pseudoTerminalIsDetectedAsATerminal() throws {
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0)
        defer { close(master) }
        var unlock: Int32 = 0
        var number: Int32 = -1
        #expect(ioctl(master, UInt(0x4004_5431) /* TIOCSPTLCK */, &unlock) == 0)
        #expect(ioctl(master, UInt(0x8004_5430) /* TIOCGPTN */, &number) == 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        try #require(slave >= 0)
        defer { close(slave) }
        let reporter = TerminalProgressReporter(fileDescriptor: slave)
        #expect(reporter.style == .redraw)

        var size = winsize(ws_row: 24, ws_col: 20, ws_xpixel: 0, ws_ypixel: 0)
        #expect(ioctl(master, UInt(0x5414) /* TIOCSWINSZ */, &size) == 0)
        #expect(reporter.terminalColumns() == 20)
        reporter.progress("train", fraction: nil, message: "step 12345 loss 3.21")
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(master, &buffer, buffer.count)
        // Cut to 19 columns so the cursor never wraps onto a second row.
        #expect(String(decoding: buffer[0..<max(count, 0)], as: UTF8.self) == "\r\u{1B}[K[train] step 12345 ")
    }

    @Test func rateAndEtaFollowTheWindow() {
        var wide = RateEstimator(total: 600, window: 30)
        #expect(wide.rate == nil)
        wide.record(done: 0, at: 0)
        wide.record(done: 100, at: 10)
        wide.record(done: 300, at: 20)
        #expect(wide.rate == 15)  // 300 units over 20 s
        #expect(wide.etaSeconds == 20)  // 300 left at 15/s
        #expect(wide.fraction == 0.5)

        var narrow = RateEstimator(total: 600, window: 5)
        narrow.record(done: 0, at: 0)
        narrow.record(done: 100, at: 10)
        narrow.record(done: 300, at: 20)
        #expect(narrow.rate == 20)  // only 10 s → 20 s is in view: 200 units over 10 s
        #expect(narrow.etaSeconds == 15)

        var open = RateEstimator(total: nil)
        open.record(done: 0, at: 0)
        open.record(done: 50, at: 2)
        #expect(open.rate == 25)
        #expect(open.etaSeconds == nil)
        #expect(open.fraction == nil)
        #expect(open.summary(unit: "docs") == "25 docs/s")
        #expect(wide.summary(unit: "tokens") == "15 tokens/s, ETA 20s")
        #expect(RateEstimator(total: 10).summary(unit: "docs") == "measuring…")

        var bytes = RateEstimator(total: 3_000_000_000, window: 60)
        bytes.record(done: 0, at: 0)
        bytes.record(done: 70_000_000, at: 2)
        #expect(bytes.summary(unit: "B") == "35.0 MB/s, ETA 1m24s")  // 2.93e9 B left / 3.5e7 B/s = 83.7 s
    }

    @Test func formats() {
        #expect(ProgressFormat.duration(0.4) == "0s")
        #expect(ProgressFormat.duration(42) == "42s")
        #expect(ProgressFormat.duration(185) == "3m05s")
        #expect(ProgressFormat.duration(7380) == "2h03m")
        #expect(ProgressFormat.count(950) == "950")
        #expect(ProgressFormat.count(12_345) == "12.3k")
        #expect(ProgressFormat.count(4_500_000) == "4.50M")
        #expect(ProgressFormat.count(999_999) == "1.00M")
        #expect(ProgressFormat.bytes(512) == "512 B")
        #expect(ProgressFormat.bytes(1_500_000) == "1.50 MB")
        #expect(ProgressFormat.bytes(250_000_000_000) == "250 GB")
        #expect(ProgressFormat.percent(0.999) == "99%")
    }
}
