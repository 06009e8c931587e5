import CCRC32C
import Testing

/// CRC-32C as the record batch uses it. Vectors: the common "check" value, and RFC 3720
/// (iSCSI) appendix B.4. The hardware path (SSE4.2 / ARMv8) and the table path must agree
/// on every alignment and length, since a disagreement would reject valid batches.
@Suite struct CRC32CTests {
    private func crc(_ bytes: [UInt8], start: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { weir_crc32c(start, $0.baseAddress, $0.count) }
    }

    private func crcTable(_ bytes: [UInt8], start: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { weir_crc32c_sw(start, $0.baseAddress, $0.count) }
    }

    /// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
    private func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0 ..< count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return UInt8(truncatingIfNeeded: z ^ (z >> 31))
        }
    }

    @Test func knownVectors() {
        let vectors: [([UInt8], UInt32)] = [
            (Array("123456789".utf8), 0xE306_9283),
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0 ..< 32).map { UInt8($0) }, 0x46DD_794E),
            ((0 ..< 32).reversed().map { UInt8($0) }, 0x113F_DB5C),
            ([], 0),
        ]
        for (input, expected) in vectors {
            #expect(crc(input) == expected, "hardware/dispatch path, \(input.count) bytes")
            #expect(crcTable(input) == expected, "table path, \(input.count) bytes")
        }
    }

    @Test func chainingEqualsOneShot() {
        let data = noise(200, seed: 1)
        let whole = crc(data)
        for split in 0 ... data.count {
            let first = crc(Array(data[..<split]))
            #expect(crc(Array(data[split...]), start: first) == whole, "split at \(split)")
            #expect(crcTable(Array(data[split...]), start: crcTable(Array(data[..<split]))) == whole)
        }
    }

    @Test func unalignedStartsAndLengthsAgree() {
        let data = noise(300, seed: 2)
        data.withUnsafeBytes { raw in
            for offset in 0 ..< 17 {
                for length in [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 300 - offset] {
                    let pointer = raw.baseAddress! + offset
                    let hardware = weir_crc32c(0, pointer, length)
                    let table = weir_crc32c_sw(0, pointer, length)
                    #expect(hardware == table, "offset \(offset) length \(length)")
                    #expect(hardware == crcTable(Array(data[offset ..< offset + length])))
                }
            }
        }
    }

    @Test func largeBufferAgreesAndChainsByChunks() {
        let data = noise(4 << 20, seed: 3)
        let whole = crc(data)
        #expect(whole == crcTable(data))
        var running: UInt32 = 0
        data.withUnsafeBytes { raw in
            var position = 0
            var chunk = 1
            while position < raw.count {
                let length = min(chunk, raw.count - position)
                running = weir_crc32c(running, raw.baseAddress! + position, length)
                position += length
                chunk = chunk * 3 + 1 // uneven chunk sizes cross every alignment
            }
        }
        #expect(running == whole)
    }

    @Test func reportsWhichPathIsInUse() {
        #if arch(x86_64)
        // Every x86-64 CPU Weir targets has SSE4.2; if this fails, the slow path is silently in use.
        #expect(weir_crc32c_hardware() == 1)
        #else
        #expect(weir_crc32c_hardware() == 0 || weir_crc32c_hardware() == 1)
        #endif
    }
}
