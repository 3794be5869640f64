#!/usr/bin/env bash
# Running clients are never broken: a commit a host's agent reports running
# stays in the store through promotes and `image gc`, and `image users`
# lists the host as running it — until the host reports a shutdown.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"

gr init >/dev/null
mkdir -p "$WORK/v1/etc" "$WORK/v2/etc"
echo one >"$WORK/v1/etc/version"
echo two >"$WORK/v2/etc/version"
v1=$(gr image import "$WORK/v1" --name one)
v2=$(gr image import "$WORK/v2" --name two)
gr channel set gold one >/dev/null
gr image export one >/dev/null
gr image export two >/dev/null
gr host add pc01 --mac 52:54:00:00:00:01 >/dev/null
start_server
CLIENT_COMMIT=$v1 make_client pc01 52:54:00:00:00:01
agent_command pc01
"${AGENT_COMMAND[@]}" --interval 1 &
agent_pid=$!
on_exit "kill $agent_pid 2>/dev/null"
for _ in $(seq 1 100); do gr image users "$v1" | grep -q 'running, reported' && break; sleep 0.1; done

# gold moves on and history is ignored: only pc01's report still names v1.
gr channel set gold two >/dev/null
gr image rm one >/dev/null
gr image gc --history-days 0 >/dev/null
gr image show "$v1" >/dev/null || fail "gc removed the commit pc01 is running"
[ -f "$GOLDROOT_SITE/exports/$v1.erofs" ] || fail "gc removed the export of the commit pc01 is running"
gr image users "$v1" | grep -q "^  pc01 .*running, reported" || fail "image users: $(gr image users "$v1")"
gr image users "$v1" --json | python3 -c '
import json, sys; u = json.load(sys.stdin)
assert u["assigned"] == [] and [h["host"] for h in u["running"]] == ["pc01"], u' || fail "image users --json"
ok "a commit a client is running survives promote and gc, and image users lists the client"

kill -TERM "$agent_pid"; wait "$agent_pid" 2>/dev/null || true  # sends its shutdown report
gr image users "$v1" | grep -q "0 running it" || fail "pc01 still running after its shutdown report"
gr image gc --history-days 0 >/dev/null
gr image show "$v1" >/dev/null 2>&1 && fail "gc kept a commit no running client needs any more"
ls "$GOLDROOT_SITE/exports/$v1".* >/dev/null 2>&1 && fail "gc kept the export of a removed commit: $(ls "$GOLDROOT_SITE/exports")"
[ -f "$GOLDROOT_SITE/exports/$v2.erofs" ] || fail "gc removed the export of gold"
ok "after the client's shutdown report, gc may remove it, and its export with it"
finish
