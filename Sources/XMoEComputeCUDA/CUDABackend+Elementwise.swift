import XMoECompute

// Element-wise ops, activations, softmax and the norms: one kernel launch each.
extension CUDABackend {
    private func n(_ t: Tensor) -> KernelArgument { .int64(Int64(t.count)) }
    private func i64(_ v: Int) -> KernelArgument { .int64(Int64(v)) }
    /// A backward kernel's `int overwrite`: 1 writes its gradient, 0 adds into it.
    private func flag(_ overwrite: Bool) -> KernelArgument { .int32(overwrite ? 1 : 0) }

    public func add(_ a: Tensor, _ b: Tensor, out: Tensor) {
        precondition(b.count == a.count && out.count == a.count, "add: \(a.shape) + \(b.shape) into \(out.shape)")
        context.launch("xmoe_add", .elementwise(count: a.count), [ptr(a), ptr(b), ptr(out), n(a)])
    }

    public func scale(_ x: Tensor, by alpha: Float) {
        context.launch("xmoe_scale", .elementwise(count: x.count), [ptr(x), n(x), .float(alpha)])
    }

    public func axpy(alpha: Float, x: Tensor, y: Tensor) {
        precondition(y.count == x.count, "axpy: x \(x.shape), y \(y.shape)")
        context.launch("xmoe_axpy", .elementwise(count: x.count), [.float(alpha), ptr(x), ptr(y), n(x)])
    }

    public func addBias(_ out: Tensor, bias: Tensor, biasOffset: Int, rows: Range<Int>) {
        let cols = out.columns
        precondition(rows.lowerBound >= 0 && rows.upperBound <= out.rows, "addBias: rows \(rows) outside \(out.shape)")
        precondition(biasOffset >= 0 && biasOffset + cols <= bias.count, "addBias: bias \(bias.shape) too small at offset \(biasOffset)")
        guard !rows.isEmpty, cols > 0 else { return }
        if rowsAreQuads(cols, [out]), Int(bitPattern: devicePointer(bias, elementOffset: biasOffset)) % 16 == 0 {
            return context.launch("xmoe_add_bias4", .perRow(rows: rows.count),
                                  [ptr(out), ptr(bias, biasOffset), i64(rows.lowerBound), i64(rows.count), i64(cols / 4)])
        }
        context.launch("xmoe_add_bias", .perRow(rows: rows.count),
                       [ptr(out), ptr(bias, biasOffset), i64(rows.lowerBound), i64(rows.count), i64(cols)])
    }

    public func sumRows(_ x: Tensor, rows: Range<Int>, into out: Tensor, outOffset: Int) {
        let cols = x.columns
        precondition(rows.lowerBound >= 0 && rows.upperBound <= x.rows, "sumRows: rows \(rows) outside \(x.shape)")
        precondition(outOffset >= 0 && outOffset + cols <= out.count, "sumRows: out \(out.shape) too small at offset \(outOffset)")
        guard !rows.isEmpty, cols > 0 else { return }
        let chunks = LaunchShape.columnChunks(columns: cols, rows: rows.count)
        let partial = makeOutput([chunks * cols])
        precondition(x.dtype == .float32 || x.dtype == .bfloat16, "sumRows: x \(x.dtype)")
        context.launch(x.dtype == .bfloat16 ? "xmoe_sum_rows_bf16" : "xmoe_sum_rows", .columnSums(columns: cols, segments: chunks),
                       [ptr(x), i64(rows.lowerBound), i64(rows.count), i64(cols),
                        i64(LaunchShape.rowsPerChunk(rows: rows.count, chunks: chunks)), ptr(partial)])
        context.launch("xmoe_add_column_partials", .elementwise(count: cols),
                       [ptr(partial), i64(chunks), i64(cols), ptr(out, outOffset), .pointer(nil)])
    }

    public func addSegmentBias(_ out: Tensor, bias: Tensor, rowOffsets: [Int], rowCounts: [Int]) {
        let cols = out.columns
        checkSegments(rowOffsets, rowCounts, rows: out.rows, "addSegmentBias")
        precondition(bias.count == rowCounts.count * cols, "addSegmentBias: bias \(bias.shape) is not \(rowCounts.count)×\(cols)")
        guard let longest = rowCounts.max(), longest > 0 else { return }
        let (offsets, counts) = uploadSegments(rowOffsets, rowCounts)
        let quads = rowsAreQuads(cols, [out, bias])
        context.launch(quads ? "xmoe_add_segment_bias4" : "xmoe_add_segment_bias", .segmentRows(longest: longest, segments: rowCounts.count),
                       [ptr(out), ptr(bias), .pointer(offsets), .pointer(counts), i64(quads ? cols / 4 : cols)])
    }

