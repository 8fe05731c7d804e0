internal import CHDF5

/// Creation, inspection and whole-array reads of datasets, shared by datasets and series.
extension StoreFile {
    /// Creates a dataset of `elementType` and returns its open id (the caller closes it).
    func createDataset(_ path: String, elementType: StoreElementType, shape: [Int], maxShape: [Int?],
                       options: DatasetOptions, fid: hid_t, context: HDF5Context) throws(StoreError) -> hid_t {
        guard StorePath.isValidName(path) else {
            throw context.plainError(.invalidArgument, "'\(path)' is not a valid dataset name")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw context.plainError(.invalidArgument, "shape \(shape) has a negative dimension")
        }
        try requireAbsent(path, fid: fid, context: context)
        let chunk = options.resolvedChunk(for: shape, elementSize: elementType.byteSize)
        if let level = options.deflateLevel, !(0...9).contains(level) {
            throw context.plainError(.invalidArgument, "deflate level \(level) is outside 0...9")
        }
        if let chunk {
            guard chunk.count == shape.count, !shape.isEmpty, chunk.allSatisfy({ $0 > 0 }) else {
                throw context.plainError(.invalidArgument,
                                         "chunk shape \(chunk) does not fit data shape \(shape) (same rank, > 0)")
            }
        }

        let space = try dataspace(shape: shape, maxShape: maxShape, context: context)
        defer { H5Sclose(space) }
        let dcpl = try context.check(H5Pcreate(xh5_p_dataset_create()), "create dataset properties")
        defer { H5Pclose(dcpl) }
        if let chunk {
            let dims = chunk.map { hsize_t($0) }
            try context.check(H5Pset_chunk(dcpl, Int32(dims.count), dims), "set chunk shape \(chunk)")
        }
        if let level = options.deflateLevel {
            try context.check(H5Pset_deflate(dcpl, UInt32(level)), "enable deflate level \(level)")
        }
        let lcpl = try intermediateGroupsList(context)
        defer { H5Pclose(lcpl) }
        return try context.check(H5Dcreate2(fid, path, elementType.nativeTypeID, space, lcpl, dcpl, h5Default),
                                 "create dataset")
    }

    func dataspace(shape: [Int], maxShape: [Int?], context: HDF5Context) throws(StoreError) -> hid_t {
        if shape.isEmpty { return try context.check(H5Screate(H5S_SCALAR), "create scalar dataspace") }
        let dims = shape.map { hsize_t($0) }
        let maxDims = maxShape.map { $0.map { hsize_t($0) } ?? xh5_s_unlimited() }
        return try context.check(H5Screate_simple(Int32(dims.count), dims, maxDims), "create dataspace")
    }

    func datasetInfo(dataset did: hid_t, context: HDF5Context) throws(StoreError) -> DatasetInfo {
        let type = try context.check(H5Dget_type(did), "read the dataset type")
        defer { H5Tclose(type) }
        let space = try context.check(H5Dget_space(did), "read the dataspace")
        defer { H5Sclose(space) }
        let (shape, maxShape) = try extent(of: space, context: context)
        let dcpl = try context.check(H5Dget_create_plist(did), "read creation properties")
        defer { H5Pclose(dcpl) }
        var chunk: [Int]?
        if H5Pget_layout(dcpl) == H5D_CHUNKED {
            var dims = [hsize_t](repeating: 0, count: max(shape.count, 1))
            let rank = H5Pget_chunk(dcpl, Int32(dims.count), &dims)
            if rank < 0 { throw context.error(.hdf5, "read the chunk shape") }
            chunk = dims.prefix(Int(rank)).map { Int($0) }
        }
        return DatasetInfo(elementType: StoreElementType(fileType: type), shape: shape, maxShape: maxShape,
                           chunkShape: chunk, deflateLevel: deflateLevel(dcpl))
    }

    func extent(of space: hid_t, context: HDF5Context) throws(StoreError) -> ([Int], [Int?]) {
        let rank = H5Sget_simple_extent_ndims(space)
        if rank < 0 { throw context.error(.hdf5, "read the dataspace rank") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        var maxDims = dims
        if rank > 0, H5Sget_simple_extent_dims(space, &dims, &maxDims) < 0 {
            throw context.error(.hdf5, "read the dataspace shape")
        }
        let unlimited = xh5_s_unlimited()
        return (dims.map { Int($0) }, maxDims.map { $0 == unlimited ? nil : Int($0) })
    }

    private func deflateLevel(_ dcpl: hid_t) -> Int? {
        for index in 0..<max(H5Pget_nfilters(dcpl), 0) {
            var flags: UInt32 = 0
            var count = 1
            var values: [UInt32] = [0]
            var config: UInt32 = 0
            let filter = H5Pget_filter2(dcpl, UInt32(index), &flags, &count, &values, 0, nil, &config)
            if filter == H5Z_FILTER_DEFLATE { return Int(values[0]) }
        }
        return nil
    }

    /// Reads the whole dataset at `path` as `T`, checking its element type and (when given) shape.
    func readAll<T: StoreElement>(_ path: String, as type: T.Type, expectedShape: [Int]?,
                                  fid: hid_t, context: HDF5Context) throws(StoreError) -> StoreArray<T> {
        try requireKind(.dataset, at: path, fid: fid, context: context)
        let did = try context.check(H5Dopen2(fid, path, h5Default), "open dataset")
        defer { H5Dclose(did) }
        let info = try datasetInfo(dataset: did, context: context)
        guard info.elementType == T.storeElementType else {
            let stored = info.elementType?.rawValue ?? "a non-numeric type"
            throw context.plainError(.typeMismatch, "stored as \(stored), read as \(T.storeElementType)")
        }
        if let expectedShape, expectedShape != info.shape {
            throw context.plainError(.shapeMismatch, "stored shape \(info.shape), expected \(expectedShape)")
        }
        let count = info.elementCount
        var failure: StoreError?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard count > 0 else { return }
            let all = xh5_s_all()
            if H5Dread(did, T.storeElementType.nativeTypeID, all, all, h5Default, buffer.baseAddress) < 0 {
                failure = context.error(.hdf5, "read \(count) values")
                return
            }
            initialized = count
        }
        if let failure { throw failure }
        return StoreArray(values: values, shape: info.shape)
    }
}
