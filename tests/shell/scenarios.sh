# scenario: empty
# Every built-in scenario mounts, lists its processes, and keeps the page counters consistent.
source "$(dirname "$0")/lib.sh"
for scenario in default empty zombies oom purgeable scale host; do
  dir=$(mktemp -d)
  $PROCSIM mount "$dir" --scenario "$scenario" --processes 50 >/dev/null || fail "mount --scenario $scenario"
  [ -d "$dir/1" ] || fail "$scenario: no PID 1"
  json "$dir/memstat" 'd["user_physical_allocated"] + d["user_physical_committed"] + d["user_physical_uncommitted"] == d["user_physical_allocated"] + d["user_physical_available"]' \
    | grep -qx True || fail "$scenario: memstat counters do not add up"
  n=$(json "$dir/all" 'len(d["processes"])')
  [ "$n" -ge 2 ] || fail "$scenario: all lists $n processes"
  $PROCSIM umount "$dir" || fail "umount $scenario"
  rmdir "$dir"
  rm -f "${TMPDIR:-/tmp}/procsim-$(id -u)/$(echo "${dir#/}" | tr / _).log"   # its daemon's log
  echo "ok - scenario $scenario ($n processes)"
done
ok "scenarios"
