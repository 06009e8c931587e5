import NIOCore
import Testing
import WeirStorage

/// The one set of rules `weir log dump` and the admin console show record bytes with.
@Suite struct PayloadFormatterTests {
    @Test func textEscapesControlBytesInvalidUTF8AndBackslash() {
        #expect(PayloadFormatter.text(nil) == "null")
        #expect(PayloadFormatter.text(ByteBuffer(string: "héllo")) == "héllo")
        #expect(PayloadFormatter.text([0x61, 0x09, 0x5C, 0xFF, 0x62]) == "a\\x09\\\\\\xffb")
        // An overlong encoding of "/" and a lone surrogate are not UTF-8.
        #expect(PayloadFormatter.text([0xC0, 0xAF]) == "\\xc0\\xaf")
        #expect(PayloadFormatter.text([0xED, 0xA0, 0x80]) == "\\xed\\xa0\\x80")
    }

    @Test func jsonMarksEachFieldUtf8HexOrNull() {
        func json(_ bytes: ByteBuffer?) -> String {
            let (encoding, value) = PayloadFormatter.json(bytes)
            return "\(encoding.rawValue):\(value ?? "nil")"
        }
        #expect(json(nil) == "null:nil")
        #expect(json(ByteBuffer(string: "a\nb")) == "utf8:a\nb")
        #expect(json(ByteBuffer(bytes: [0x00, 0xFF, 0x10])) == "hex:00ff10")
        #expect(json(ByteBuffer()) == "utf8:")
    }
}
