#!/usr/bin/env bash
# Extracts CLIP's BPE vocabulary (bpe_simple_vocab_16e6.txt.gz) from the open-clip-torch wheel on PyPI into the
# cache folder that BPETokenizer.loadDefault() and the LaData tests look in:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/laclip/bpe_simple_vocab_16e6.txt.gz
# Only needed where ../shared/data/clip/ (beside the repository) does not exist. Nothing is fetched from a
# model hub: the file ships inside the wheel as open_clip/bpe_simple_vocab_16e6.txt.gz.
#
# Usage: scripts/fetch-clip-vocab.sh [destination-folder]
#   PIP (default: pip3, or pip) and OPEN_CLIP_VERSION (default: any) can be set.
set -euo pipefail

dest="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/laclip}"
name="bpe_simple_vocab_16e6.txt.gz"
pip="${PIP:-$(command -v pip3 || command -v pip || true)}"
if [[ -z "$pip" ]]; then
    echo "fetch-clip-vocab: pip not found (set PIP=/path/to/pip)" >&2
    exit 1
fi
spec="open-clip-torch${OPEN_CLIP_VERSION:+==$OPEN_CLIP_VERSION}"

if [[ -s "$dest/$name" ]]; then
    echo "fetch-clip-vocab: $dest/$name already exists"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$pip" download --no-deps --only-binary=:all: --dest "$work" "$spec" >&2
wheel="$(ls "$work"/open_clip_torch-*.whl | head -n 1)"
mkdir -p "$dest"
# A wheel is a zip file; take the one member with Python's zipfile (unzip may not be installed).
python3 - "$wheel" "$work/$name" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("open_clip/bpe_simple_vocab_16e6.txt.gz"))
PY
# Check: gzip-valid, header plus at least 48,894 merges.
lines="$(gzip -dc "$work/$name" | wc -l)"
if (( lines < 48895 )); then
    echo "fetch-clip-vocab: extracted file has only $lines lines" >&2
    exit 1
fi
mv "$work/$name" "$dest/$name"
echo "fetch-clip-vocab: wrote $dest/$name ($lines lines)"
