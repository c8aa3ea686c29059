# scenario: empty
# personality: serenity
# SerenityOS after #8576: an orphaned, held-open /PID answers errors instead of crashing.
source "$(dirname "$0")/lib.sh"
pid=$(ctl spawn sleeper)
exec 3< "$MNT/$pid"                 # a held-open directory handle
exec 4< "$MNT/$pid/status"          # a file opened before the death
(
  cd "$MNT/$pid" || exit 1
  ctl kill "$pid" KILL              # no parent: freed at once (serenity orphan policy)
  expect_error "No such process" cat status   # a shell cd-ed into the directory
  echo subshell-ok
) | grep -qx subshell-ok || fail "cd-ed subshell"
# Fresh paths, from processes that hold no handle into the directory (see docs/personalities.md):
( exec 3<&- 4<&-; test -e "$MNT/$pid" ) && fail "path lookup of a reaped PID must fail"
stat "$MNT/$pid" 3<&- 4<&- 2>&1 | grep -q "No such file or directory" || fail "stat of a reaped PID is not ENOENT"
[ "$(ls /proc/self/fd/3/ | wc -l)" -ge 18 ] || fail "readdir through the held handle should still list the children"
expect_error "No such process" cat /proc/self/fd/3/vm
expect_error "Bad address" readlink -v /proc/self/fd/3/cwd
grep -q "^Pid:	$pid" <&4 || fail "a file opened before the death keeps its snapshot"
exec 3<&- 4<&-
ok "serenity reaped with held handles"
