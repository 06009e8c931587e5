#!/usr/bin/env bash
# Fails when the committed generated protocol differs from what the generator makes now.
#
#     tools/codegen/check.sh SPEC_DIR [PYTHON]      (make codegen-check)
#
# Regenerates twice into a temp directory, with two different Python hash seeds, so that output
# depending on set or dict iteration order fails too; then compares with
# Sources/KafkaProtocol/Generated and Tests/KafkaProtocolTests/Generated as they are in the
# checkout (in CI: as committed). Exit 0: identical; 1: differs (the summary says how); 2: usage.
set -euo pipefail

spec=${1:?usage: check.sh SPEC_DIR [PYTHON]}
python=${2:-python3}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for seed in 1 2; do
    PYTHONHASHSEED=$seed "$python" "$root/tools/codegen/generate.py" --spec "$spec" \
        --out "$tmp/$seed/Sources/KafkaProtocol/Generated" \
        --tests-out "$tmp/$seed/Tests/KafkaProtocolTests/Generated" >/dev/null
done

if ! diff -r "$tmp/1" "$tmp/2" >/dev/null; then
    echo "codegen-check: tools/codegen/generate.py is not deterministic (output depends on PYTHONHASHSEED):" >&2
    diff -rq "$tmp/1" "$tmp/2" | sed "s|$tmp/||g" >&2 || true
    exit 1
fi

status=0
for dir in Sources/KafkaProtocol/Generated Tests/KafkaProtocolTests/Generated; do
    # -N: a file on one side only shows up as added or deleted.
    if ! diff -ruN "$root/$dir" "$tmp/1/$dir" >"$tmp/diff" 2>&1; then
        if [ $status = 0 ]; then
            echo "codegen-check: the committed generated protocol differs from what tools/codegen/generate.py makes" >&2
            echo "from $spec. Run 'make codegen' and commit the result (never edit generated files by hand)." >&2
        fi
        status=1
        echo "" >&2
        echo "$dir (- committed, + regenerated):" >&2
        diff -rq "$root/$dir" "$tmp/1/$dir" | sed -e "s|$root/||g" -e "s|$tmp/1/|regenerated/|g" -e 's/^/  /' >&2 || true
        echo "  lines removed: $(grep -Ec '^-([^-]|$|-[^-]|--[^ ])' "$tmp/diff" || true)," \
             "added: $(grep -Ec '^\+([^+]|$|\+[^+]|\+\+[^ ])' "$tmp/diff" || true); the first 40 lines of the diff:" >&2
        head -n 40 "$tmp/diff" | sed -e "s|$root/||g" -e "s|$tmp/1/|regenerated/|g" -e 's/^/  | /' >&2
    fi
done
if [ $status = 0 ]; then echo "codegen-check: generated protocol up to date"; fi
exit $status
