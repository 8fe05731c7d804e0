import Foundation
import XMoEStore

extension SweepTable {
    /// Writes the table to `path` atomically (temporary file, then rename), one dataset per column
    /// at the root, named as the column, in row order:
    ///
    /// - number columns: float64 `[rows]`, NaN where the value is missing;
    /// - text columns: XMoEStore has no string datasets, so uint8 `[rows, width]` holding each value's
    ///   UTF-8 bytes, NUL-padded to the longest (`width` ≥ 1); h5py: `bytes(row).rstrip(b"\0").decode()`.
    ///
    /// Each dataset carries `kind` ("number" or "text"), `units` and `column_index`; the file carries
    /// `columns` (the names in order, one per line) and `rows`.
    public func writeHDF5(path: String) throws {
        let all = columns
        do {
            try Store.writeAtomically(to: path) { file in
                try file.attributes.set("columns", .string(all.map(\.name).joined(separator: "\n")))
                try file.attributes.set("rows", .int64(Int64(rows.count)))
                for (index, column) in all.enumerated() {
                    let cells = rows.map { column.value(of: $0) }
                    let dataset: StoreDataset
                    switch column.kind {
                    case .number:
                        dataset = try file.write("/\(column.name)", cells.map(\.number), shape: [cells.count])
                    case .text:
                        let bytes = cells.map { Array($0.raw.utf8) }
                        let width = max(1, bytes.map(\.count).max() ?? 0)
                        let padded = bytes.flatMap { $0 + [UInt8](repeating: 0, count: width - $0.count) }
                        dataset = try file.write("/\(column.name)", padded, shape: [cells.count, width])
                        try dataset.attributes.set("encoding", .string("UTF-8, NUL-padded, one row per point"))
                    }
                    try dataset.attributes.set("kind", .string(column.kind == .number ? "number" : "text"))
                    try dataset.attributes.set("units", .string(column.units))
                    try dataset.attributes.set("column_index", .int64(Int64(index)))
                }
            }
        } catch {
            throw ReportError.cannotWrite(path: path, detail: "\(error)")
        }
    }
}
