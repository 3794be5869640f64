#!/usr/bin/env bash
# The channel lifecycle as an admin drives it: import and export v1, set
# test, promote, import and export v2, promote again, roll back (twice),
# history with who/why, `image users` through channels and pins, gc keeping
# what channels, pins, previous and recent history need, a promote refused
# while another command holds the site, bad input in one sentence, and
# kill -9 during promotes never leaving channels and history apart.
source "$(dirname "$0")/lib.sh"

gr init >/dev/null
mkdir -p "$WORK/v1/etc" "$WORK/v2/etc" "$WORK/v3/etc" "$WORK/old/etc"
echo one > "$WORK/v1/etc/version"
echo two > "$WORK/v2/etc/version"
echo three > "$WORK/v3/etc/version"
echo pinned > "$WORK/old/etc/version"
commit_of() { gr channel list --json | python3 -c "import json,sys; print({c['name']: c['commit'] for c in json.load(sys.stdin)}.get('$1', ''))"; }

old=$(gr image import "$WORK/old" --name old)
v1=$(gr image import "$WORK/v1" --name lab)

expect_fail "promote with test unset" gr promote
[ "$LAST_ERROR" = "error: channel 'test' is not set; run goldroot channel set test REF first" ] || fail "$LAST_ERROR"
gr channel set test lab >/dev/null
[ "$(gr channel set test lab)" = "test already points at $v1" ] || fail "setting a channel again is not idempotent"
expect_fail "promote of an unexported commit" gr promote
echo "$LAST_ERROR" | grep -q "has no erofs export; run goldroot image export $v1" || fail "$LAST_ERROR"
[ -z "$(commit_of gold)" ] || fail "a refused promote moved gold"
gr image export lab >/dev/null
USER=alice gr promote >/dev/null
[ "$(commit_of gold)" = "$v1" ] || fail "gold is not v1 after the first promote"
expect_fail "promoting what gold already has" gr promote
echo "$LAST_ERROR" | grep -q "'gold' already has $v1; nothing to promote" || fail "$LAST_ERROR"
expect_fail "rollback with no previous commit" gr rollback
[ "$LAST_ERROR" = "error: gold has no previous commit to roll back to (channel 'previous' is not set)" ] || fail "$LAST_ERROR"
ok "first promote: test -> gold"

v2=$(gr image import "$WORK/v2" --name lab)
gr image export lab >/dev/null
USER=bob gr channel set test lab >/dev/null
SUDO_USER=carol gr promote --from test --to gold >/dev/null
[ "$(commit_of gold)" = "$v2" ] && [ "$(commit_of previous)" = "$v1" ] && [ "$(commit_of test)" = "$v2" ] \
  || fail "second promote: gold=$(commit_of gold) previous=$(commit_of previous)"
ok "second promote: gold's old commit moved to previous"

gr rollback >/dev/null
[ "$(commit_of gold)" = "$v1" ] && [ "$(commit_of previous)" = "$v2" ] || fail "rollback"
gr rollback gold >/dev/null
[ "$(commit_of gold)" = "$v2" ] && [ "$(commit_of previous)" = "$v1" ] || fail "second rollback"
ok "rollback swaps gold and previous; a second rollback undoes the first"

gr channel history gold --json > "$WORK/history.json"
python3 - "$WORK/history.json" "$v1" "$v2" <<'PY' || fail "gold history: $(cat "$WORK/history.json")"
import json, sys
h = json.load(open(sys.argv[1])); v1, v2 = sys.argv[2], sys.argv[3]
assert [e["reason"] for e in h] == ["promote test -> gold"] * 2 + ["rollback"] * 2, h
assert [(e["from"], e["to"]) for e in h] == [(None, v1), (v1, v2), (v2, v1), (v1, v2)], h
assert [e["user"] for e in h[:2]] == ["alice", "carol"], h
assert all(e["time"].endswith("Z") for e in h)
PY
gr channel history gold | grep -q "carol .*promote test -> gold" || fail "plain history: $(gr channel history gold)"
gr channel history test --json | python3 -c "import json,sys; h=json.load(sys.stdin); assert len(h)==2 and h[1]['user']=='bob' and h[1]['reason']=='set', h" \
  || fail "test history"
ok "channel history names who, when, why, from and to"

gr network add 10.9.0.0/24 >/dev/null
gr lab add lab3 --network 10.9.0.0/24 --channel test >/dev/null
gr host add pc01 --mac 52:54:00:aa:00:01 --ip 10.9.0.11 >/dev/null
gr host add pc02 --mac 52:54:00:aa:00:02 --ip 10.9.0.12 --lab lab3 >/dev/null
gr host add pc03 --mac 52:54:00:aa:00:03 --ip 10.9.0.13 --pin "$old" >/dev/null
gr image users gold --json > "$WORK/users.json"
python3 - "$WORK/users.json" "$v2" <<'PY' || fail "image users: $(cat "$WORK/users.json")"
import json, sys
u = json.load(open(sys.argv[1]))
assert u["commit"] == sys.argv[2]
assert {(h["host"], h["via"]) for h in u["assigned"]} == {("pc01", "channel gold (default)"), ("pc02", "channel test (lab)")}, u
assert u["running"] == [], u
PY
gr image users "$old" | grep -q "pc03 .*pin (host)" || fail "pinned host: $(gr image users "$old")"
[ "$(gr image users "$v1" | head -1)" = "commit $v1: 0 hosts assigned, 0 running it" ] || fail "v1 users: $(gr image users "$v1")"
ok "image users lists hosts assigned through channels and pins"

