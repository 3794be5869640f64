#!/usr/bin/env bash
# 200 goldroot-agent processes (one per simulated client: its own boot
# record, upper dir, token and spool) report to one `goldroot serve` on
# loopback at once, every 2 seconds, for GOLDROOT_AGENT_LOAD_SECONDS
# (default 120, the issue's two minutes); then each is stopped with SIGTERM
# (its final shutdown report). Every report each agent made must be stored,
# in order: zero lost. Root tier: 200 processes and a few thousand fsyncs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
require_root
agents=${GOLDROOT_AGENT_LOAD_AGENTS:-200}
seconds=${GOLDROOT_AGENT_LOAD_SECONDS:-120}
interval=2

gr init >/dev/null
gr lab add load >/dev/null
for i in $(seq 1 "$agents"); do
  printf 'pc%03d,52:54:00:10:%02x:%02x,,load\n' "$i" $((i / 256)) $((i % 256))
done > "$WORK/hosts.csv"
for i in $(seq 1 "$agents"); do
  gr host add "$(printf 'pc%03d' "$i")" --mac "$(printf '52:54:00:10:%02x:%02x' $((i / 256)) $((i % 256)))" --lab load >/dev/null
done
start_server
for i in $(seq 1 "$agents"); do make_client "$(printf 'pc%03d' "$i")"; done
ok "$agents simulated clients ready"

pids=()
started=$(date +%s)
for i in $(seq 1 "$agents"); do
  name=$(printf 'pc%03d' "$i")
  agent_command "$name"
  "${AGENT_COMMAND[@]}" --interval "$interval" --verbose 2> "$WORK/clients/$name/agent.log" &
  pids+=($!)
done
on_exit 'kill ${pids[*]} 2>/dev/null'
sleep "$seconds"
kill -TERM "${pids[@]}"
for pid in "${pids[@]}"; do wait "$pid" || fail "an agent exited with an error"; done
elapsed=$(( $(date +%s) - started ))

python3 - "$WORK" "$GOLDROOT_SITE/goldroot.db" "$agents" "$elapsed" <<'PY' || fail "lost reports"
import glob, os, re, sqlite3, sys
work, database, agents, elapsed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
db = sqlite3.connect(database)
made_total = stored_total = lost = spooled = 0
for client in sorted(glob.glob(work + "/clients/pc*")):
    name = os.path.basename(client)
    made = [int(s) for s in re.findall(r"spooled report (\d+)", open(client + "/agent.log").read())]
    boot = open(client + "/boot_id").read().strip()
    stored = [r[0] for r in db.execute(
        "SELECT sequence FROM agent_history h JOIN hosts ON hosts.id = h.host_id "
        "WHERE name = ? AND boot_id = ? ORDER BY h.id", (name, boot))]
    spooled += len(os.listdir(client + "/spool"))
    made_total += len(made)
    stored_total += len(stored)
    if stored != made:
        lost += len(set(made) - set(stored))
        print(f"{name}: made {len(made)} stored {len(stored)}; first difference "
              f"{next((a, b) for a, b in zip(made + [None] * 999, stored + [None] * 999) if a != b)}")
shutdowns = db.execute("SELECT count(*) FROM agent_status WHERE json_extract(report, '$.event') = 'shutdown'").fetchone()[0]
print(f"agents {agents}, {elapsed} s: reports made {made_total}, received {stored_total}, "
      f"lost {lost}, left in spools {spooled}, shutdown reports {shutdowns}, "
      f"{stored_total / max(elapsed, 1):.1f} reports/s")
assert lost == 0 and made_total == stored_total and spooled == 0 and shutdowns == agents
assert made_total >= agents * (elapsed // 3)  # every agent kept reporting
PY
ok "$agents agents for ${seconds}s: no report lost"
finish
