"""Kafka message schema model: parses the upstream JSON definitions into messages, structs and
fields, with every version range resolved to an explicit set of version numbers.

Version sets are finite (a message's validVersions is a small closed range), so every question
the emitters ask ("is this field present, nullable, tagged, compact in version v?") is plain set
arithmetic, and conditions are simplified against the versions that can reach that code.
"""

import json
import re

# Swift keywords that must be backticked when used as identifiers.
SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import",
    "init", "inout", "internal", "let", "open", "operator", "private", "precedencegroup",
    "protocol", "public", "rethrows", "static", "struct", "subscript", "typealias", "var",
    "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough",
    "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where", "while",
    "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true",
    "try", "some", "any",
}

# Names a nested struct may not take: Swift reserves them, or the generated code (and the
# KafkaMessage protocols) already use them inside a message's scope. A struct with such a
# name gets the suffix "Struct" (e.g. a Kafka struct "Type" becomes `TypeStruct`).
RESERVED_TYPE_NAMES = SWIFT_KEYWORDS | {
    "Type", "Protocol", "Self", "Response", "Swift", "String", "Bool", "Double", "Int8", "Int16",
    "Int32", "Int64", "UInt16", "UInt32", "ByteBuffer", "KafkaUUID", "ApiKey", "ProtocolError",
    "Array", "Optional", "Error", "Never", "Sendable", "Equatable", "ClosedRange",
}

# Fixed wire sizes of the fixed-width primitive types.
FIXED_SIZES = {"bool": 1, "int8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
               "int64": 8, "float64": 8, "uuid": 16}

SWIFT_PRIMITIVES = {
    "bool": "Bool", "int8": "Int8", "int16": "Int16", "uint16": "UInt16", "int32": "Int32",
    "uint32": "UInt32", "int64": "Int64", "float64": "Double", "string": "String",
    "bytes": "ByteBuffer", "records": "ByteBuffer", "uuid": "KafkaUUID",
}
INTEGER_RANGES = {
    "int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1), "uint16": (0, 2**16 - 1),
    "int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1), "int64": (-2**63, 2**63 - 1),
}


class SchemaError(Exception):
    pass


def load_json(path):
    """Kafka's JSON files carry whole-line `//` comments (see SOURCE.md): drop them, then parse."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if not line.lstrip().startswith("//")]
    return json.loads("".join(lines))


def parse_versions(spec, valid):
    """A version spec ("3+", "0-2", "5", "none") as the set of versions it selects within `valid`."""
    spec = spec.strip()
    if spec == "none":
        return frozenset()
    if spec.endswith("+"):
        lo = int(spec[:-1])
        return frozenset(v for v in valid if v >= lo)
    if "-" in spec:
        lo, hi = (int(x) for x in spec.split("-"))
        return frozenset(v for v in valid if lo <= v <= hi)
    return frozenset(v for v in valid if v == int(spec))


def lower_camel(name):
    return name[0].lower() + name[1:]


def swift_ident(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def parse_int(text, kind, where):
    if isinstance(text, bool):
        raise SchemaError(f"{where}: bad integer default {text!r}")
    if isinstance(text, int):
        value = text
    else:
        t = text.strip()
        neg = t.startswith("-")
        digits = t[1:] if neg else t
        if digits.lower().startswith("0x"):
            value = int(digits, 16)
        elif len(digits) > 1 and digits.startswith("0"):
            value = int(digits, 8)  # the README allows octal with a leading 0
        else:
            value = int(digits, 10)
        value = -value if neg else value
    lo, hi = INTEGER_RANGES[kind]
    if not lo <= value <= hi:
        raise SchemaError(f"{where}: default {value} out of range for {kind}")
    return value


def swift_string_literal(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class Field:
    """One field of a struct, with its version sets already intersected with its struct's context."""

    def __init__(self, spec, msg, ctx, owner):
        self.spec = spec
        self.json_name = spec["name"]
        self.name = lower_camel(spec["name"])
        self.ident = swift_ident(self.name)
        self.about = spec.get("about", "").strip()
        self.where = f"{owner}.{self.name}"
        t = spec["type"]
        self.is_array = t.startswith("[]")
        base = t[2:] if self.is_array else t
        self.base = base
        self.is_struct = base not in SWIFT_PRIMITIVES
        if self.is_array and base == "records":
            raise SchemaError(f"{self.where}: arrays of records are not supported")
        valid = msg.valid
        self.versions = parse_versions(spec["versions"], valid) & ctx
        self.nullable = parse_versions(spec.get("nullableVersions", "none"), valid)
        self.nullable_any = bool(self.nullable) or base == "records" and not self.is_array
        if self.nullable and not self.is_array and base not in ("string", "bytes", "records") and not self.is_struct:
            raise SchemaError(f"{self.where}: type {t} cannot be nullable")
        if "tag" in spec:
            self.tag = int(spec["tag"])
            self.tagged = parse_versions(spec["taggedVersions"], valid) & self.versions
            if not self.tagged <= msg.flexible:
                raise SchemaError(f"{self.where}: tagged outside flexible versions")
        else:
            if "taggedVersions" in spec:
                raise SchemaError(f"{self.where}: taggedVersions without tag")
            self.tag = None
            self.tagged = frozenset()
        self.regular = self.versions - self.tagged
        # A field-level flexibleVersions (RequestHeader.ClientId: "none") overrides the
        # message's for this field's own encoding; the struct's tagged section is unaffected.
        if "flexibleVersions" in spec:
            self.compact = parse_versions(spec["flexibleVersions"], valid)
        else:
            self.compact = msg.flexible
        self.struct = None  # resolved by Message

    # Swift type of one element (for arrays) or of the field itself.
    def element_type(self):
        if self.is_struct:
            return self.struct.swift_name
        return SWIFT_PRIMITIVES[self.base]

    def swift_type(self):
        t = self.element_type()
        if self.is_array:
            t = f"[{t}]"
        return t + "?" if self.nullable_any else t

    def default_expr(self):
        """The Swift default value: the JSON "default" if given, else Kafka's zero value."""
        d = self.spec.get("default")
        if d is not None and not (isinstance(d, str) and d == "" and self.base != "string"):
            if self.is_array or self.is_struct or self.base in ("bytes", "records", "uuid"):
                if d == "null":
                    if not self.nullable_any:
                        raise SchemaError(f"{self.where}: null default on a non-nullable field")
                    return "nil"
                raise SchemaError(f"{self.where}: unsupported default {d!r}")
            if self.base == "bool":
                if isinstance(d, bool):
                    return "true" if d else "false"
                if d not in ("true", "false"):
                    raise SchemaError(f"{self.where}: bad bool default {d!r}")
                return d
            if self.base == "string":
                if d == "null":
                    if not self.nullable_any:
                        raise SchemaError(f"{self.where}: null default on a non-nullable string")
                    return "nil"
                return swift_string_literal(d)
            if self.base == "float64":
                return repr(float(d))
            return str(parse_int(d, self.base, self.where))
        if self.nullable_any:
            return "nil"
        if self.is_array:
            return "[]"
        if self.is_struct:
            return f"{self.struct.swift_name}()"
        return {"bool": "false", "float64": "0", "string": '""', "bytes": "ByteBuffer()",
                "uuid": "KafkaUUID.zero"}.get(self.base, "0")


