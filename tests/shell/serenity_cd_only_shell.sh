# scenario: empty
# personality: serenity
# A shell cd-ed into /PID with no fd open, its process gone (SerenityOS after bee75c1f242): the
# orphaned directory is the shell's cwd, so it lists and stats; its files answer errors; a fresh
# path to it from this same shell is ENOENT.
source "$(dirname "$0")/lib.sh"
pid=$(ctl spawn sleeper uid=100)
cd "$MNT/$pid" || fail "cd"
[ "$(stat -c %u .)" = 100 ] || fail "a live directory is owned by its process"
ctl kill "$pid" KILL                      # no parent: finalized and unregistered at once
[ "$(stat -c %u .)" = 0 ] || fail "stat . in the orphan: owned by root, got $(stat -c %u . 2>&1)"
[ "$(ls . | wc -l)" -ge 18 ] || fail "ls . still lists the children: $(ls . 2>&1)"
expect_error "Bad address" readlink -v cwd
stat vm >/dev/null || fail "stat vm: the components remain"
expect_error "No such process" cat vm
expect_error "No such file or directory" ls fd/0
expect_error "No such file or directory" stat "$MNT/$pid"   # a fresh path, from the shell holding it
[ -e "$MNT/$pid" ] && fail "a fresh path to the orphan resolves"
grep -q "held by: the kernel's cached lookup (a cwd" "$MNT/sim/lifetimes" \
  || fail "the cwd is not named as the holder: $(cat "$MNT/sim/lifetimes")"
cd / || fail "cd /"
# The kernel forgets the inode once nothing uses it; procsim frees the orphan then (FORGET).
for _ in $(seq 500); do grep -q "ProcFS directory /$pid" "$MNT/sim/lifetimes" || break; sleep 0.01; done
grep -q "ProcFS directory /$pid" "$MNT/sim/lifetimes" && fail "the orphan outlived the last holder"
ok "serenity: a cd-only shell in an orphaned /PID"
