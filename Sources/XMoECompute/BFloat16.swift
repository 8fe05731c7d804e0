/// bf16 is the upper half of an fp32 bit pattern: same sign and 8-bit exponent, 7 stored mantissa
/// bits. Rounding fp32 → bf16 is to nearest, ties to an even last bit (what cuBLAS, PyTorch and the
/// CUDA backend's `xmoe_f32_to_bf16` kernel do); NaN stays a NaN (quiet, sign and top payload kept)
/// rather than rounding into infinity, which adding the rounding bias to its pattern could do.
public enum BFloat16 {
    /// The bf16 bit pattern nearest to `x`.
    @inline(__always)
    public static func bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if (b & 0x7fff_ffff) > 0x7f80_0000 { return UInt16(truncatingIfNeeded: (b | 0x0040_0000) >> 16) }
        return UInt16(truncatingIfNeeded: (b &+ 0x7fff &+ ((b >> 16) & 1)) >> 16)
    }

    /// The fp32 value of a bf16 pattern (exact: every bf16 value is an fp32 value).
    @inline(__always)
    public static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
}

/// `x` rounded to the nearest bf16 value, as an fp32 (for references and tests).
@inline(__always)
public func roundToBFloat16(_ x: Float) -> Float { BFloat16.float(BFloat16.bits(x)) }
