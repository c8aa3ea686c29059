# scenario: default
# personality: serenity
# Browsing the mount with ls, cat, stat, test and readlink.
source "$(dirname "$0")/lib.sh"
ls "$MNT" | grep -qx meminfo || fail "ls of the root has no meminfo"
ls "$MNT" | grep -qx all || fail "ls of the root has no all"
[ "$(ls "$MNT/1" | wc -l)" -ge 18 ] || fail "PID 1 has too few entries"
grep -q '^MemTotal: ' "$MNT/meminfo" || fail "meminfo has no MemTotal"
json "$MNT/all" 'd["processes"][0]["name"]' | grep -qx colonel || fail "colonel is not first in all"
json "$MNT/memstat" 'd["user_physical_allocated"] + d["user_physical_available"]' >/dev/null || fail "memstat"
# /proc/self is the *caller*: ask from one process that knows its own PID
python3 -c "import os,sys; m=sys.argv[1]; assert os.readlink(m+'/self') == str(os.getpid()); \
assert open(m+'/self/stat').read().split()[0] == str(os.getpid())" "$MNT" || fail "self is not the caller"
stat -c '%a %U' "$MNT/1" | grep -qx '500 root' || fail "PID dir mode/owner: $(stat -c '%a %U' "$MNT/1")"
[ "$(stat -c %s "$MNT/1/status")" = 0 ] || fail "files report size 0"
[ "$(wc -w < "$MNT/1/stat")" = 52 ] || fail "stat does not have 52 fields"
grep -qP '^State:\tS \(sleeping\)$' "$MNT/1/status" || fail "status State line"
test -e "$MNT/99999" && fail "a PID that never existed resolves"
json "$MNT/4/vm" 'len(d) > 0 and all(set("PZN") >= set(r["pagemap"]) for r in d)' | grep -qx True || fail "vm"
ok "browse"
