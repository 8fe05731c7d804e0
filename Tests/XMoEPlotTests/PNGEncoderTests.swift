import Foundation
import Testing
@testable import XMoEPlot

@Suite struct PNGEncoderTests {
    @Test func filledRectanglesRoundTripExactly() throws {
        var canvas = Canvas(width: 37, height: 23)
        canvas.fillRect(Rect(x: 3, y: 2, width: 10, height: 7), color: Color(hex: 0x1F77B4))
        canvas.fillRect(Rect(x: 20, y: 10, width: 17, height: 13), color: Color(hex: 0xFF7F0E))
        let decoded = try roundTrip(canvas)
        #expect(decoded.width == 37 && decoded.height == 23 && decoded.channels == 3)
        for y in 0..<23 {
            for x in 0..<37 {
                let expected: [UInt8]
                if (3..<13).contains(x) && (2..<9).contains(y) { expected = [0x1F, 0x77, 0xB4, 255] }
                else if (20..<37).contains(x) && (10..<23).contains(y) { expected = [0xFF, 0x7F, 0x0E, 255] }
                else { expected = [255, 255, 255, 255] }
                #expect(decoded.rgba(x: x, y: y) == expected, "pixel (\(x), \(y))")
            }
        }
    }

    @Test func translucentCanvasIsWrittenAsRGBA() throws {
        var canvas = Canvas(width: 5, height: 4, background: Color(r: 0, g: 0, b: 0, a: 0))
        canvas.fillRect(Rect(x: 1, y: 1, width: 2, height: 2), color: Color(r: 10, g: 200, b: 30, a: 255))
        let decoded = try roundTrip(canvas)
        #expect(decoded.channels == 4)
        #expect(decoded.rgba(x: 0, y: 0) == [0, 0, 0, 0])
        #expect(decoded.rgba(x: 2, y: 2) == [10, 200, 30, 255])
    }

    @Test func noisyImageSurvivesEveryFilterChoice() throws {
        // Gradients favour Sub/Up, noise favours None: the decoder must undo whichever was chosen.
        var canvas = Canvas(width: 64, height: 48)
        var state: UInt32 = 12345
        for y in 0..<48 {
            for x in 0..<64 {
                state = state &* 1_664_525 &+ 1_013_904_223
                let i = 4 * (y * 64 + x)
                canvas.pixels[i] = y < 24 ? UInt8(x * 4) : UInt8(state >> 24)
                canvas.pixels[i + 1] = UInt8(y * 5)
                canvas.pixels[i + 2] = UInt8((state >> 16) & 0xFF)
            }
        }
        let decoded = try roundTrip(canvas)
        for y in 0..<48 {
            for x in 0..<64 {
                let i = 4 * (y * 64 + x)
                #expect(decoded.rgba(x: x, y: y) == Array(canvas.pixels[i..<(i + 4)]))
            }
        }
    }

    @Test func fileCommandRecognisesThePNG() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("chart.png").path
        try Canvas(width: 20, height: 10).writePNG(to: path)
        try Canvas(width: 30, height: 12).writePNG(to: path)  // replaces the existing file
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/file")
        process.arguments = ["-b", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let description = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(description.hasPrefix("PNG image data, 30 x 12, 8-bit/color RGB"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != "chart.png" }
        #expect(leftovers.isEmpty, "temporary files left behind: \(leftovers)")
    }

    @Test func writingIntoAMissingDirectoryThrowsNamingThePath() {
        #expect(throws: PlotError.self) { try Canvas(width: 2, height: 2).writePNG(to: "/nonexistent-dir/x.png") }
    }
}
