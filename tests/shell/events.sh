# scenario: empty
# The event log is JSON lines and `tail -f`-friendly.
source "$(dirname "$0")/lib.sh"
python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$MNT/sim/events" || fail "events are not JSON lines"
out=$(mktemp)
tail -n 0 -f "$MNT/sim/events" > "$out" &
tailer=$!
# wait until tail has the file open (then its end is where it starts following)
until_true() { for _ in $(seq 3000); do "$@" && return 0; sleep 0.01; done; return 1; }
following() { ls -l "/proc/$tailer/fd" 2>/dev/null | grep -q "sim/events"; }
until_true following || fail "tail never opened sim/events"
pid=$(ctl spawn tailed)
ctl exit "$pid" 5
seen() { grep -q '"event":"command","line":"exit '"$pid"' 5","source":"ctl"' "$out"; }
until_true seen || fail "tail -f did not see the exit command: $(cat "$out")"
kill "$tailer"; wait "$tailer" 2>/dev/null
grep -q "\"event\":\"spawn\",\"pid\":$pid" "$out" || fail "tail -f did not see the spawn: $(cat "$out")"
grep -q "\"event\":\"exit\",\"pid\":$pid,\"code\":5" "$out" || fail "tail -f did not see the exit"
rm -f "$out"
ok "events"
