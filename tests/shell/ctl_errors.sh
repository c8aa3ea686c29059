# scenario: empty
# personality: serenity
# The control file: results, errnos any shell prints, and read-only files.
source "$(dirname "$0")/lib.sh"
expect_error "No such process" bash -c "echo 'fork 999' > '$MNT/sim/ctl'"
expect_error "Invalid argument" bash -c "echo 'frobnicate 1' > '$MNT/sim/ctl'"
expect_error "Invalid argument" bash -c "echo 'mmap 1 -1' > '$MNT/sim/ctl'"
expect_error "No child processes" bash -c "echo 'wait 1' > '$MNT/sim/ctl'"
echo "spawn via-echo" > "$MNT/sim/ctl" || fail "a good command written with echo failed"
out=$($PROCSIM ctl "$MNT" fork 999 2>&1) && fail "procsim ctl fork 999 succeeded"
[ "$out" = "procsim: fork: no running process 999 (ESRCH)" ] || fail "procsim ctl message: $out"
pid=$(ctl spawn worker)
addr=$(ctl mmap "$pid" 64K name=buf)
case "$addr" in 0x*) ;; *) fail "mmap returned $addr";; esac
[ "$(ctl write "$pid" "$addr" 64K)" = "pages=16 zero=16 cow=0 inode=0 killed=no" ] || fail "write result"
expect_error "Read-only file system" bash -c "echo x > '$MNT/meminfo'"
expect_error "Read-only file system" touch "$MNT/newfile"
expect_error "Read-only file system" mkdir "$MNT/newdir"
expect_error "Read-only file system" rm -f "$MNT/meminfo"
expect_error "Operation not permitted" chmod 777 "$MNT/meminfo"
ok "ctl and read-only files"
