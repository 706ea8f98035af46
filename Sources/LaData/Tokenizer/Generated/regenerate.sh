#!/usr/bin/env bash
# Regenerates the two generated tables of the tokenizer from the Python packages they transcribe:
#   TokenizerTables.swift  (make-tokenizer-tables.py: html.entities, ftfy's chardata, `regex`'s \p{L} / \p{N})
#   MojibakeTables.swift   (make-ftfy-tables.py: ftfy 6.3.1's fix_encoding data)
# It makes a throwaway venv with the pinned versions from PyPI (PYTHON=python3.11 by default: the tables record
# Python 3.11's unicodedata 14.0.0), writes both files next to this script, and leaves the venv nowhere.
# Usage: Sources/LaData/Tokenizer/Generated/regenerate.sh   (from anywhere; then run swift test)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3.11}"
venv="$(mktemp -d /tmp/laclip-tables.XXXXXX)"
trap 'rm -rf "$venv"' EXIT
"$python" -m venv "$venv"
"$venv/bin/pip" install -q "ftfy==6.3.1" "regex==2026.11.19"
"$venv/bin/python" "$here/make-tokenizer-tables.py" > "$here/TokenizerTables.swift.new"
"$venv/bin/python" "$here/make-ftfy-tables.py" > "$here/MojibakeTables.swift.new"
mv "$here/TokenizerTables.swift.new" "$here/TokenizerTables.swift"
mv "$here/MojibakeTables.swift.new" "$here/MojibakeTables.swift"
echo "regenerated $here/TokenizerTables.swift and $here/MojibakeTables.swift"
