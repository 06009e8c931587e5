/// The subject of an X.509 certificate (DER) as Java's `X500Principal.getName()` prints it
/// (RFC 2253): Kafka's default principal builder makes a mutual-TLS client `User:` + this string,
/// e.g. `User:CN=alice,OU=eng,O=Weir,C=US`, so ACLs written for Kafka match unchanged.
///
/// RFC 2253, as Java forms it: RDNs in reverse order of the certificate, joined by `,`; values of
/// one multi-valued RDN joined by `+`; the attribute keywords CN, C, L, ST, O, OU, STREET, DC and
/// UID by name and every other attribute as its dotted OID with the value as `#` + the hex of its
/// DER encoding; `,+"\<>;` escaped with a backslash, as are a leading `#` or space and a
/// trailing space.
///
/// A pure parser of untrusted bytes (the certificate already verified by TLS, but the parser does
/// not rely on it): nil for anything it cannot read.
enum CertificateSubject {
    private static let keywords: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
        "2.5.4.11": "OU", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
        "0.9.2342.19200300.100.1.1": "UID",
    ]

    /// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
    /// signature, issuer, validity, subject, … }, … }
    static func rfc2253(certificateDER der: [UInt8]) -> String? {
        var top = DERReader(der[...])
        guard var cert = top.read(tag: 0x30), var tbs = cert.read(tag: 0x30) else { return nil }
        if tbs.peekTag == 0xA0 { _ = tbs.readAny() }  // version
        for _ in 0..<4 {  // serialNumber, signature, issuer, validity
            guard tbs.readAny() != nil else { return nil }
        }
        guard let subject = tbs.read(tag: 0x30) else { return nil }
        return rfc2253(name: subject)
    }

    /// Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue)
    private static func rfc2253(name: DERReader) -> String? {
        var name = name
        var rdns: [String] = []
        while !name.isAtEnd {
            guard var set = name.read(tag: 0x31) else { return nil }
            var avas: [String] = []
            while !set.isAtEnd {
                guard var ava = set.read(tag: 0x30), let oidBytes = ava.read(tag: 0x06)?.bytes,
                      let oid = objectIdentifier(oidBytes), let (tag, raw, value) = ava.readAnyWithHeader()
                else { return nil }
                if let keyword = keywords[oid], let text = string(tag: tag, value: value.bytes) {
                    avas.append("\(keyword)=\(escape(text))")
                } else {
                    avas.append("\(oid)=#" + raw.map { hex($0) }.joined())
                }
            }
            rdns.append(avas.joined(separator: "+"))
        }
        return rdns.reversed().joined(separator: ",")
    }

    private static func objectIdentifier(_ bytes: ArraySlice<UInt8>) -> String? {
        guard let first = bytes.first else { return nil }
        var parts: [UInt64] = [UInt64(min(first / 40, 2)), UInt64(first) - UInt64(min(first / 40, 2)) * 40]
        var value: UInt64 = 0
        for b in bytes.dropFirst() {
            guard value < (1 << 56) else { return nil }
            value = value << 7 | UInt64(b & 0x7F)
            if b & 0x80 == 0 {
                parts.append(value)
                value = 0
            }
        }
        return parts.map(String.init).joined(separator: ".")
    }

    /// The directory string types Java prints as text.
    private static func string(tag: UInt8, value: ArraySlice<UInt8>) -> String? {
        switch tag {
        case 0x0C, 0x13, 0x16, 0x14:  // UTF8String, PrintableString, IA5String, TeletexString
            return String(validating: value, as: UTF8.self) ?? String(decoding: value, as: Unicode.ASCII.self)
        case 0x1E:  // BMPString: UTF-16BE
            guard value.count % 2 == 0 else { return nil }
            let units = stride(from: value.startIndex, to: value.endIndex, by: 2).map { UInt16(value[$0]) << 8 | UInt16(value[$0 + 1]) }
            return String(decoding: units, as: UTF16.self)
        default:
            return nil
        }
    }

    static func escape(_ s: String) -> String {
        var out = ""
        let chars = Array(s)
        for (i, c) in chars.enumerated() {
            if ",+\"\\<>;".contains(c) || (i == 0 && (c == "#" || c == " ")) || (i == chars.count - 1 && c == " ") {
                out.append("\\")
            }
            out.append(c)
        }
        return out
    }

    private static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }
}

/// A reader of DER TLVs over a slice; every read checks bounds and returns nil past them.
struct DERReader {
    private(set) var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { bytes.isEmpty }
    var peekTag: UInt8? { bytes.first }

    mutating func read(tag: UInt8) -> DERReader? {
        guard peekTag == tag, let (_, _, value) = readAnyWithHeader() else { return nil }
        return value
    }

    mutating func readAny() -> DERReader? {
        readAnyWithHeader()?.value
    }

    /// (tag, the whole TLV, its value).
    mutating func readAnyWithHeader() -> (tag: UInt8, raw: ArraySlice<UInt8>, value: DERReader)? {
        guard bytes.count >= 2 else { return nil }
        let start = bytes.startIndex
        let tag = bytes[start]
        var index = start + 1
        var length = Int(bytes[index])
        index += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count >= 1, count <= 4, bytes.endIndex - index >= count else { return nil }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard length >= 0, bytes.endIndex - index >= length else { return nil }
        let raw = bytes[start..<(index + length)]
        let value = DERReader(bytes[index..<(index + length)])
        bytes = bytes[(index + length)...]
        return (tag, raw, value)
    }
}
