# scenario: empty
# personality: serenity
# SerenityOS: a zombie has no /PID directory but stays in /all with "threads": [].
source "$(dirname "$0")/lib.sh"
parent=$(ctl spawn Shell)
child=$(ctl spawn sleep ppid=$parent)
[ -d "$MNT/$child" ] || fail "live child has no directory"
ctl exit "$child" 7
test -e "$MNT/$child" && fail "a SerenityOS zombie still has a directory"
json "$MNT/all" "[p['threads'] for p in d['processes'] if p['pid']==$child]" | grep -qx '\[\[\]\]' || fail "zombie not in all with no threads"
[ "$(ctl wait "$parent")" = "$child 1792" ] || fail "wait did not reap with status 7<<8"
json "$MNT/all" "[p for p in d['processes'] if p['pid']==$child]" | grep -qx '\[\]' || fail "reaped process still in all"
ok "serenity zombie"
