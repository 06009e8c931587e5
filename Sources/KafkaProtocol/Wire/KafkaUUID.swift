/// Kafka's 128-bit UUID (topic IDs). All zeros is Kafka's "no UUID".
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let zero = KafkaUUID(high: 0, low: 0)

    /// A random version-4 UUID.
    public static func random() -> KafkaUUID {
        var g = SystemRandomNumberGenerator()
        let hi = (g.next() & ~UInt64(0xf000)) | 0x4000
        let lo = (g.next() & ~(UInt64(0xc) << 60)) | (UInt64(0x8) << 60)
        return KafkaUUID(high: hi, low: lo)
    }

    /// Kafka prints topic IDs as URL-safe base64 without padding (22 characters).
    public var description: String { base64 }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        return out
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { hi = hi << 8 | UInt64(b) } else { lo = lo << 8 | UInt64(b) }
        }
        self.init(high: hi, low: lo)
    }

    public var base64: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let b = bytes
        var s = ""
        var i = 0
        while i + 3 <= b.count {
            let n = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            for shift in [18, 12, 6, 0] { s.append(alphabet[Int((n >> UInt32(shift)) & 63)]) }
            i += 3
        }
        let n = UInt32(b[15]) << 16
        s.append(alphabet[Int((n >> 18) & 63)])
        s.append(alphabet[Int((n >> 12) & 63)])
        return s
    }
}
