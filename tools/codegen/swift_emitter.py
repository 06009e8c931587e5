"""Emits one Swift file per Kafka message: the message struct, its nested structs, and
straight-line decode/encode code for every version (no dictionaries, no existentials).
"""

from conditions import branches, cond, guarded
from schema import FIXED_SIZES

INDENT = "    "

# Readers and writers of the fixed-width primitives.
FIXED_READ = {
    "bool": "readKafkaBool()", "float64": "readKafkaFloat64()", "uuid": "readKafkaUUID()",
}
FIXED_WRITE = {
    "bool": "writeKafkaBool({v})", "float64": "writeKafkaFloat64({v})", "uuid": "writeKafkaUUID({v})",
}
INT_TYPES = {"int8": "Int8", "int16": "Int16", "uint16": "UInt16", "int32": "Int32",
             "uint32": "UInt32", "int64": "Int64"}

# Upper bound on the capacity reserved up front for arrays of strings/structs: the element
# count is already bounded by the bytes left, but one wire byte can become a large Swift
# value, so a hostile count must not turn into a huge reservation.
RESERVE_CAP = 1024


def indent(lines, n=1):
    return [(INDENT * n + line) if line else line for line in lines]


def scatter_structs(msg):
    """The structs of `msg` that hold a `records` field, directly or through nested structs:
    they also get `write(to: inout KafkaScatterWriter, version:)`. Only regular (untagged)
    fields count: a tagged value is sized in a scratch buffer first, so it is copied anyway
    (and Kafka never tags records)."""
    found = set()
    changed = True
    while changed:
        changed = False
        for st in msg.structs:
            if st in found:
                continue
            if any(f.regular and (f.base == "records" or f.is_struct and f.struct in found) for f in st.fields):
                found.add(st)
                changed = True
    return found


