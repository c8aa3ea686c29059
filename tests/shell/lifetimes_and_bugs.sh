# scenario: empty
# personality: serenity
# The lifetime inspector names the handle that keeps an orphaned /PID alive; the bug switches.
source "$(dirname "$0")/lib.sh"
pid=$(ctl spawn held ppid=0)
exec 3< "$MNT/$pid"
ctl kill "$pid" KILL
grep -q "ProcFS directory /$pid, orphaned" "$MNT/sim/lifetimes" || fail "orphaned directory not listed: $(cat "$MNT/sim/lifetimes")"
grep -q "held by: open handle on /$pid held by host process $$ (bash)" "$MNT/sim/lifetimes" \
  || fail "holder not named: $(cat "$MNT/sim/lifetimes")"
json "$MNT/sim/lifetimes.json" "d[0]['kind']" | grep -qx ProcessDirectory || fail "lifetimes.json"
exec 3<&-
grep -q "ProcFS directory /$pid" "$MNT/sim/lifetimes" && fail "the entry stays after the handle closed"
ok "lifetimes: appears while held, disappears when released"

cat "$MNT/sim/bugs/README" | grep -q "fixed by: bee75c1f242" || fail "README"
[ "$(cat "$MNT/sim/bugs/procfs_strong_backrefs")" = 0 ] || fail "switches start off"
expect_error "Invalid argument" bash -c "echo maybe > '$MNT/sim/bugs/init_does_not_reap'"

# procfs_strong_backrefs: on -> a reaped process lingers in /proc/all forever; off -> it is freed
echo 1 > "$MNT/sim/bugs/procfs_strong_backrefs"
parent=$(ctl spawn parent ppid=0)
kid=$(ctl spawn kid ppid=$parent)
ctl exit "$kid"; ctl wait "$parent" >/dev/null
json "$MNT/all" "[p['threads'] for p in d['processes'] if p['pid']==$kid]" | grep -qx '\[\[\]\]' || fail "no linger with the bug on"
grep -q "leaked" "$MNT/sim/zombies" || fail "zombies does not call it leaked"
echo 0 > "$MNT/sim/bugs/procfs_strong_backrefs"
kid2=$(ctl spawn kid2 ppid=$parent); ctl exit "$kid2"; ctl wait "$parent" >/dev/null
json "$MNT/all" "[p for p in d['processes'] if p['pid']==$kid2]" | grep -qx '\[\]' || fail "with the bug off it lingers too"
ok "procfs_strong_backrefs"

# panic_on_held_pid_dir: off -> dying while held is fine; on -> the kernel panics
victim=$(ctl spawn victim ppid=0); exec 4< "$MNT/$victim"; ctl kill "$victim" KILL; exec 4<&-
grep -q PANIC "$MNT/dmesg" && fail "panicked with the switch off"
echo 1 > "$MNT/sim/bugs/panic_on_held_pid_dir"
victim=$(ctl spawn victim ppid=0); exec 4< "$MNT/$victim"
ctl kill "$victim" KILL
grep -q "KERNEL PANIC: ASSERTION FAILED" "$MNT/dmesg" || fail "no panic report in dmesg"
grep -q "held open by: .*open handle on /$victim held by host process $$ (bash)" "$MNT/dmesg" || fail "report names the holder"
expect_error "the kernel has panicked (see dmesg) (EIO)" $PROCSIM ctl "$MNT" spawn after-panic
exec 4<&-
ok "panic_on_held_pid_dir"
