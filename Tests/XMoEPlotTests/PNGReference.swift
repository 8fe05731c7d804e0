import Foundation
import Testing
@testable import XMoEPlot

/// An independent PNG reader: /usr/bin/python3 with only zlib and struct. It checks the signature,
/// every chunk's CRC (zlib.crc32), IHDR, undoes all five filter types, and prints
/// "width height channels" followed by the raw pixel bytes in hex.
let pythonPNGDecoder = #"""
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
pos, idat, ihdr, types = 8, b"", None, []
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
    assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, "bad CRC in " + kind.decode()
    types.append(kind.decode())
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    if kind == b"IDAT": idat += body
    pos += 12 + length
assert types[0] == "IHDR" and types[-1] == "IEND", types
width, height, depth, ctype, comp, filt, interlace = ihdr
assert depth == 8 and ctype in (2, 6) and comp == 0 and filt == 0 and interlace == 0, ihdr
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = width * bpp
out, prev = bytearray(), bytearray(stride)
for y in range(height):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else: assert f == 0, f
    out += line
    prev = line
assert len(raw) == height * (stride + 1)
print(width, height, bpp)
print(out.hex())
"""#

/// Pixels as an independent decoder read them.
struct DecodedPNG {
    let width: Int
    let height: Int
    let channels: Int
    let bytes: [UInt8]

    func rgba(x: Int, y: Int) -> [UInt8] {
        let i = (y * width + x) * channels
        return channels == 4 ? Array(bytes[i..<(i + 4)]) : Array(bytes[i..<(i + 3)]) + [255]
    }
}

/// A fresh directory per test, removed afterwards by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("xmoe-plot-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func decodeWithPython(_ path: String) throws -> DecodedPNG {
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
    let script = directory.appendingPathComponent("decode_png.py")
    try pythonPNGDecoder.write(to: script, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = [script.path, path]
    let stdout = Pipe(), stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw DecodeFailure(message: String(decoding: errors, as: UTF8.self))
    }
    let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
    let header = lines[0].split(separator: " ").map { Int($0)! }
    let hex = Array(lines[1].utf8)
    var bytes = [UInt8]()
    bytes.reserveCapacity(hex.count / 2)
    func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
    for i in stride(from: 0, to: hex.count, by: 2) { bytes.append(nibble(hex[i]) << 4 | nibble(hex[i + 1])) }
    return DecodedPNG(width: header[0], height: header[1], channels: header[2], bytes: bytes)
}

struct DecodeFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { "python PNG decoder failed: \(message)" }
}

/// Writes `canvas` as PNG into a fresh directory and decodes it with the Python reader.
func roundTrip(_ canvas: Canvas) throws -> DecodedPNG {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("image.png").path
    try canvas.writePNG(to: path)
    return try decodeWithPython(path)
}