    public func sumRowSegments(_ x: Tensor, rowOffsets: [Int], rowCounts: [Int], into out: Tensor) {
        let cols = x.columns
        checkSegments(rowOffsets, rowCounts, rows: x.rows, "sumRowSegments")
        precondition(out.count == rowCounts.count * cols, "sumRowSegments: out \(out.shape) is not \(rowCounts.count)×\(cols)")
        guard rowCounts.contains(where: { $0 > 0 }) else { return }
        precondition(x.dtype == .float32 || x.dtype == .bfloat16, "sumRowSegments: x is \(x.dtype)")
        let (offsets, counts) = uploadSegments(rowOffsets, rowCounts)
        context.launch(x.dtype == .bfloat16 ? "xmoe_sum_row_segments_bf16" : "xmoe_sum_row_segments", .columnSums(columns: cols, segments: rowCounts.count),
                       [ptr(x), .pointer(offsets), .pointer(counts), i64(cols), ptr(out)])
    }

    func checkSegments(_ offsets: [Int], _ counts: [Int], rows: Int, _ name: String) {
        precondition(offsets.count == counts.count, "\(name): \(offsets.count) offsets, \(counts.count) counts")
        for g in counts.indices {
            precondition(counts[g] >= 0 && offsets[g] >= 0 && offsets[g] + counts[g] <= rows,
                         "\(name): segment \(g) (rows \(offsets[g])..<\(offsets[g] + counts[g])) outside \(rows) rows")
        }
    }

    /// The segments as two int32 device arrays (offsets, counts) in the scratch block.
    private func uploadSegments(_ offsets: [Int], _ counts: [Int]) -> (UnsafeMutableRawPointer, UnsafeMutableRawPointer) {
        let device = scratchCopy((offsets + counts).map { Int32($0) }, "row segments")
        return (device, device + 4 * offsets.count)
    }

    public func geluForward(_ x: Tensor, out: Tensor) {
        precondition(out.count == x.count && (out.dtype == .float32 || out.dtype == .bfloat16) && (x.dtype == .float32 || out.dtype == .bfloat16)
                     && (x.dtype == .float32 || x.dtype == .bfloat16),
                     "geluForward: out \(out.shape) \(out.dtype), x \(x.shape) \(x.dtype) (a bf16 x takes a bf16 out)")
        let kernel = x.dtype == .bfloat16 ? "xmoe_gelu_fwd_bf16in" : out.dtype == .bfloat16 ? "xmoe_gelu_fwd_bf16" : "xmoe_gelu_fwd"
        context.launch(kernel, .elementwise(count: x.count), [ptr(x), ptr(out), n(x)])
    }

    public func geluBackward(x: Tensor, dOut: Tensor, dX: Tensor, overwrite: Bool) {
        precondition(dOut.count == x.count && dX.count == x.count, "geluBackward: shapes \(x.shape) \(dOut.shape) \(dX.shape)")
        precondition(dX.dtype == .float32 || (dX.dtype == .bfloat16 && overwrite), "geluBackward: dX \(dX.dtype) (bf16 only written, with overwrite)")
        precondition((x.dtype == .float32 && dOut.dtype == .float32) || (x.dtype == .bfloat16 && dX.dtype == .bfloat16
                                                                            && (dOut.dtype == .float32 || dOut.dtype == .bfloat16)),
                     "geluBackward: x \(x.dtype), dOut \(dOut.dtype), dX \(dX.dtype) (a bf16 x takes a bf16 dX; a bf16 dOut a bf16 x)")
        if dX.dtype == .bfloat16 {
            let kernel = x.dtype == .float32 ? "xmoe_gelu_bwd_bf16" : dOut.dtype == .bfloat16 ? "xmoe_gelu_bwd_bf16all" : "xmoe_gelu_bwd_bf16in"
            return context.launch(kernel, .elementwise(count: x.count), [ptr(x), ptr(dOut), ptr(dX), n(x)])
        }
        context.launch("xmoe_gelu_bwd", .elementwise(count: x.count), [ptr(x), ptr(dOut), ptr(dX), n(x), flag(overwrite)])
    }