class StructEmitter:
    def __init__(self, msg, struct, scatter=frozenset()):
        self.msg = msg
        self.s = struct
        self.top = struct is msg.root
        self.scatter = scatter  # structs that get a KafkaScatterWriter encoder too

    # MARK: helpers

    def compact_expr(self, f, part):
        """Swift Bool expression: does `f` use compact encodings in the versions `part`?"""
        s = f.compact & part
        if s == part:
            return "true"
        if not s:
            return "false"
        if s == self.msg.flexible & part:
            return "_flexible"
        return cond(s, part)

    def label_owner(self):
        return self.msg.name if self.top else f"{self.msg.name}.{self.s.swift_name}"

    def label(self, f):
        return f"{self.label_owner()}.{f.name}"

    # MARK: decoding

    def read_scalar(self, f, base, nullable, compact, buf):
        """Expression reading one non-array value (or one array element) of type `base`."""
        if base in FIXED_READ:
            return f"try {buf}.{FIXED_READ[base]}"
        if base in INT_TYPES:
            return f'try {buf}.readKafka({INT_TYPES[base]}.self, "{self.label(f)}")'
        if base == "string":
            fn = "readKafkaNullableString" if nullable else "readKafkaString"
            return f"try {buf}.{fn}(compact: {compact})"
        if base in ("bytes", "records"):
            fn = "readKafkaNullableBytes" if nullable else "readKafkaBytes"
            return f"try {buf}.{fn}(compact: {compact})"
        return f"try {f.struct.swift_name}(from: &{buf}, version: version)"

    def read_value(self, f, part, nullable, target, buf):
        compact = self.compact_expr(f, part)
        if f.is_array:
            elem = self.read_scalar(f, f.base, False, compact, buf)
            size = FIXED_SIZES.get(f.base, 1)
            reserve = "_n" if f.base in FIXED_SIZES else f"Swift.min(_n, {RESERVE_CAP})"
            body = [
                f"if let _n = try {buf}.readKafkaArrayLength(compact: {compact}, minElementSize: {size}) {{",
                f"    var _a: [{f.element_type()}] = []",
                f"    _a.reserveCapacity({reserve})",
                f"    for _ in 0..<_n {{ _a.append({elem}) }}",
                f"    {target} = _a",
                "} else {",
                f"    {target} = nil" if nullable else f'    throw ProtocolError.invalid("{self.label(f)}: null for a non-nullable array")',
                "}",
            ]
            return body
        if f.is_struct and nullable:
            return [
                f'if try {buf}.readKafka(Int8.self, "{self.label(f)}") < 0 {{',
                f"    {target} = nil",
                "} else {",
                f"    {target} = {self.read_scalar(f, f.base, False, compact, buf)}",
                "}",
            ]
        return [f"{target} = {self.read_scalar(f, f.base, nullable, compact, buf)}"]

    def read_in(self, f, versions, target, buf):
        """Reads `f` in `versions`, splitting where nullability changes."""
        nullable = versions & f.nullable
        plain = versions - f.nullable
        if nullable and plain:
            return branches([(cond(nullable, versions), self.read_value(f, nullable, True, target, buf))],
                            self.read_value(f, plain, False, target, buf))
        return self.read_value(f, versions, bool(nullable), target, buf)

    def decoder(self):
        s, msg = self.s, self.msg
        body = []
        for f in s.fields:
            if f.regular:
                body += guarded(cond(f.regular, s.ctx), self.read_in(f, f.regular, f"self.{f.ident}", "buffer"))
        tagged_ctx = msg.flexible & s.ctx
        if tagged_ctx:
            tagged = sorted((f for f in s.fields if f.tagged), key=lambda f: f.tag)
            loop = ["let _tag = try buffer.readUnsignedVarInt()" if tagged else "_ = try buffer.readUnsignedVarInt()  // tag",
                    "let _size = Int(try buffer.readUnsignedVarInt())"]
            if tagged:
                loop += [f'guard var _field = buffer.readSlice(length: _size) else {{ throw ProtocolError.truncated("{self.label_owner()} tagged field") }}',
                         "switch _tag {"]
                for f in tagged:
                    c = cond(f.tagged, tagged_ctx)
                    loop.append(f"case {f.tag}" + (f" where {c}" if c else "") + ":")
                    loop += indent(self.read_in(f, f.tagged, f"self.{f.ident}", "_field"))
                # Unknown tags are skipped; a known tag's value is read from its own slice, so
                # a wrong size can never misalign the fields that follow.
                loop += ["default:", "    break", "}"]
            else:
                loop.append("try buffer.skipKafkaBytes(_size)")
            section = ["let _numTagged = try buffer.readUnsignedVarInt()",
                       "for _ in 0..<_numTagged {"] + indent(loop) + ["}"]
            body += guarded(cond(msg.flexible, s.ctx) and "_flexible", section)
        head = []
        if self.top:
            if msg.api_key is not None:
                err = "ProtocolError.unsupportedVersion(apiKey: Self.apiKey.rawValue, version: version)"
            else:
                err = f'ProtocolError.invalid("{s.swift_name}: unsupported version \\(version)")'
            head.append(f"guard Self.validVersions.contains(version) else {{ throw {err} }}")
        if any("_flexible" in line for line in body):
            head.append(f"let _flexible = {cond(msg.flexible, s.ctx)}")
        return ["public init(from buffer: inout ByteBuffer, version: Int16) throws {"] + indent(head + body) + ["}"]

    # MARK: encoding

    def write_scalar(self, f, base, value, compact, buf, scatter=False):
        """One value; with `scatter`, `buf` is `out.current` and records fields (and structs
        that hold them) go through the KafkaScatterWriter `out` instead."""
        if scatter and base == "records":
            return f"out.writeKafkaRecords({value}, compact: {compact})"
        if scatter and f.is_struct and f.struct in self.scatter:
            return f"{value}.write(to: &out, version: version)"
        if base in FIXED_WRITE:
            return f"{buf}.{FIXED_WRITE[base].format(v=value)}"
        if base in INT_TYPES:
            return f"{buf}.writeInteger({value})"
        if base == "string":
            return f"{buf}.writeKafkaString({value}, compact: {compact})"
        if base in ("bytes", "records"):
            return f"{buf}.writeKafkaBytes({value}, compact: {compact})"
        return f"{value}.write(to: &{buf}, version: version)"

    def write_value(self, f, part, nullable, buf, scatter=False):
        """Writes `self.f` in the versions `part`. A nil in a version where the field is not
        nullable is written as the empty value, since Kafka has no encoding for it there."""
        compact = self.compact_expr(f, part)
        value = f"self.{f.ident}"
        optional = f.nullable_any
        if f.is_array:
            elem = self.write_scalar(f, f.base, "_e", compact, buf, scatter)
            if optional and nullable:
                return [f"if let _a = {value} {{",
                        f"    {buf}.writeKafkaArrayLength(_a.count, compact: {compact})",
                        f"    for _e in _a {{ {elem} }}",
                        "} else {",
                        f"    {buf}.writeKafkaArrayLength(nil, compact: {compact})",
                        "}"]
            seq = f"({value} ?? [])" if optional else value
            return [f"{buf}.writeKafkaArrayLength({seq}.count, compact: {compact})",
                    f"for _e in {seq} {{ {elem} }}"]
        if f.is_struct:
            if optional and nullable:
                return [f"if let _s = {value} {{",
                        f"    {buf}.writeInteger(Int8(1))",
                        f"    {self.write_scalar(f, f.base, '_s', compact, buf, scatter)}",
                        "} else {",
                        f"    {buf}.writeInteger(Int8(-1))",
                        "}"]
            if optional:
                value = f"({value} ?? {f.struct.swift_name}())"
            return [self.write_scalar(f, f.base, value, compact, buf, scatter)]
        if optional and not nullable:
            value = f'({value} ?? {"ByteBuffer()" if f.base != "string" else chr(34) * 2})'
        return [self.write_scalar(f, f.base, value, compact, buf, scatter)]

    def write_in(self, f, versions, buf, scatter=False):
        nullable = versions & f.nullable
        plain = versions - f.nullable
        if nullable and plain:
            return branches([(cond(nullable, versions), self.write_value(f, nullable, True, buf, scatter))],
                            self.write_value(f, plain, False, buf, scatter))
        return self.write_value(f, versions, bool(nullable), buf, scatter)

    def non_default(self, f):
        """Expression: does the tagged field differ from its default (and so get written)?"""
        v = f"self.{f.ident}"
        d = f.default_expr()
        if d == "nil":
            return f"{v} != nil"
        if f.is_array:
            return f"!{v}.isEmpty"
        if f.base in ("bytes", "records") and d == "ByteBuffer()":
            return f"{v}.readableBytes != 0"
        return f"{v} != {d}"

    def encoder(self, scatter=False):
        """`write(to: inout ByteBuffer, version:)`, or with `scatter` its twin writing into a
        KafkaScatterWriter: the same code on `out.current`, except for records fields and the
        structs holding them. Tagged fields keep their scratch buffer either way."""
        s, msg = self.s, self.msg
        buf = "out.current" if scatter else "buffer"
        body = []
        for f in s.fields:
            if f.regular:
                body += guarded(cond(f.regular, s.ctx), self.write_in(f, f.regular, buf, scatter))
        tagged_ctx = msg.flexible & s.ctx
        if tagged_ctx:
            tagged = sorted((f for f in s.fields if f.tagged), key=lambda f: f.tag)
            section = []
            if not tagged:
                section.append(f"{buf}.writeUnsignedVarInt(0)")
            else:
                present = []
                for f in tagged:
                    c = cond(f.tagged, tagged_ctx)
                    present.append(f"{c} && {self.non_default(f)}" if c else self.non_default(f))
                section.append("var _numTagged: UInt32 = 0")
                for p in present:
                    section.append(f"if {p} {{ _numTagged += 1 }}")
                section.append(f"{buf}.writeUnsignedVarInt(_numTagged)")
                for f, p in zip(tagged, present):
                    inner = [f"{buf}.writeUnsignedVarInt({f.tag})"]
                    if f.base in FIXED_SIZES and not f.is_array:
                        inner.append(f"{buf}.writeUnsignedVarInt({FIXED_SIZES[f.base]})")
                        inner += self.write_in(f, f.tagged, buf)
                    else:
                        # The size precedes the value: encode into a scratch buffer first.
                        inner.append("var _t = ByteBuffer()")
                        inner += self.write_in(f, f.tagged, "_t")
                        inner += [f"{buf}.writeUnsignedVarInt(UInt32(_t.readableBytes))",
                                  f"{buf}.writeBuffer(&_t)"]
                    section += [f"if {p} {{"] + indent(inner) + ["}"]
            body += guarded(cond(msg.flexible, s.ctx) and "_flexible", section)
        head = []
        if any("_flexible" in line for line in body):
            head.append(f"let _flexible = {cond(msg.flexible, s.ctx)}")
        if scatter:
            sig = ["/// The bytes of `write(to: inout ByteBuffer, version:)`, large records kept as parts of their own.",
                   "public func write(to out: inout KafkaScatterWriter, version: Int16) {"]
        else:
            sig = ["public func write(to buffer: inout ByteBuffer, version: Int16) {"]
        return sig + indent(head + body) + ["}"]

    # MARK: declarations

    def properties(self):
        out = []
        for f in self.s.fields:
            if f.about:
                out.append(f"/// {f.about}")
            out.append(f"public var {f.ident}: {f.swift_type()} = {f.default_expr()}")
        return out

    def initializers(self):
        out = ["public init() {}"]
        fields = self.s.fields
        if fields:
            params = ", ".join(f"{f.ident}: {f.swift_type()} = {f.default_expr()}" for f in fields)
            out += ["", f"public init({params}) {{"]
            out += [f"    self.{f.ident} = {f.ident}" for f in fields]
            out.append("}")
        return out

    def members(self):
        out = (self.properties() + [""] + self.initializers() + [""] + self.decoder()
               + [""] + self.encoder())
        if self.s in self.scatter:
            out += [""] + self.encoder(scatter=True)
        return out


