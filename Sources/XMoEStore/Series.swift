internal import CHDF5

/// An appendable dataset with one row per step: shape `[N]` (one value per row) or `[N, W]`
/// (a fixed-width row, e.g. per-expert counts), unlimited in N and chunked along it.
/// Holds no C handle: each call opens the dataset, so the series survives reopening the file.
public struct StoreSeries<Element: StoreElement> {
    public let file: StoreFile
    public let path: String
    /// Values per row for a 2-D series; `nil` for a 1-D series.
    public let rowWidth: Int?

    private var width: Int { rowWidth ?? 1 }

    /// Number of rows stored.
    public func count() throws -> Int {
        let (context, fid) = try file.handle(object: path)
        return try withDataset(context, fid) { did throws(StoreError) in try currentRows(did, context) }
    }

    /// Appends one value to a 1-D series (or a 2-D series of width 1).
    public func append(_ value: Element) throws {
        try append(rows: [value])
    }

    /// Appends one row of exactly `rowWidth` values (one value for a 1-D series).
    public func append(row: [Element]) throws {
        guard row.count == width else {
            let (context, _) = try file.handle(object: path)
            throw context.plainError(.shapeMismatch, "a row of \(row.count) values, but the series has \(width) per row")
        }
        try append(rows: row)
    }

    /// Appends `rows.count / rowWidth` rows given row-major in one flat array.
    public func append(rows: [Element]) throws {
        let (context, fid) = try file.writableHandle(object: path)
        guard rows.count % width == 0 else {
            throw context.plainError(.shapeMismatch,
                                     "\(rows.count) values are not a whole number of rows of \(width)")
        }
        let added = rows.count / width
        guard added > 0 else { return }
        try withDataset(context, fid) { did throws(StoreError) in
            let start = try currentRows(did, context)
            let newExtent = extent(rows: start + added)
            try context.check(H5Dset_extent(did, newExtent), "extend to \(start + added) rows")
            let fileSpace = try context.check(H5Dget_space(did), "read the dataspace")
            defer { H5Sclose(fileSpace) }
            let offset = rowwise(rows: start, rest: 0)
            let block = extent(rows: added)
            try context.check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, offset, nil, block, nil),
                              "select rows \(start)..<\(start + added)")
            let memorySpace = try context.check(H5Screate_simple(Int32(block.count), block, nil), "create memory space")
            defer { H5Sclose(memorySpace) }
            let status = rows.withUnsafeBytes {
                H5Dwrite(did, Element.storeElementType.nativeTypeID, memorySpace, fileSpace, h5Default, $0.baseAddress)
            }
            try context.check(status, "write rows \(start)..<\(start + added)")
        }
    }

    /// Appends rows given one array per row.
    public func append(rows: [[Element]]) throws {
        for row in rows where row.count != width {
            let (context, _) = try file.handle(object: path)
            throw context.plainError(.shapeMismatch, "a row of \(row.count) values, but the series has \(width) per row")
        }
        try append(rows: rows.flatMap { $0 })
    }

    /// All rows, shape `[N]` or `[N, W]`.
    public func readAll() throws -> StoreArray<Element> {
        let (context, fid) = try file.handle(object: path)
        return try file.readAll(path, as: Element.self, expectedShape: nil, fid: fid, context: context)
    }

    /// All rows, one array per row.
    public func rows() throws -> [[Element]] {
        let values = try readAll().values
        return stride(from: 0, to: values.count, by: width).map { Array(values[$0..<($0 + width)]) }
    }

    /// Keeps the first `count` rows and drops the rest (on resume: rows written after the checkpoint).
    public func truncate(toCount count: Int) throws {
        let (context, fid) = try file.writableHandle(object: path)
        try withDataset(context, fid) { did throws(StoreError) in
            let current = try currentRows(did, context)
            guard (0...current).contains(count) else {
                throw context.plainError(.invalidArgument, "cannot truncate \(current) rows to \(count)")
            }
            try context.check(H5Dset_extent(did, extent(rows: count)), "truncate to \(count) rows")
        }
    }

    public var attributes: StoreAttributes { StoreAttributes(file: file, objectPath: path) }

    private func extent(rows: Int) -> [hsize_t] { rowwise(rows: rows, rest: width) }

    private func rowwise(rows: Int, rest: Int) -> [hsize_t] {
        rowWidth == nil ? [hsize_t(rows)] : [hsize_t(rows), hsize_t(rest)]
    }

    private func withDataset<R>(_ context: HDF5Context, _ fid: hid_t,
                                _ body: (hid_t) throws(StoreError) -> R) throws(StoreError) -> R {
        try file.requireKind(.dataset, at: path, fid: fid, context: context)
        let did = try context.check(H5Dopen2(fid, path, h5Default), "open series")
        defer { H5Dclose(did) }
        return try body(did)
    }

    private func currentRows(_ did: hid_t, _ context: HDF5Context) throws(StoreError) -> Int {
        let space = try context.check(H5Dget_space(did), "read the dataspace")
        defer { H5Sclose(space) }
        return try file.extent(of: space, context: context).0.first ?? 0
    }
}

