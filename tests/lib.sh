# Shared helpers for goldroot's shell tests. Source it first.
# $GOLDROOT is the binary under test; each test gets a fresh $WORK directory.
set -euo pipefail
: "${GOLDROOT:?GOLDROOT must point at the goldroot binary}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/goldroot-shell-XXXXXX")
cleanup_hooks=()
on_exit() { cleanup_hooks+=("$1"); }
run_cleanup() {
  local i
  for ((i = ${#cleanup_hooks[@]} - 1; i >= 0; i--)); do eval "${cleanup_hooks[$i]}" || true; done
  rm -rf "$WORK"
}
trap run_cleanup EXIT
trap 'echo "FAIL: unexpected error at line $LINENO: $BASH_COMMAND" >&2' ERR
export GOLDROOT_SITE="$WORK/site"
gr() { "$GOLDROOT" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
pass_count=0
ok() { pass_count=$((pass_count + 1)); echo "ok - $*"; }

# expect_fail "what" cmd… : the command must exit non-zero with one line on stderr.
expect_fail() {
  local what=$1; shift
  local err="$WORK/stderr.$$"
  if "$@" >/dev/null 2>"$err"; then fail "$what: succeeded but should have failed"; fi
  local lines
  lines=$(grep -c . "$err" || true)
  [ "$lines" = 1 ] || { cat "$err" >&2; fail "$what: expected one error line, got $lines"; }
  grep -q '^error: ' "$err" || { cat "$err" >&2; fail "$what: error does not start with 'error: '"; }
  LAST_ERROR=$(cat "$err")
  ok "$what ($LAST_ERROR)"
}

# A test that needs what is missing: skip (exit 77), unless every tier must
# really run (GOLDROOT_REQUIRE_ALL=1, set by scripts/test.sh as root).
require() {
  local why=$1
  if [ "${GOLDROOT_REQUIRE_ALL:-}" = 1 ]; then fail "requirement missing: $why"; fi
  echo "SKIP: $why" >&2
  exit 77
}
require_root() { [ "$(id -u)" = 0 ] || require "needs root"; }

finish() { echo "$pass_count passed, 0 failed"; }

# free_port: a loopback TCP port nothing listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_building_cache NETNS DIR UPSTREAM LISTEN SIZE: nginx in NETNS running
# the configuration `goldroot serve nginx-config` prints for UPSTREAM, on
# LISTEN (ADDRESS:PORT), its files and cache in DIR (made afresh); sets
# nginx_pid and returns once it answers. DIR's parents must be readable by
# nobody (nginx's workers).
start_building_cache() {
  local ns=$1 dir=$2 upstream=$3 listen=$4 size=$5
  rm -rf "$dir"
  mkdir -p "$dir"
  gr serve nginx-config --upstream "$upstream" --listen "$listen" --cache-dir "$dir/cache" \
    --cache-size "$size" >"$dir/goldroot-cache.conf"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 512; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  include $dir/goldroot-cache.conf;
}
CONF
  ip netns exec "$ns" nginx -q -c "$dir/nginx.conf" -p "$dir" &
  nginx_pid=$!
  for _ in $(seq 1 100); do
    ip netns exec "$ns" curl -s -o /dev/null "http://$listen/api/v1/challenge" && return 0
    sleep 0.1
  done
  fail "nginx did not start: $(cat "$dir/error.log")"
}

# make_host_key PATH: an ed25519 key at PATH (0600) and its public key at
# PATH.pub, as goldroot-boot makes them.
make_host_key() {
  (umask 077; openssl genpkey -algorithm ed25519 -out "$1" 2>/dev/null)
  openssl pkey -in "$1" -pubout -out "$1.pub"
}

# id_of PATH: the key id (fleet/host_keys.h) of the host key at PATH, as
# the server and goldroot-boot print it.
id_of() { openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-16; }

# host_get KEY URL [curl args…]: GET URL as the host whose key is KEY
# would (crypto/host_signature.h): a fresh challenge, the request signed
# over it, the public key introduced. Prints the HTTP status; the body
# lands in $WORK/body.
host_get() {
  local key=$1 url=$2; shift 2
  local base path challenge signature public
  base=$(echo "$url" | cut -d/ -f1-3)
  path="/$(echo "$url" | cut -d/ -f4-)"; path=${path%%\?*}
  challenge=$(curl -s "$base/api/v1/challenge" | python3 -c 'import json, sys; print(json.load(sys.stdin)["challenge"])')
  printf 'goldroot-host-request-v1\nGET\n%s\n%s' "$path" "$challenge" > "$WORK/statement"
  signature=$(openssl pkeyutl -sign -rawin -inkey "$key" -in "$WORK/statement" | base64 -w0)
  public=$(openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | base64 -w0)
  curl -s -o "$WORK/body" -w '%{http_code}' -H "X-Goldroot-Challenge: $challenge" \
    -H "X-Goldroot-Host-Signature: ed25519=$signature" -H "X-Goldroot-Host-Key: $public" "$@" "$url"
}
