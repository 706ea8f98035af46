import LaTensor

extension SafeTensorsFile {
    /// An element type as a safetensors header names it (`"F32"`, `"BF16"`, ...).
    ///
    /// The reader knows every whole-byte dtype of the format. `F16`, `BF16`, `F32` and `F64` load as `Float`
    /// or `Double`; `I64`, `I32`, `U8` and `BOOL` load as `Int`, `Int32`, `UInt8` and `Bool`. The others are
    /// validated and described but have no tensor element type. Sub-byte dtypes (`F4`, `F6_*`) are unknown.
    public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
        /// One byte per element, zero for `false`.
        case bool = "BOOL"
        /// Unsigned 8-bit integer.
        case uint8 = "U8"
        /// Signed 8-bit integer.
        case int8 = "I8"
        /// 8-bit float with 5 exponent and 2 mantissa bits.
        case float8E5M2 = "F8_E5M2"
        /// 8-bit float with 4 exponent and 3 mantissa bits.
        case float8E4M3 = "F8_E4M3"
        /// 8-bit power-of-two scale (exponent only).
        case float8E8M0 = "F8_E8M0"
        /// Signed 16-bit integer.
        case int16 = "I16"
        /// Unsigned 16-bit integer.
        case uint16 = "U16"
        /// IEEE 754 half precision.
        case float16 = "F16"
        /// bfloat16: the upper 16 bits of an IEEE 754 single.
        case bfloat16 = "BF16"
        /// Signed 32-bit integer.
        case int32 = "I32"
        /// Unsigned 32-bit integer.
        case uint32 = "U32"
        /// IEEE 754 single precision.
        case float32 = "F32"
        /// IEEE 754 double precision.
        case float64 = "F64"
        /// Signed 64-bit integer.
        case int64 = "I64"
        /// Unsigned 64-bit integer.
        case uint64 = "U64"
        /// Complex number of two IEEE 754 singles.
        case complex64 = "C64"

        /// The size of one element in bytes.
        public var byteCount: Int {
            switch self {
            case .bool, .uint8, .int8, .float8E5M2, .float8E4M3, .float8E8M0: return 1
            case .int16, .uint16, .float16, .bfloat16: return 2
            case .int32, .uint32, .float32: return 4
            case .float64, .int64, .uint64, .complex64: return 8
            }
        }

        /// Whether the reader converts this dtype to `Float` or `Double` (`F16`, `BF16`, `F32`, `F64`).
        public var isLoadableAsFloatingPoint: Bool {
            switch self {
            case .float16, .bfloat16, .float32, .float64: return true
            default: return false
            }
        }

        /// The header spelling, such as `"F32"`.
        public var description: String { rawValue }

        /// The dtype this package writes for a tensor element type.
        /// - Parameter dtype: The element type's runtime tag.
        public init(_ dtype: LaTensor.DType) {
            switch dtype {
            case .float32: self = .float32
            case .float64: self = .float64
            case .int32: self = .int32
            case .int64: self = .int64
            case .uint8: self = .uint8
            case .bool: self = .bool
            }
        }
    }
}

/// Bit-exact conversions of 16-bit float formats to `Float` (every F16 and BF16 value is exact in `Float`).
enum HalfPrecision {
    /// Widens IEEE 754 half-precision bits, keeping signed zeros, subnormals, infinities and NaN payloads.
    /// - Parameter bits: The half's bit pattern.
    @inline(__always)
    static func float(fromFloat16Bits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        if exponent == 0x1F {
            // Infinity (mantissa 0) or NaN (payload kept in the top mantissa bits).
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13))
    }

    /// Widens bfloat16 bits: they are the upper half of a `Float`'s bits.
    /// - Parameter bits: The bfloat16's bit pattern.
    @inline(__always)
    static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
