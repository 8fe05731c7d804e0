internal import CHDF5

/// A group inside an open file, by path. Paths given to its methods are relative to the group,
/// or absolute when they start with `/`. Holds no C handle: each call opens what it needs.
public struct StoreGroup {
    public let file: StoreFile
    /// Absolute path of the group (`/` for the root).
    public let path: String

    init(file: StoreFile, path: String) {
        self.file = file
        self.path = path
    }

    func resolve(_ name: String) -> String { StorePath.resolve(name, in: path) }

    /// True when something (group or dataset) exists at `name`.
    public func exists(_ name: String) throws -> Bool {
        let target = resolve(name)
        let (context, fid) = try file.handle(object: target)
        return try file.linkExists(target, fid: fid, context: context)
    }

    /// What `name` is; throws `pathNotFound` when nothing is there.
    public func kind(of name: String) throws -> StoreObjectKind {
        let target = resolve(name)
        let (context, fid) = try file.handle(object: target)
        return try file.objectKind(target, fid: fid, context: context)
    }

    /// Creates the group `name` and any missing groups above it (like `mkdir -p`); returns the
    /// group when it already exists, and throws when a dataset is in the way.
    @discardableResult
    public func createGroup(_ name: String) throws -> StoreGroup {
        let target = resolve(name)
        let (context, fid) = try file.writableHandle(object: target)
        guard StorePath.isValidName(target) else {
            throw context.plainError(.invalidArgument, "'\(name)' is not a valid group name")
        }
        if try file.linkExists(target, fid: fid, context: context) {
            try file.requireKind(.group, at: target, fid: fid, context: context)
            return StoreGroup(file: file, path: target)
        }
        let lcpl = try file.intermediateGroupsList(context)
        defer { H5Pclose(lcpl) }
        let gid = try context.check(H5Gcreate2(fid, target, lcpl, h5Default, h5Default), "create group")
        H5Gclose(gid)
        return StoreGroup(file: file, path: target)
    }

    /// The existing group `name`.
    public func group(_ name: String) throws -> StoreGroup {
        let target = resolve(name)
        let (context, fid) = try file.handle(object: target)
        try file.requireKind(.group, at: target, fid: fid, context: context)
        return StoreGroup(file: file, path: target)
    }

    /// Names of the group's direct children (groups and datasets), in name order.
    public func children() throws -> [String] {
        let (context, fid) = try file.handle(object: path)
        try file.requireKind(.group, at: path, fid: fid, context: context)
        let gid = try context.check(H5Gopen2(fid, path, h5Default), "open group")
        defer { H5Gclose(gid) }
        var info = H5G_info_t()
        try context.check(H5Gget_info(gid, &info), "read group info")
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(gid, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, h5Default)
            if length < 0 { throw context.error(.hdf5, "read the name of child \(index)") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            let written = H5Lget_name_by_idx(gid, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer,
                                             buffer.count, h5Default)
            if written < 0 { throw context.error(.hdf5, "read the name of child \(index)") }
            names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Unlinks `name` (a group with everything under it, or a dataset). HDF5 does not reclaim
    /// the space inside the file; rewrite the file to shrink it.
    public func remove(_ name: String) throws {
        let target = resolve(name)
        let (context, fid) = try file.writableHandle(object: target)
        guard try file.linkExists(target, fid: fid, context: context) else {
            throw context.plainError(.pathNotFound, "nothing at \(target) to remove")
        }
        try context.check(H5Ldelete(fid, target, h5Default), "remove")
    }

    /// Attributes of this group (on `/`, the file's attributes).
    public var attributes: StoreAttributes { StoreAttributes(file: file, objectPath: path) }
}

/// The same operations, addressed from the file (paths relative to `/`).
extension StoreFile {
    public func exists(_ path: String) throws -> Bool { try root.exists(path) }
    @discardableResult
    public func createGroup(_ path: String) throws -> StoreGroup { try root.createGroup(path) }
    public func group(_ path: String) throws -> StoreGroup { try root.group(path) }
    /// The file's own attributes (those of the root group).
    public var attributes: StoreAttributes { root.attributes }
}
