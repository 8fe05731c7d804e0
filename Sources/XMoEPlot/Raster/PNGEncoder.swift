import CZlib
import Foundation

/// Encodes 8-bit RGBA or RGB images as PNG (one zlib-compressed IDAT, Up/Sub/None filter per row).
public struct PNGEncoder: Sendable {
    public enum ColorType: UInt8, Sendable {
        case rgb = 2
        case rgba = 6

        var channels: Int { self == .rgb ? 3 : 4 }
    }

    public let width: Int
    public let height: Int
    public let colorType: ColorType
    /// Row-major samples, `colorType.channels` bytes per pixel.
    public let samples: [UInt8]

    public init(width: Int, height: Int, colorType: ColorType, samples: [UInt8]) {
        precondition(samples.count == width * height * colorType.channels,
                     "PNGEncoder: \(samples.count) bytes for a \(width)x\(height) image with \(colorType.channels) channels")
        self.width = width
        self.height = height
        self.colorType = colorType
        self.samples = samples
    }

    /// An RGB encoding when the canvas is fully opaque (smaller files), RGBA otherwise.
    public init(canvas: Canvas) {
        var opaque = true
        for i in stride(from: 3, to: canvas.pixels.count, by: 4) where canvas.pixels[i] != 255 {
            opaque = false
            break
        }
        if opaque {
            var rgb = [UInt8]()
            rgb.reserveCapacity(canvas.width * canvas.height * 3)
            for i in stride(from: 0, to: canvas.pixels.count, by: 4) {
                rgb.append(canvas.pixels[i])
                rgb.append(canvas.pixels[i + 1])
                rgb.append(canvas.pixels[i + 2])
            }
            self.init(width: canvas.width, height: canvas.height, colorType: .rgb, samples: rgb)
        } else {
            self.init(width: canvas.width, height: canvas.height, colorType: .rgba, samples: canvas.pixels)
        }
    }

    public func encode() -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = [UInt8]()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, colorType.rawValue, 0, 0, 0]  // bit depth, colour type, deflate, adaptive filtering, no interlace
        Self.appendChunk("IHDR", header, to: &out)
        Self.appendChunk("IDAT", Self.deflate(filteredRows()), to: &out)
        Self.appendChunk("IEND", [], to: &out)
        return out
    }

    /// Writes the PNG to `path` through a temporary file in the same directory and a rename,
    /// so readers never see a half-written image.
    public func write(to path: String) throws {
        try PNGEncoder.writeAtomically(encode(), to: path)
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        do {
            try Data(bytes).write(to: temp)
            // rename(2) replaces an existing file atomically.
            guard rename(temp.path, url.path) == 0 else {
                throw PlotError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        } catch let error as PlotError {
            try? FileManager.default.removeItem(at: temp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw PlotError.writeFailed(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Each row gets whichever of None, Sub and Up has the smallest sum of absolute residuals
    /// (the PNG specification's recommended heuristic).
    private func filteredRows() -> [UInt8] {
        let bpp = colorType.channels, stride = width * bpp
        var out = [UInt8]()
        out.reserveCapacity(height * (stride + 1))
        var sub = [UInt8](repeating: 0, count: stride), up = sub
        for y in 0..<height {
            let row = y * stride
            var costNone = 0, costSub = 0, costUp = 0
            for i in 0..<stride {
                let raw = samples[row + i]
                let left: UInt8 = i >= bpp ? samples[row + i - bpp] : 0
                let above: UInt8 = y > 0 ? samples[row - stride + i] : 0
                sub[i] = raw &- left
                up[i] = raw &- above
                costNone += Int(Int8(bitPattern: raw).magnitude)
                costSub += Int(Int8(bitPattern: sub[i]).magnitude)
                costUp += Int(Int8(bitPattern: up[i]).magnitude)
            }
            if costUp <= costSub && costUp <= costNone {
                out.append(2)
                out += up
            } else if costSub <= costNone {
                out.append(1)
                out += sub
            } else {
                out.append(0)
                out += samples[row..<(row + stride)]
            }
        }
        return out
    }

    private static func deflate(_ input: [UInt8]) -> [UInt8] {
        var bound = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(bound))
        let status = output.withUnsafeMutableBufferPointer { dst in
            input.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &bound, src.baseAddress, uLong(input.count), 6)
            }
        }
        guard status == Z_OK else { fatalError("zlib compress2 failed (\(status)) with a compressBound-sized buffer") }
        return Array(output[0..<Int(bound)])
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        out.appendBigEndian(UInt32(data.count))
        let typeBytes = Array(type.utf8)
        var crc = crc32(0, typeBytes, uInt(typeBytes.count))
        if !data.isEmpty { crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt(data.count)) } }
        out += typeBytes
        out += data
        out.appendBigEndian(UInt32(crc))
    }
}

extension Canvas {
    public func pngData() -> [UInt8] { PNGEncoder(canvas: self).encode() }

    public func writePNG(to path: String) throws { try PNGEncoder(canvas: self).write(to: path) }
}

private extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt32) {
        append(UInt8(value >> 24))
        append(UInt8((value >> 16) & 0xFF))
        append(UInt8((value >> 8) & 0xFF))
        append(UInt8(value & 0xFF))
    }
}

public enum PlotError: Error, CustomStringConvertible {
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .writeFailed(path, reason):
            return "could not write the PNG \(path): \(reason); check that its directory exists and is writable"
        }
    }
}