extension StoreGroup {
    /// Creates an empty series `name` (missing groups above it are created): 1-D when
    /// `rowWidth` is `nil`, else `[N, rowWidth]`. `chunkRows` rows are stored per chunk.
    @discardableResult
    public func createSeries<T: StoreElement>(_ name: String, of type: T.Type, rowWidth: Int? = nil,
                                              chunkRows: Int = 256, deflateLevel: Int? = nil) throws -> StoreSeries<T> {
        let target = resolve(name)
        let (context, fid) = try file.writableHandle(object: target)
        if let rowWidth, rowWidth <= 0 {
            throw context.plainError(.invalidArgument, "row width \(rowWidth) must be positive")
        }
        guard chunkRows > 0 else { throw context.plainError(.invalidArgument, "chunkRows \(chunkRows) must be positive") }
        let shape = rowWidth.map { [0, $0] } ?? [0]
        let maxShape: [Int?] = rowWidth.map { [nil, $0] } ?? [nil]
        let chunk = rowWidth.map { [chunkRows, $0] } ?? [chunkRows]
        let did = try file.createDataset(target, elementType: T.storeElementType, shape: shape, maxShape: maxShape,
                                         options: DatasetOptions(chunkShape: chunk, deflateLevel: deflateLevel),
                                         fid: fid, context: context)
        H5Dclose(did)
        return StoreSeries(file: file, path: target, rowWidth: rowWidth)
    }

    /// The existing series `name`; throws unless it is stored as `T`, 1-D or 2-D, unlimited in rows.
    public func series<T: StoreElement>(_ name: String, of type: T.Type) throws -> StoreSeries<T> {
        let target = resolve(name)
        let info = try dataset(target).info()
        let (context, _) = try file.handle(object: target)
        guard info.elementType == T.storeElementType else {
            let stored = info.elementType?.rawValue ?? "a non-numeric type"
            throw context.plainError(.typeMismatch, "series stored as \(stored), opened as \(T.storeElementType)")
        }
        guard (1...2).contains(info.shape.count), info.maxShape.first == .some(nil) else {
            throw context.plainError(.wrongObjectKind,
                                     "shape \(info.shape) is not an appendable series (1-D or 2-D, unlimited rows)")
        }
        return StoreSeries(file: file, path: target, rowWidth: info.shape.count == 2 ? info.shape[1] : nil)
    }

    /// Opens `name` when it exists (checking its row width), else creates it.
    public func openOrCreateSeries<T: StoreElement>(_ name: String, of type: T.Type, rowWidth: Int? = nil,
                                                    chunkRows: Int = 256, deflateLevel: Int? = nil) throws -> StoreSeries<T> {
        guard try exists(name) else {
            return try createSeries(name, of: type, rowWidth: rowWidth, chunkRows: chunkRows, deflateLevel: deflateLevel)
        }
        let found = try series(name, of: type)
        guard found.rowWidth == rowWidth else {
            let (context, _) = try file.handle(object: found.path)
            throw context.plainError(.shapeMismatch, "stored row width \(found.rowWidth.map(String.init) ?? "none (1-D)"), "
                                     + "expected \(rowWidth.map(String.init) ?? "none (1-D)")")
        }
        return found
    }
}

extension StoreFile {
    @discardableResult
    public func createSeries<T: StoreElement>(_ path: String, of type: T.Type, rowWidth: Int? = nil,
                                              chunkRows: Int = 256, deflateLevel: Int? = nil) throws -> StoreSeries<T> {
        try root.createSeries(path, of: type, rowWidth: rowWidth, chunkRows: chunkRows, deflateLevel: deflateLevel)
    }

    public func series<T: StoreElement>(_ path: String, of type: T.Type) throws -> StoreSeries<T> {
        try root.series(path, of: type)
    }

    public func openOrCreateSeries<T: StoreElement>(_ path: String, of type: T.Type, rowWidth: Int? = nil,
                                                    chunkRows: Int = 256, deflateLevel: Int? = nil) throws -> StoreSeries<T> {
        try root.openOrCreateSeries(path, of: type, rowWidth: rowWidth, chunkRows: chunkRows, deflateLevel: deflateLevel)
    }
}
