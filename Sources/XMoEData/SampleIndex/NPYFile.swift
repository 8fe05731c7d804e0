import Foundation

/// NumPy `.npy` v1.0 files for 1-D and 2-D little-endian integer arrays, the format megatron
/// caches its indices in — so megatron-core (`numpy.load`) can read ours and we can read its.
public enum NPYFile {
    public enum DType: String, Sendable {
        case int16 = "<i2", int32 = "<i4", int64 = "<i8", uint32 = "<u4", uint8 = "|u1"

        var byteWidth: Int {
            switch self {
            case .uint8: 1
            case .int16: 2
            case .int32, .uint32: 4
            case .int64: 8
            }
        }
    }

    public struct NPYError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let problem: String
        public var description: String { "\(path): \(problem)" }
    }

    /// Writes `values` (already range-checked by the caller for `dtype`) with `shape`, via a
    /// temporary name renamed into place.
    public static func write(_ values: [Int64], shape: [Int], dtype: DType, to path: String) throws {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not match \(values.count) values")
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        // magic(6) + version(2) + u16 length(2) + header + '\n' is padded to a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        appendLittleEndian(UInt16(header.utf8.count), to: &bytes)
        bytes += Array(header.utf8)
        bytes.reserveCapacity(bytes.count + values.count * dtype.byteWidth)
        switch dtype {
        case .uint8: for v in values { bytes.append(UInt8(v)) }
        case .int16: for v in values { appendLittleEndian(Int16(v), to: &bytes) }
        case .int32: for v in values { appendLittleEndian(Int32(v), to: &bytes) }
        case .uint32: for v in values { appendLittleEndian(UInt32(v), to: &bytes) }
        case .int64: for v in values { appendLittleEndian(v, to: &bytes) }
        }
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw NPYError(path: temporary, problem: "cannot write: \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            throw NPYError(path: path, problem: "cannot rename into place: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads an integer `.npy` (C order) as Int64 values and its shape.
    public static func read(_ path: String) throws -> (values: [Int64], shape: [Int], dtype: DType) {
        func fail(_ problem: String) -> NPYError { NPYError(path: path, problem: problem) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read") }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw fail("not a .npy file")
        }
        guard bytes[6] == 1 else { throw fail("unsupported .npy version \(bytes[6]).\(bytes[7])") }
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        guard bytes.count >= 10 + headerLength,
              let header = String(bytes: bytes[10..<(10 + headerLength)], encoding: .ascii) else {
            throw fail("truncated header")
        }
        guard let dtype = DType.allKnown.first(where: { header.contains("'descr': '\($0.rawValue)'") }) else {
            throw fail("unsupported dtype in header \(header)")
        }
        guard header.contains("'fortran_order': False") else { throw fail("Fortran order not supported") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw fail("no shape in header")
        }
        let shape = try header[open.upperBound..<close].split(separator: ",").map { piece -> Int in
            guard let n = Int(piece.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw fail("bad shape '\(piece)'") }
            return n
        }
        // A damaged header can claim any shape: multiply with overflow checks before comparing.
        let start = 10 + headerLength
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow, product <= bytes.count else {
                throw fail("shape \(shape) of \(dtype.rawValue) is larger than the file (\(bytes.count) bytes)")
            }
            count = product
        }
        guard bytes.count == start + count * dtype.byteWidth else {
            throw fail("data is \(bytes.count - start) bytes, shape \(shape) of \(dtype.rawValue) needs \(count * dtype.byteWidth)")
        }
        let values: [Int64] = bytes.withUnsafeBytes { raw in
            (0..<count).map { i in
                let at = start + i * dtype.byteWidth
                switch dtype {
                case .uint8: return Int64(raw[at])
                case .int16: return Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int16.self)))
                case .int32: return Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self)))
                case .uint32: return Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                case .int64: return Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self))
                }
            }
        }
        return (values, shape, dtype)
    }
}

extension NPYFile.DType {
    static let allKnown: [NPYFile.DType] = [.int16, .int32, .int64, .uint32, .uint8]
}
