"""Emits Tests/KafkaProtocolTests/Generated/GeneratedRoundTripTests.swift: for every generated message and
every valid version, a sample whose present fields all hold non-default values is encoded,
decoded, compared, re-encoded to identical bytes, and every strict prefix must fail to decode
with a ProtocolError (never trap). Messages with records fields are also encoded through a
KafkaScatterWriter that keeps every records field apart, and must give the same bytes.
"""

from conditions import cond, guarded
from swift_emitter import indent, scatter_structs


def sample_fn(msg, st):
    if st is msg.root:
        return f"sample_{msg.name}"
    return f"sample_{msg.name}_{st.swift_name}"


def qualified(msg, st):
    return msg.name if st is msg.root else f"{msg.name}.{st.swift_name}"


class Samples:
    """Deterministic non-default values; a counter makes every field's value distinct, so a
    decoder that swaps two fields of the same type fails the comparison."""

    def __init__(self, msg):
        self.msg = msg
        self.k = 0

    def scalar(self, f, base):
        self.k += 1
        k = self.k
        sign = -1 if k % 2 == 0 else 1
        if base == "bool":
            return "false" if f.default_expr() == "true" else "true"
        if base == "int8":
            return str(sign * (10 + k % 100))
        if base == "int16":
            return str(sign * (1000 + k))
        if base == "uint16":
            return str(40000 + k)  # above Int16.max: catches a signed encoding
        if base == "int32":
            return str(sign * (100_000 + k))
        if base == "uint32":
            return str(3_000_000_000 + k)
        if base == "int64":
            return str(sign * (10_000_000_000 + k))  # above Int32.max
        if base == "float64":
            return f"{sign * (k + 0.25)}"
        if base == "string":
            return f'"s{k}-é✓"'
        if base in ("bytes", "records"):
            return f"ByteBuffer(bytes: [0x01, 0x{k & 0xff:02x}, 0xff])"
        if base == "uuid":
            return f"KafkaUUID(high: 0x0102_0304_0506_{k & 0xffff:04x}, low: 0x8877_6655_4433_2211)"
        return f"{sample_fn(self.msg, f.struct)}(v)"

    def value(self, f):
        if f.is_array:
            if f.is_struct:
                return f"[{self.scalar(f, f.base)}]"
            return f"[{self.scalar(f, f.base)}, {self.scalar(f, f.base)}]"
        return self.scalar(f, f.base)

    def function(self, st):
        t = qualified(self.msg, st)
        lines = [f"private func {sample_fn(self.msg, st)}(_ v: Int16) -> {t} {{", f"    var m = {t}()"]
        for f in st.fields:
            if f.versions:
                lines += indent(guarded(cond(f.versions, st.ctx, "v"), [f"m.{f.ident} = {self.value(f)}"]))
        lines += ["    return m", "}"]
        return lines


def test_name(msg):
    return msg.name[0].lower() + msg.name[1:]


def emit_tests(messages, banner):
    lines = [banner,
             "import KafkaProtocol",
             "import NIOCore",
             "import Testing",
             "",
             "/// Encodes `sample`, decodes it back and checks value, bytes and consumption; then",
             "/// checks that every strict prefix of the encoding throws instead of trapping.",
             "private func checkRoundTrip<M: KafkaMessage>(_ sample: M, version: Int16) throws {",
             "    var encoded = ByteBuffer()",
             "    sample.write(to: &encoded, version: version)",
             "    var reader = encoded",
             "    let decoded = try M(from: &reader, version: version)",
             "    #expect(reader.readableBytes == 0, \"\\(M.self) v\\(version) left \\(reader.readableBytes) bytes\")",
             "    #expect(decoded == sample, \"\\(M.self) v\\(version)\")",
             "    var again = ByteBuffer()",
             "    decoded.write(to: &again, version: version)",
             "    #expect(again == encoded, \"\\(M.self) v\\(version) re-encoding differs\")",
             "    for length in 0..<encoded.readableBytes {",
             "        var prefix = try #require(encoded.getSlice(at: encoded.readerIndex, length: length))",
             "        #expect(throws: ProtocolError.self, \"\\(M.self) v\\(version) prefix \\(length)\") {",
             "            _ = try M(from: &prefix, version: version)",
             "        }",
             "    }",
             "}",
             ""]
    scatter = {msg.name for msg in messages if msg.root in scatter_structs(msg)}
    if scatter:
        lines += [
            "/// Encodes `sample` through a KafkaScatterWriter that keeps every non-empty records field",
            "/// as a part of its own: the parts must concatenate to the ByteBuffer encoding.",
            "private func checkScatter<M: KafkaScatterEncodable>(_ sample: M, version: Int16) {",
            "    var encoded = ByteBuffer()",
            "    sample.write(to: &encoded, version: version)",
            "    var out = KafkaScatterWriter(threshold: 1)",
            "    sample.write(to: &out, version: version)",
            "    #expect(out.totalBytes == encoded.readableBytes, \"\\(M.self) v\\(version) scatter size\")",
            "    var joined = ByteBuffer()",
            "    for var part in out.finish() { joined.writeBuffer(&part) }",
            "    #expect(joined == encoded, \"\\(M.self) v\\(version) scatter bytes differ\")",
            "}",
            ""]
    lines += ["@Suite struct GeneratedRoundTripTests {"]
    for msg in messages:
        lines += [f"    @Test(arguments: {msg.name}.validVersions)",
                  f"    func {test_name(msg)}(version: Int16) throws {{",
                  f"        try checkRoundTrip({sample_fn(msg, msg.root)}(version), version: version)"]
        if msg.name in scatter:
            lines.append(f"        checkScatter({sample_fn(msg, msg.root)}(version), version: version)")
        lines += ["    }", ""]
    lines += ["    @Test func apiKeysMatchTheSchema() {"]
    for msg in messages:
        if msg.kind == "request":
            lines += [f"        #expect({msg.name}.apiKey.rawValue == {msg.api_key})",
                      f'        #expect({msg.name}.apiKey.name == "{msg.name[:-len("Request")]}")',
                      f"        #expect({msg.name}.Response.apiKey == {msg.name}.apiKey)"]
    lines += ["    }", "}"]
    for msg in messages:
        samples = Samples(msg)
        lines += ["", f"// MARK: {msg.name}"]
        for st in msg.structs:
            lines += [""] + samples.function(st)
    return "\n".join(lines) + "\n"
