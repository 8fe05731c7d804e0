internal import CHDF5

/// The attributes of one object (group, dataset or series; on `/`, the file's).
/// Holds no C handle.
public struct StoreAttributes {
    public let file: StoreFile
    public let objectPath: String

    /// Sets `name` to `value`, replacing any attribute of that name (whatever its type).
    public func set(_ name: String, _ value: AttributeValue) throws {
        let (context, fid) = try file.writableHandle(object: objectPath)
        try withObject(context, fid) { object throws(StoreError) in
            let found = H5Aexists(object, name)
            if found < 0 { throw context.error(.hdf5, "test attribute '\(name)'") }
            if found > 0 { try context.check(H5Adelete(object, name), "replace attribute '\(name)'") }
            try AttributeCodec.write(value, name: name, on: object, context: context)
        }
    }

    /// The attribute `name`; integers of any width read as `.int64`, floats as `.double`.
    public func get(_ name: String) throws -> AttributeValue {
        let (context, fid) = try file.handle(object: objectPath)
        return try withObject(context, fid) { object throws(StoreError) in
            let found = H5Aexists(object, name)
            if found < 0 { throw context.error(.hdf5, "test attribute '\(name)'") }
            if found == 0 {
                throw context.plainError(.pathNotFound, "no attribute '\(name)' on \(objectPath)")
            }
            return try AttributeCodec.read(name: name, on: object, context: context)
        }
    }

    public func contains(_ name: String) throws -> Bool {
        let (context, fid) = try file.handle(object: objectPath)
        return try withObject(context, fid) { object throws(StoreError) in
            let found = H5Aexists(object, name)
            if found < 0 { throw context.error(.hdf5, "test attribute '\(name)'") }
            return found > 0
        }
    }

    /// Attribute names in name order.
    public func names() throws -> [String] {
        let (context, fid) = try file.handle(object: objectPath)
        return try withObject(context, fid) { object throws(StoreError) in
            var info = H5O_info_t()
            try context.check(H5Oget_info2(object, &info, UInt32(H5O_INFO_NUM_ATTRS)), "count attributes")
            var names: [String] = []
            for index in 0..<info.num_attrs {
                let length = H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, h5Default)
                if length < 0 { throw context.error(.hdf5, "read the name of attribute \(index)") }
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                if H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count,
                                      h5Default) < 0 {
                    throw context.error(.hdf5, "read the name of attribute \(index)")
                }
                names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return names
        }
    }

    public func remove(_ name: String) throws {
        let (context, fid) = try file.writableHandle(object: objectPath)
        try withObject(context, fid) { object throws(StoreError) in
            guard H5Aexists(object, name) > 0 else {
                throw context.plainError(.pathNotFound, "no attribute '\(name)' on \(objectPath)")
            }
            try context.check(H5Adelete(object, name), "remove attribute '\(name)'")
        }
    }

    // Typed reads: each throws `typeMismatch` naming the stored kind.

    public func string(_ name: String) throws -> String {
        if case .string(let value) = try get(name) { return value }
        throw try mismatch(name, expected: "string")
    }

    public func double(_ name: String) throws -> Double {
        if case .double(let value) = try get(name) { return value }
        throw try mismatch(name, expected: "double")
    }

    public func int64(_ name: String) throws -> Int64 {
        if case .int64(let value) = try get(name) { return value }
        throw try mismatch(name, expected: "int64")
    }

    public func doubles(_ name: String) throws -> [Double] {
        if case .doubles(let values) = try get(name) { return values }
        throw try mismatch(name, expected: "[double]")
    }

    public func int64s(_ name: String) throws -> [Int64] {
        if case .int64s(let values) = try get(name) { return values }
        throw try mismatch(name, expected: "[int64]")
    }

    private func mismatch(_ name: String, expected: String) throws -> StoreError {
        let stored = try get(name)
        let (context, _) = try file.handle(object: objectPath)
        return context.plainError(.typeMismatch, "attribute '\(name)' is a \(stored.kindName), read as \(expected)")
    }

    private func withObject<R>(_ context: HDF5Context, _ fid: hid_t,
                               _ body: (hid_t) throws(StoreError) -> R) throws(StoreError) -> R {
        guard try file.linkExists(objectPath, fid: fid, context: context) else {
            throw context.plainError(.pathNotFound, "nothing at \(objectPath) to hold attributes")
        }
        let object = try context.check(H5Oopen(fid, objectPath, h5Default), "open object")
        defer { H5Oclose(object) }
        return try body(object)
    }
}
