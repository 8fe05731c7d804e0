// Tensors whose row count changes from step to step (the kept rows under a capacity factor) carved
// from a block of a fixed bound: the allocator then sees one size every step and a step after the
// first allocates nothing (DESIGN "Memory"). A bound equal to the rows is a plain allocation.
extension Backend {
    /// [rows, columns], not zero-filled, as the first `rows` rows of a [bound, columns] block.
    public func makeOutput(rows: Int, bound: Int, columns: Int, dtype: DType = .float32) -> Tensor {
        precondition(rows <= bound, "makeOutput: \(rows) rows above the bound \(bound)")
        let block = makeOutput([bound, columns], dtype: dtype)
        return rows == bound ? block : block.view(offset: 0, shape: [rows, columns])
    }

    /// `makeOutput(rows:bound:columns:)`, zero-filled (the whole block).
    public func makeTensor(rows: Int, bound: Int, columns: Int, dtype: DType = .float32) -> Tensor {
        precondition(rows <= bound, "makeTensor: \(rows) rows above the bound \(bound)")
        let block = makeTensor([bound, columns], dtype: dtype)
        return rows == bound ? block : block.view(offset: 0, shape: [rows, columns])
    }

    /// `converted(src, to:)` for a [rows, columns] `src`, the result carved from a [bound, columns] block.
    public func converted(_ src: Tensor, to dtype: DType, bound: Int) -> Tensor {
        if src.dtype == dtype { return src }
        let out = makeOutput(rows: src.rows, bound: max(bound, src.rows), columns: src.columns, dtype: dtype)
        convert(src, to: out)
        return out
    }
}