    public func siluForward(_ x: Tensor, out: Tensor) {
        precondition(out.count == x.count, "siluForward: out \(out.shape), x \(x.shape)")
        context.launch("xmoe_silu_fwd", .elementwise(count: x.count), [ptr(x), ptr(out), n(x)])
    }

    public func siluBackward(x: Tensor, dOut: Tensor, dX: Tensor) {
        precondition(dOut.count == x.count && dX.count == x.count, "siluBackward: shapes \(x.shape) \(dOut.shape) \(dX.shape)")
        context.launch("xmoe_silu_bwd", .elementwise(count: x.count), [ptr(x), ptr(dOut), ptr(dX), n(x)])
    }

    public func swigluForward(gateUp: Tensor, out: Tensor) {
        let (rows, f) = (out.rows, out.columns)
        precondition(gateUp.count == rows * 2 * f, "swigluForward: gateUp \(gateUp.shape) is not rows × 2F for out \(out.shape)")
        context.launch("xmoe_swiglu_fwd", .elementwise(count: rows * f), [ptr(gateUp), ptr(out), i64(rows), i64(f)])
    }

    public func swigluBackward(gateUp: Tensor, dOut: Tensor, dGateUp: Tensor, overwrite: Bool) {
        let (rows, f) = (dOut.rows, dOut.columns)
        precondition(gateUp.count == rows * 2 * f && dGateUp.count == rows * 2 * f, "swigluBackward: gateUp \(gateUp.shape), dOut \(dOut.shape)")
        context.launch("xmoe_swiglu_bwd", .elementwise(count: rows * f),
                       [ptr(gateUp), ptr(dOut), ptr(dGateUp), i64(rows), i64(f), flag(overwrite)])
    }

    public func softmaxForward(logits: Tensor, probs: Tensor) {
        precondition(probs.shape == logits.shape, "softmaxForward: probs \(probs.shape), logits \(logits.shape)")
        guard logits.columns > 0 else { return }
        context.launch("xmoe_softmax_fwd", .perRow(rows: logits.rows), [ptr(logits), ptr(probs), i64(logits.columns)])
    }

    public func softmaxBackward(probs: Tensor, dProbs: Tensor, dLogits: Tensor) {
        precondition(dProbs.shape == probs.shape && dLogits.shape == probs.shape, "softmaxBackward: shapes differ")
        guard probs.columns > 0 else { return }
        context.launch("xmoe_softmax_bwd", .perRow(rows: probs.rows), [ptr(probs), ptr(dProbs), ptr(dLogits), i64(probs.columns)])
    }

    public func layerNormForward(
        x: Tensor, weight: Tensor, bias: Tensor, eps: Float, out: Tensor, mean: Tensor, rstd: Tensor
    ) {
        let (rows, h) = (x.rows, x.columns)
        precondition(weight.count == h && bias.count == h && out.shape == x.shape && mean.count == rows && rstd.count == rows,
                     "layerNormForward: x \(x.shape), weight \(weight.shape), bias \(bias.shape), out \(out.shape)")
        context.launch("xmoe_layernorm_fwd", .perRow(rows: rows),
                       [ptr(x), ptr(weight), ptr(bias), .float(eps), ptr(out), ptr(mean), ptr(rstd), i64(h)])
    }

    public func layerNormBackward(
        dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor,
        dX: Tensor, dWeight: Tensor, dBias: Tensor, overwriteDX: Bool
    ) {
        let (rows, h) = (x.rows, x.columns)
        precondition(dOut.shape == x.shape && dX.shape == x.shape && dWeight.count == h && dBias.count == h,
                     "layerNormBackward: x \(x.shape), dOut \(dOut.shape), dX \(dX.shape)")
        context.launch("xmoe_layernorm_bwd_dx", .perRow(rows: rows),
                       [ptr(dOut), ptr(x), ptr(weight), ptr(mean), ptr(rstd), ptr(dX), i64(h), flag(overwriteDX)])
        guard rows > 0, h > 0 else { return }
        let chunks = LaunchShape.columnChunks(columns: h, rows: rows)
        let partial = makeOutput([2 * chunks * h])
        context.launch("xmoe_layernorm_bwd_dwdb", .columnSums(columns: h, segments: chunks),
                       [ptr(dOut), ptr(x), ptr(mean), ptr(rstd), ptr(partial), i64(rows), i64(h),
                        i64(LaunchShape.rowsPerChunk(rows: rows, chunks: chunks))])
        context.launch("xmoe_add_column_partials", .elementwise(count: h),
                       [ptr(partial), i64(chunks), i64(h), ptr(dWeight), ptr(dBias)])
    }