def message_doc(msg):
    valid = f"{msg.valid_lo}" if msg.valid_lo == msg.valid_hi else f"{msg.valid_lo}-{msg.valid_hi}"
    flex = f"flexible from v{msg.first_flexible}" if msg.first_flexible is not None else "no flexible versions"
    if msg.api_key is not None:
        return f"/// Kafka {msg.name} (API key {msg.api_key}), versions {valid}, {flex}."
    return f"/// Kafka {msg.name} ({msg.kind}), versions {valid}, {flex}."


def emit_message(msg, banner):
    root = msg.root
    scatter = scatter_structs(msg)
    # Messages with records fields also encode into a KafkaScatterWriter.
    extra = ", KafkaScatterEncodable" if root in scatter else ""
    lines = [banner, "import NIOCore", "", message_doc(msg)]
    if msg.kind == "request":
        lines.append(f"public struct {msg.name}: KafkaRequest{extra} {{")
        head = [f"public typealias Response = {msg.response_name}",
                f"public static let apiKey: ApiKey = .{api_case(msg.name)}"]
    elif msg.kind == "response":
        lines.append(f"public struct {msg.name}: KafkaResponse{extra} {{")
        head = [f"public static let apiKey: ApiKey = .{api_case(msg.name)}"]
    else:
        lines.append(f"public struct {msg.name}: KafkaMessage{extra} {{")
        head = []
    first = "nil" if msg.first_flexible is None else str(msg.first_flexible)
    head += [f"public static let validVersions: ClosedRange<Int16> = {msg.valid_lo}...{msg.valid_hi}",
             f"public static let firstFlexibleVersion: Int16? = {first}", ""]
    lines += indent(head + StructEmitter(msg, root, scatter).members()) + ["}"]
    for st in msg.structs[1:]:
        lines += ["", f"extension {msg.name} {{",
                  f"    public struct {st.swift_name}: Sendable, Equatable {{"]
        lines += indent(StructEmitter(msg, st, scatter).members(), 2)
        lines += ["    }", "}"]
    return "\n".join(lines) + "\n"


def api_case(message_name):
    for suffix in ("Request", "Response"):
        if message_name.endswith(suffix):
            base = message_name[: -len(suffix)]
            return base[0].lower() + base[1:]
    raise ValueError(message_name)


def emit_api_key(requests, banner):
    """`requests`: [(api_key, base_name)] sorted by key."""
    lines = [banner,
             "/// Every Kafka API key defined at this commit, whether or not Weir implements it,",
             "/// so that an unknown key can still be named in logs and errors.",
             "public enum ApiKey: Int16, Sendable, CaseIterable {"]
    for key, base in requests:
        lines.append(f"    case {base[0].lower() + base[1:]} = {key}")
    lines += ["", "    /// Kafka's name for the API, as in the protocol guide (\"ApiVersions\").",
              "    public var name: String {", "        switch self {"]
    for key, base in requests:
        lines.append(f'        case .{base[0].lower() + base[1:]}: return "{base}"')
    lines += ["        }", "    }", "}"]
    return "\n".join(lines) + "\n"
