import KafkaProtocol

/// Topic ids in etcd values: 32 lowercase hex digits (readable with `etcdctl get`, unlike
/// Kafka's base64 form, which is what clients print).
enum KafkaUUIDText {
    static func hex(_ id: KafkaUUID) -> String {
        id.bytes.map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    static func parse(_ text: String) -> KafkaUUID? {
        let chars = Array(text.utf8)
        guard chars.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 32, by: 2) {
            guard let b = UInt8(String(decoding: chars[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(b)
        }
        return KafkaUUID(bytes: bytes)
    }
}
