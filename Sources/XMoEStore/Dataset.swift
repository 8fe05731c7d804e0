internal import CHDF5

/// A dataset inside an open file, by path. Holds no C handle.
public struct StoreDataset {
    public let file: StoreFile
    public let path: String

    /// Type, shape and layout as stored.
    public func info() throws -> DatasetInfo {
        let (context, fid) = try file.handle(object: path)
        try file.requireKind(.dataset, at: path, fid: fid, context: context)
        let did = try context.check(H5Dopen2(fid, path, h5Default), "open dataset")
        defer { H5Dclose(did) }
        return try file.datasetInfo(dataset: did, context: context)
    }

    /// All values, row-major. Throws `typeMismatch` unless stored as exactly `T`, and
    /// `shapeMismatch` when `shape` is given and differs from the stored shape.
    public func read<T: StoreElement>(as type: T.Type, shape: [Int]? = nil) throws -> StoreArray<T> {
        let (context, fid) = try file.handle(object: path)
        return try file.readAll(path, as: type, expectedShape: shape, fid: fid, context: context)
    }

    public var attributes: StoreAttributes { StoreAttributes(file: file, objectPath: path) }
}

extension StoreGroup {
    /// Writes a new dataset `name` (missing groups above it are created) holding `values` in
    /// row-major order with `shape` (`[]` for a scalar). Throws `alreadyExists` if `name` exists.
    @discardableResult
    public func write<T: StoreElement>(_ name: String, _ values: [T], shape: [Int],
                                       options: DatasetOptions = .contiguous) throws -> StoreDataset {
        let target = resolve(name)
        let (context, fid) = try file.writableHandle(object: target)
        let count = shape.reduce(1, *)
        guard values.count == count else {
            throw context.plainError(.shapeMismatch, "\(values.count) values do not fill shape \(shape) (\(count))")
        }
        let did = try file.createDataset(target, elementType: T.storeElementType, shape: shape,
                                         maxShape: shape, options: options, fid: fid, context: context)
        defer { H5Dclose(did) }
        if count > 0 {
            let all = xh5_s_all()
            let status = values.withUnsafeBytes {
                H5Dwrite(did, T.storeElementType.nativeTypeID, all, all, h5Default, $0.baseAddress)
            }
            try context.check(status, "write \(count) values")
        }
        return StoreDataset(file: file, path: target)
    }

    /// The existing dataset `name`.
    public func dataset(_ name: String) throws -> StoreDataset {
        let target = resolve(name)
        let (context, fid) = try file.handle(object: target)
        try file.requireKind(.dataset, at: target, fid: fid, context: context)
        return StoreDataset(file: file, path: target)
    }

    /// Reads the whole dataset `name`; see `StoreDataset.read(as:shape:)`.
    public func read<T: StoreElement>(_ name: String, as type: T.Type, shape: [Int]? = nil) throws -> StoreArray<T> {
        let target = resolve(name)
        let (context, fid) = try file.handle(object: target)
        return try file.readAll(target, as: type, expectedShape: shape, fid: fid, context: context)
    }
}

extension StoreFile {
    @discardableResult
    public func write<T: StoreElement>(_ path: String, _ values: [T], shape: [Int],
                                       options: DatasetOptions = .contiguous) throws -> StoreDataset {
        try root.write(path, values, shape: shape, options: options)
    }

    public func dataset(_ path: String) throws -> StoreDataset { try root.dataset(path) }

    public func read<T: StoreElement>(_ path: String, as type: T.Type, shape: [Int]? = nil) throws -> StoreArray<T> {
        try root.read(path, as: type, shape: shape)
    }
}
