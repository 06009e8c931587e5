import NIOCore

/// How stored record keys, values and header values are shown — one set of rules, in one place,
/// used by `weir log dump` and by the admin console's records page, so that both show bytes the
/// same way. (It lives in WeirStorage, below both the CLI and the server, for that reason.)
///
/// Text (tables, `weir log dump`): `null` for a null field; otherwise the bytes as UTF-8 text
/// where they are printable UTF-8, every other byte escaped as `\xNN` (lowercase hex): control
/// characters (tab and newline included), and bytes that are not valid UTF-8. A backslash is
/// written `\\`, so that an escape is never ambiguous.
///
/// JSON (`--json`): each field gets an encoding beside it — `utf8` (the value is the text; any
/// valid UTF-8, JSON escapes what needs escaping), `hex` (not valid UTF-8: lowercase hex of the
/// bytes) or `null` (the value is JSON null).
public enum PayloadFormatter {
    public enum Encoding: String, Sendable {
        case utf8, hex, null
    }

    /// The text form of `bytes`.
    public static func text(_ bytes: ByteBuffer?) -> String {
        guard let bytes else { return "null" }
        return text(Array(bytes.readableBytesView))
    }

    public static func text(_ bytes: [UInt8]) -> String {
        var out = ""
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if let (scalar, length) = scalar(in: bytes, at: i), isPrintable(scalar) {
                if scalar == "\\" { out += "\\\\" } else { out.unicodeScalars.append(scalar) }
                i += length
            } else {
                out += "\\x" + hexByte(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// The JSON form of `bytes`: its encoding and the string to put in the document (nil for null).
    public static func json(_ bytes: ByteBuffer?) -> (encoding: Encoding, value: String?) {
        guard let bytes else { return (.null, nil) }
        let array = Array(bytes.readableBytesView)
        if isValidUTF8(array) { return (.utf8, String(decoding: array, as: UTF8.self)) }
        return (.hex, array.map(hexByte).joined())
    }

    public static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i < bytes.count {
            guard let (_, length) = scalar(in: bytes, at: i) else { return false }
            i += length
        }
        return true
    }

    /// Not a control character (Unicode category Cc: C0, DEL, C1).
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory != .control
    }

    /// The well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF)
    /// and its length; nil when the bytes there are not one.
    static func scalar(in bytes: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let b0 = bytes[i]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        let length: Int
        var range: ClosedRange<UInt8> = 0x80...0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; range = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; range = 0x80...0x9F
        case 0xF0: length = 4; range = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; range = 0x80...0x8F
        default: return nil
        }
        guard i + length <= bytes.count, range.contains(bytes[i + 1]) else { return nil }
        var value = UInt32(b0) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for k in 1..<length {
            let b = bytes[i + k]
            guard (0x80...0xBF).contains(b) else { return nil }
            value = value << 6 | UInt32(b & 0x3F)
        }
        guard let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
