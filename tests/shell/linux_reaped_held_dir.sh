# scenario: empty
# personality: linux
# Linux: handles into a reaped process answer ESRCH; its listing is empty; paths give ENOENT.
source "$(dirname "$0")/lib.sh"
parent=$(ctl spawn Shell)
pid=$(ctl spawn sleeper ppid=$parent)
exec 3< "$MNT/$pid"
exec 4< "$MNT/$pid/status"
(
  cd "$MNT/$pid" || exit 1
  ctl exit "$pid" 0
  cat status >/dev/null || fail "a zombie's status is readable"
  ctl wait "$parent" >/dev/null
  expect_error "No such process" cat status
  expect_error "No such process" cat no-such-file    # ESRCH even for names that never existed
  echo subshell-ok
) | grep -qx subshell-ok || fail "cd-ed subshell"
( exec 3<&- 4<&-; test -e "$MNT/$pid" ) && fail "a reaped PID resolves by path"
stat "$MNT/$pid" 3<&- 4<&- 2>&1 | grep -q "No such file or directory" || fail "stat of a reaped PID is not ENOENT"
[ -z "$(ls /proc/self/fd/3/ 2>/dev/null)" ] || fail "listing a reaped directory must show nothing"
expect_error "No such process" cat /proc/self/fd/3/stat
expect_error "No such process" cat <&4
exec 3<&- 4<&-
ok "linux reaped with held handles"
