# Shared by ./scripts/test and the benchmarks (sourced, not run): the Python tools in .venv
# and moto's server on a free port.

# moto's server, cfn-lint with the SAM translator (so the lint sees the template as SAM
# expands it: roles, conditional policies, events), cargo-lambda and zig, in .venv.
ensure_venv() {
  if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/cfn-lint ] || [ ! -x .venv/bin/cargo-lambda ] \
    || ! .venv/bin/python -c 'import samtranslator' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet 'moto[server]>=5.1,<6' 'cfn-lint>=1,<2' 'aws-sam-translator>=1.90' \
      'cargo-lambda>=1.8,<2' ziglang
  fi
}

# Schemathesis (the API fuzzer) in a venv of its own, so its pins never move moto's.
ensure_fuzz_venv() {
  if [ ! -x .venv-fuzz/bin/schemathesis ]; then
    python3 -m venv .venv-fuzz
    .venv-fuzz/bin/pip install --quiet --upgrade pip
    .venv-fuzz/bin/pip install --quiet 'schemathesis>=4.3,<5'
  fi
}

# Starts moto (DynamoDB, SES, SSM) on a free port, stopped when the shell exits; exports
# COBRO_TEST_AWS_ENDPOINT.
start_moto() {
  local port log
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log=$(mktemp -t moto.XXXXXX.log)
  .venv/bin/python scripts/moto_server.py 127.0.0.1 "$port" >"$log" 2>&1 &
  moto_pid=$!
  trap 'kill $moto_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then break; fi
    if ! kill -0 $moto_pid 2>/dev/null; then cat "$log"; echo "moto server did not start"; exit 1; fi
    sleep 0.2
  done
  export COBRO_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
  echo "moto at $COBRO_TEST_AWS_ENDPOINT"
}

# Packages every function as Lambda runs it (x86_64 here): target/lambda/{function}/bootstrap.
# Extra arguments go to cargo lambda (--lambda-dir; the target folder is CARGO_TARGET_DIR).
# Builds every function as SAM's builder does (`cargo lambda build --release --bin <f>` from
# the workspace root, where default-members are the functions): one build, the same
# feature set, so what is tested and measured is what `sam build` ships.
build_lambdas() {
  PATH="$PWD/.venv/bin:$PATH" cargo lambda build --release --quiet "$@"
}

# Fails if a packaged function links the embedded SQLite store (it must refuse to start
# without COBRO_TABLE, never fall back to a file on a Lambda's disk).
check_no_embedded_store() {
  local found=0
  for b in "$1"/*/bootstrap; do
    if grep -a -q -e 'SQLite format 3' -e 'sqlite3_prepare' "$b"; then
      echo "embedded store linked into $b" >&2
      found=1
    fi
  done
  return $found
}
