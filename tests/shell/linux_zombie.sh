# scenario: empty
# personality: linux
# Linux: a zombie keeps its directory with state Z, empty cmdline, zeroed statm.
source "$(dirname "$0")/lib.sh"
parent=$(ctl spawn Shell)
child=$(ctl spawn sleep ppid=$parent cmdline="sleep 100")
ctl exit "$child" 0
[ -d "$MNT/$child" ] || fail "a Linux zombie keeps its directory"
[ "$(cut -d' ' -f3 "$MNT/$child/stat")" = Z ] || fail "state is not Z"
grep -qP '^State:\tZ \(zombie\)$' "$MNT/$child/status" || fail "status State"
grep -q '^VmRSS' "$MNT/$child/status" && fail "a zombie's status has Vm lines"
[ "$(cat "$MNT/$child/statm")" = "0 0 0 0 0 0 0" ] || fail "statm not zeroed"
[ "$(stat -c %s "$MNT/$child/cmdline")" = 0 ] && [ -z "$(cat "$MNT/$child/cmdline")" ] || fail "cmdline not empty"
expect_error "No such file or directory" readlink -v "$MNT/$child/exe"
expect_error "No such process" cat "$MNT/$child/environ"
ctl wait "$parent" "$child" >/dev/null
test -e "$MNT/$child" && fail "reaped zombie still resolves"
ok "linux zombie"
