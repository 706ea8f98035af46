#!/usr/bin/env bash
# Starts llama-cpp-python's OpenAI-compatible server (set up by scripts/setup-llm.sh) in the background on
# 127.0.0.1 with 2 threads and a 1024-token context, writes a pid file, and waits until /v1/models answers.
# Nothing is downloaded: the model is the GGUF file found by setup-llm.sh (or $LACLIP_LLM_MODEL).
#
# Usage: scripts/start-llm-server.sh [PORT]        (default port 8080)
#   Environment: LACLIP_LLM_VENV (default ../venv-llm beside the repository root), LACLIP_LLM_MODEL (a .gguf
#   path), LACLIP_LLM_THREADS (default 2), LACLIP_LLM_WAIT (seconds to wait for start-up, default 180).
#   Files: $VENV/llm-server-PORT.pid and $VENV/llm-server-PORT.log. Stop with: kill "$(cat $VENV/llm-server-PORT.pid)"
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${1:-8080}"
venv="${LACLIP_LLM_VENV:-$(dirname "$root")/venv-llm}"
threads="${LACLIP_LLM_THREADS:-2}"
wait_seconds="${LACLIP_LLM_WAIT:-180}"
pid_file="$venv/llm-server-$port.pid"
log_file="$venv/llm-server-$port.log"
url="http://127.0.0.1:$port"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "start-llm-server: no virtual environment at $venv; run scripts/setup-llm.sh first" >&2
    exit 1
fi
model="${LACLIP_LLM_MODEL:-}"
if [[ -z "$model" && -f "$venv/laclip-model-path" ]]; then model="$(cat "$venv/laclip-model-path")"; fi
if [[ -z "$model" ]]; then model="$(find "$venv/lib" -name 'SmolLM2-135M-Instruct.Q4_1.gguf' -type f 2>/dev/null | head -n 1)"; fi
if [[ -z "$model" || ! -f "$model" ]]; then
    echo "start-llm-server: no GGUF model found; run scripts/setup-llm.sh or set LACLIP_LLM_MODEL" >&2
    exit 1
fi

answers() { "$venv/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1] + '/v1/models', timeout=5).read()" "$url" 2>/dev/null; }

if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    if answers; then
        echo "start-llm-server: already running (pid $(cat "$pid_file")) at $url"
        echo "export LACLIP_LLM_URL=$url"
        exit 0
    fi
    echo "start-llm-server: pid $(cat "$pid_file") is alive but $url does not answer; stop it first" >&2
    exit 1
fi

alias_name="$(basename "$model" .gguf)"
HF_HUB_OFFLINE=1 nohup "$venv/bin/python" -m llama_cpp.server --model "$model" --model_alias "$alias_name" \
    --host 127.0.0.1 --port "$port" --n_ctx 1024 --n_threads "$threads" >"$log_file" 2>&1 &
pid=$!
echo "$pid" > "$pid_file"
echo "start-llm-server: started pid $pid ($alias_name, $threads threads) on $url; log $log_file"

for ((waited = 0; waited < wait_seconds; waited++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "start-llm-server: the server exited; last log lines:" >&2
        tail -n 20 "$log_file" >&2
        rm -f "$pid_file"
        exit 1
    fi
    if answers; then
        echo "start-llm-server: ready after ${waited} s; model name: $alias_name"
        echo "export LACLIP_LLM_URL=$url"
        exit 0
    fi
    sleep 1
done
echo "start-llm-server: $url/v1/models did not answer within $wait_seconds s (pid $pid still running; see $log_file)" >&2
exit 1
