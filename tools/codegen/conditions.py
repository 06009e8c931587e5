"""Version conditions as Swift boolean expressions, simplified against a context.

`ctx` is the set of versions that can reach the code being emitted (a struct's versions, or the
branch already taken), so a field present in "0+" inside a struct only used from v3 needs no
test at all, and a field present in "3+" there needs none either.
"""


def runs(values):
    """Contiguous runs [(lo, hi), ...] of a set of ints."""
    out = []
    for v in sorted(values):
        if out and out[-1][1] == v - 1:
            out[-1][1] = v
        else:
            out.append([v, v])
    return [tuple(r) for r in out]


def cond(subset, ctx, var="version"):
    """None if `subset` covers `ctx` (always true there), "false" if it misses it, else an expression."""
    s = frozenset(subset) & frozenset(ctx)
    if s == frozenset(ctx):
        return None
    if not s:
        return "false"
    lo, hi = min(s), max(s)
    if s == frozenset(v for v in ctx if lo <= v <= hi):
        parts = []
        if lo > min(ctx):
            parts.append(f"{var} >= {lo}")
        if hi < max(ctx):
            parts.append(f"{var} <= {hi}")
        if len(parts) == 2 and lo == hi:
            return f"{var} == {lo}"
        return " && ".join(parts)
    # Not contiguous within ctx: list the runs, each bounded both ways.
    terms = []
    for a, b in runs(s):
        terms.append(f"{var} == {a}" if a == b else f"({var} >= {a} && {var} <= {b})")
    return " || ".join(terms)


def guarded(condition, body):
    """Wrap `body` lines in `if condition { }` unless the condition always holds."""
    if condition is None:
        return list(body)
    if condition == "false":
        return []
    return [f"if {condition} {{"] + ["    " + line for line in body] + ["}"]


def branches(cases, default):
    """if/else-if chain over [(condition, lines)], with `default` lines in the final else."""
    out = []
    for i, (c, body) in enumerate(cases):
        out.append(("if " if i == 0 else "} else if ") + c + " {")
        out.extend("    " + line for line in body)
    out.append("} else {")
    out.extend("    " + line for line in default)
    out.append("}")
    return out
