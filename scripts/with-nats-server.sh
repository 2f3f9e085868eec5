#!/usr/bin/env bash
# Runs a command with a JetStream-enabled nats-server of its own on a loopback port:
# starts `nats-server -js` bound to 127.0.0.1 with a temporary store directory, exports
# PEREGRINE_NATS_URL, runs the command, and stops the server by PID (whatever the outcome).
set -euo pipefail
command -v nats-server >/dev/null || { echo "error: nats-server is not installed (make deps installs it)" >&2; exit 1; }
store=$(mktemp -d -t peregrine-nats-XXXXXX)
port=${PEREGRINE_NATS_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
nats-server -js -a 127.0.0.1 -p "$port" -sd "$store" -n peregrine-test >"$store/server.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$store"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$store/server.log" >&2; exit 1; }
    sleep 0.05
done
export PEREGRINE_NATS_URL="nats://127.0.0.1:$port"
echo "nats-server (pid $pid) on $PEREGRINE_NATS_URL, store $store"
"$@"
