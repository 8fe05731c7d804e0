extension CPUBackend {
    public func embeddingForward(tokens: Tensor, table: Tensor, out: Tensor) {
        gatherRows(table, index: tokens, into: out)
    }

    public func embeddingBackward(tokens: Tensor, dOut: Tensor, dTable: Tensor) {
        gatherRowsBackward(dDst: dOut, index: tokens, dSrc: dTable)
    }
}
