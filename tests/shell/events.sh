# scenario: empty
# The event log is JSON lines and `tail -f`-friendly.
source "$(dirname "$0")/lib.sh"
python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$MNT/sim/events" || fail "events are not JSON lines"
out=$(mktemp)
timeout 4 tail -n 0 -f "$MNT/sim/events" > "$out" &
sleep 1.5
pid=$(ctl spawn tailed)
ctl exit "$pid" 5
wait
grep -q "\"event\":\"spawn\",\"pid\":$pid" "$out" || fail "tail -f did not see the spawn: $(cat "$out")"
grep -q "\"event\":\"exit\",\"pid\":$pid,\"code\":5" "$out" || fail "tail -f did not see the exit"
grep -q '"event":"command","line":"exit '"$pid"' 5","source":"ctl"' "$out" || fail "commands are logged"
rm -f "$out"
ok "events"