    public func rmsNormForward(x: Tensor, weight: Tensor, eps: Float, out: Tensor, rstd: Tensor) {
        let (rows, h) = (x.rows, x.columns)
        precondition(weight.count == h && out.shape == x.shape && rstd.count == rows, "rmsNormForward: x \(x.shape), weight \(weight.shape)")
        context.launch("xmoe_rmsnorm_fwd", .perRow(rows: rows), [ptr(x), ptr(weight), .float(eps), ptr(out), ptr(rstd), i64(h)])
    }

    public func rmsNormBackward(
        dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, dX: Tensor, dWeight: Tensor, overwriteDX: Bool
    ) {
        let (rows, h) = (x.rows, x.columns)
        precondition(dOut.shape == x.shape && dX.shape == x.shape && dWeight.count == h, "rmsNormBackward: x \(x.shape), dOut \(dOut.shape)")
        context.launch("xmoe_rmsnorm_bwd_dx", .perRow(rows: rows),
                       [ptr(dOut), ptr(x), ptr(weight), ptr(rstd), ptr(dX), i64(h), flag(overwriteDX)])
        context.launch("xmoe_rmsnorm_bwd_dw", .columnSums(columns: h), [ptr(dOut), ptr(x), ptr(rstd), ptr(dWeight), i64(rows), i64(h)])
    }

    public func adamwUpdate(
        param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: Int,
        lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, computeCopy: Tensor?
    ) {
        precondition(step >= 1, "adamwUpdate: step \(step) must be 1-based")
        precondition(grad.count == param.count && m.count == param.count && v.count == param.count, "adamwUpdate: shapes differ")
        precondition(param.dtype == .float32 && grad.dtype == .float32 && m.dtype == .float32 && v.dtype == .float32,
                     "adamwUpdate: the masters, gradients and moments are fp32")
        // Bias corrections in Double on the host, as the CPU backend computes them.
        let c1 = Float(1 - pow(Double(beta1), Double(step)))
        let c2 = Float(1 - pow(Double(beta2), Double(step)))
        let scalars: [KernelArgument] = [.float(lr), .float(beta1), .float(beta2), .float(eps), .float(weightDecay), .float(c1), .float(c2)]
        if let copy = computeCopy, copy.dtype == .bfloat16 {
            precondition(copy.count == param.count, "adamwUpdate: compute copy \(copy.shape) for \(param.count) parameters")
            if let quads = quadCount([param, grad, m, v, copy]) {
                return context.launch("xmoe_adamw4_bf16", .elementwise(count: quads),
                                      [ptr(param), ptr(grad), ptr(m), ptr(v), ptr(copy), i64(quads)] + scalars)
            }
            return context.launch("xmoe_adamw_bf16", .elementwise(count: param.count),
                                  [ptr(param), ptr(grad), ptr(m), ptr(v), ptr(copy), n(param)] + scalars)
        }
        if let quads = quadCount([param, grad, m, v]) {
            context.launch("xmoe_adamw4", .elementwise(count: quads), [ptr(param), ptr(grad), ptr(m), ptr(v), i64(quads)] + scalars)
        } else {
            context.launch("xmoe_adamw", .elementwise(count: param.count), [ptr(param), ptr(grad), ptr(m), ptr(v), n(param)] + scalars)
        }
        if let computeCopy { convert(param, to: computeCopy) }  // another compute dtype: the general convert
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CUDABackend {
    /// Whether fp32 tensors of rows `h` wide can be walked as float4s: h a multiple of 4 and every
    /// base address 16-byte aligned (so every row start is).
    func rowsAreQuads(_ h: Int, _ tensors: [Tensor]) -> Bool {
        h % 4 == 0 && tensors.allSatisfy { $0.dtype == .float32 && Int(bitPattern: devicePointer($0)) % 16 == 0 }
    }

    /// count / 4 when every tensor's count is a multiple of 4 and its address 16-byte aligned (bf16:
    /// 8-byte), so a kernel may read and write float4s; nil otherwise (the scalar kernel runs).
    func quadCount(_ tensors: [Tensor]) -> Int? {
        guard let count = tensors.first?.count, count % 4 == 0 else { return nil }
        for t in tensors {
            let alignment = 4 * t.dtype.byteSize
            guard t.count == count, Int(bitPattern: devicePointer(t)) % alignment == 0 else { return nil }
        }
        return count / 4
    }
}