# gc: drop the image names; channels (gold, test, previous), the pin and the
# history keep their commits; with history ignored, previous still keeps v1.
gr image rm lab >/dev/null
gr image rm old >/dev/null
gr image gc >/dev/null
for commit in "$v1" "$v2" "$old"; do gr image show "$commit" >/dev/null || fail "gc removed $commit"; done
v3=$(gr image import "$WORK/v3" --name stray)
gr channel set scratch stray >/dev/null
gr channel set scratch "$v2" >/dev/null
gr image rm stray >/dev/null
gr image gc >/dev/null
gr image show "$v3" >/dev/null || fail "gc removed a commit recent history names"
gr image gc --history-days 0 >/dev/null
gr image show "$v3" >/dev/null 2>&1 && fail "gc kept a commit only old history names"
for commit in "$v1" "$v2" "$old"; do gr image show "$commit" >/dev/null || fail "gc --history-days 0 removed $commit"; done
expect_fail "rollback to a commit gc removed" gr rollback scratch
[ "$LAST_ERROR" = "error: cannot roll back to $v3: gc has removed it" ] || fail "$LAST_ERROR"
gr image fsck >/dev/null || fail "fsck after gc"
ok "gc keeps what channels, previous, pins and recent history need, and nothing else"

# Serialized: a promote while another command holds the site is refused.
( flock -x "$GOLDROOT_SITE/lock" -c "echo 'pid 1: promote held-for-test' > $GOLDROOT_SITE/lock; sleep 3" ) &
holder=$!
sleep 0.5
expect_fail "promote while the site is busy" gr promote
echo "$LAST_ERROR" | grep -q "another goldroot command" || fail "lock message: $LAST_ERROR"
wait $holder
# Two promotes at once: one moves gold, the other is refused in one sentence
# (site busy, or gold already has it); history gains exactly one promote.
gr channel set test "$v1" >/dev/null
count_promotes() { gr channel history gold --json | python3 -c "import json,sys; print(sum(e['reason'].startswith('promote') for e in json.load(sys.stdin)))"; }
before_promotes=$(count_promotes)
"$GOLDROOT" promote >"$WORK/p1.out" 2>"$WORK/p1.err" & p1=$!
"$GOLDROOT" promote >"$WORK/p2.out" 2>"$WORK/p2.err" & p2=$!
status1=0; wait $p1 || status1=$?
status2=0; wait $p2 || status2=$?
[ $((status1 == 0 ? 1 : 0)) -ne $((status2 == 0 ? 1 : 0)) ] || fail "concurrent promotes: exits $status1 and $status2"
cat "$WORK/p1.err" "$WORK/p2.err" | grep -Eq "^error: (another goldroot command is using this site|'gold' already has)" \
  || fail "concurrent promote message: $(cat "$WORK/p1.err" "$WORK/p2.err")"
[ "$(count_promotes)" = $((before_promotes + 1)) ] || fail "concurrent promotes recorded $(count_promotes) - $before_promotes"
[ "$(commit_of gold)" = "$v1" ] && [ "$(commit_of previous)" = "$v2" ] || fail "after concurrent promotes"
ok "two promotes at once: one moved gold, the other got one sentence"

# Bad input: one sentence each, nothing moved.
before=$(gr channel list --json)
expect_fail "unknown --from channel" gr promote --from tset
[ "$LAST_ERROR" = "error: unknown channel 'tset' (channels: test, gold, previous, scratch)" ] || fail "$LAST_ERROR"
expect_fail "unknown rollback channel" gr rollback nosuch
expect_fail "invalid channel name" gr channel set ../gold "$v1"
expect_fail "set to an unknown ref" gr channel set test nosuch
expect_fail "history of an unknown channel" gr channel history nosuch
expect_fail "promote into previous" gr promote --to previous
expect_fail "users of an unknown ref" gr image users nosuch
[ "$(gr channel list --json)" = "$before" ] || fail "bad input moved a channel"

# kill -9 during promotes and rollbacks: refs and history always agree.
for round in $(seq 1 12); do
  "$GOLDROOT" rollback >/dev/null 2>&1 & pid=$!
  sleep "0.00$((RANDOM % 10))"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  gold=$(commit_of gold)
  [ "$gold" = "$v1" ] || [ "$gold" = "$v2" ] || fail "round $round: gold is $gold"
  last=$(gr channel history gold --json | python3 -c "import json,sys; print(json.load(sys.stdin)[-1]['to'])")
  [ "$gold" = "$last" ] || fail "round $round: gold $gold but history says $last"
  gr image fsck >/dev/null || fail "fsck after kill -9 in round $round"
done
ok "kill -9 during rollbacks never left gold apart from its history"
finish
