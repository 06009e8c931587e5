/// Kafka's default partitioner hash for keyed records: `Utils.murmur2` (MurmurHash2, 32-bit,
/// seed 0x9747b28c) and `toPositive(hash) % partitions`. Matching it exactly is what makes a
/// key land in the same partition whichever client (Java, librdkafka's "murmur2_random", Weir)
/// produced it.
public enum Murmur2 {
    public static func hash<C: Collection>(_ data: C) -> Int32 where C.Element == UInt8 {
        let bytes = Array(data)
        let length = bytes.count
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        // Java works on signed ints; the bit patterns are the same on UInt32 with wrapping ops.
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let length4 = length / 4
        for i in 0 ..< length4 {
            let i4 = i * 4
            var k = UInt32(bytes[i4]) | UInt32(bytes[i4 + 1]) << 8 | UInt32(bytes[i4 + 2]) << 16 | UInt32(bytes[i4 + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = length & ~3
        switch length % 4 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h = h &* m
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h = h &* m
        case 1:
            h ^= UInt32(bytes[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The partition Kafka's default partitioner picks for `key` among `count` partitions.
    public static func partition<C: Collection>(forKey key: C, partitionCount count: Int32) -> Int32 where C.Element == UInt8 {
        precondition(count > 0, "partition count must be positive")
        return (hash(key) & 0x7fff_ffff) % count
    }
}