class Struct:
    """A Swift struct: the message itself, or a nested/common struct (flattened into the message)."""

    def __init__(self, name, swift_name, field_specs, ctx):
        self.name = name
        self.swift_name = swift_name
        self.field_specs = field_specs
        self.ctx = ctx  # versions in which this struct can be encoded
        self.fields = []


class Message:
    def __init__(self, path, file_stem):
        spec = load_json(path)
        self.file_stem = file_stem
        self.name = spec["name"]
        self.kind = spec["type"]  # request, response, header, data
        self.api_key = spec.get("apiKey")
        lo, _, hi = spec["validVersions"].partition("-")
        self.valid_lo, self.valid_hi = int(lo), int(hi or lo)
        self.valid = frozenset(range(self.valid_lo, self.valid_hi + 1))
        self.flexible = parse_versions(spec.get("flexibleVersions", "none"), self.valid)
        fv = spec.get("flexibleVersions", "none")
        self.first_flexible = None if fv == "none" else int(fv.rstrip("+").split("-")[0])
        self.common = {c["name"]: c for c in spec.get("commonStructs", [])}
        self.structs = []  # the message itself first, then nested structs depth-first
        self.root = Struct(self.name, self.name, spec["fields"], self.valid)
        self._build(self.root)

    def _nested_swift_name(self, name):
        if name in RESERVED_TYPE_NAMES or name == self.name:
            return name + "Struct"
        return name

    def _struct_specs(self, fs, base, where):
        if "fields" in fs:
            return fs["fields"]
        if base in self.common:
            return self.common[base]["fields"]
        raise SchemaError(f"{where}: unknown struct type {base}")

    def _build(self, root):
        # First the contexts: a struct's context is the union of the versions of every field
        # that holds it (a common struct may be used in several places), found by fixpoint.
        specs = {root.name: root.field_specs}
        ctx = {root.name: root.ctx}
        order = []

        def visit(name):  # depth-first, so nested structs follow their parent in the output
            order.append(name)
            for fs in specs[name]:
                base = fs["type"][2:] if fs["type"].startswith("[]") else fs["type"]
                if base in SWIFT_PRIMITIVES:
                    continue
                sub = self._struct_specs(fs, base, f"{name}.{fs['name']}")
                if base in specs:
                    if specs[base] is not sub and json.dumps(specs[base], sort_keys=True) != json.dumps(sub, sort_keys=True):
                        raise SchemaError(f"{self.name}: two different structs named {base}")
                    continue
                specs[base] = sub
                ctx[base] = frozenset()
                visit(base)

        visit(root.name)
        changed = True
        while changed:
            changed = False
            for name in order:
                for fs in specs[name]:
                    base = fs["type"][2:] if fs["type"].startswith("[]") else fs["type"]
                    if base not in ctx or base == name:
                        continue
                    grown = ctx[base] | (parse_versions(fs["versions"], self.valid) & ctx[name])
                    if grown != ctx[base]:
                        ctx[base] = grown
                        changed = True

        by_name = {root.name: root}
        for name in order[1:]:
            by_name[name] = Struct(name, self._nested_swift_name(name), specs[name], ctx[name])
        self.structs = [by_name[n] for n in order]
        for s in self.structs:
            s.fields = [Field(fs, self, s.ctx, s.swift_name) for fs in s.field_specs]
            for f in s.fields:
                if f.is_struct:
                    f.struct = by_name[f.base]

    @property
    def response_name(self):
        return self.name[: -len("Request")] + "Response"
