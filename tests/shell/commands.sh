# scenario: empty
# personality: linux
# options: --paused
# Every command of the language through the CLI and the control file (the clock is paused).
source "$(dirname "$0")/lib.sh"
p=$(ctl spawn worker ppid=1 uid=1000 gid=50 cmdline="worker --flag 'two words'")
[ "$p" = 2 ] || fail "spawn gave $p"
grep -qP '^Uid:\t1000\t' "$MNT/$p/status" && grep -qP '^Gid:\t50\t' "$MNT/$p/status" || fail "uid/gid"
[ "$(tr '\0' '|' < "$MNT/$p/cmdline")" = "worker|--flag|two words|" ] || fail "cmdline: $(tr '\0' '|' < "$MNT/$p/cmdline")"
c=$(ctl fork "$p"); [ "$(cut -d' ' -f4 "$MNT/$c/stat")" = "$p" ] || fail "fork: child's parent"
[ "$(ctl wait "$p" nohang)" = "0 0" ] || fail "wait nohang with a live child"
ctl exit "$c" 3
[ "$(ctl wait "$p" "$c")" = "$c 768" ] || fail "wait CHILD"
c=$(ctl fork "$p"); ctl kill "$c" SIGTERM; [ "$(ctl wait "$p")" = "$c 15" ] || fail "kill by SIG name"
c=$(ctl fork "$p"); ctl kill "$c" 9; [ "$(ctl wait "$p")" = "$c 9" ] || fail "kill by number"
c=$(ctl fork "$p"); ctl kill "$c" STOP; [ "$(cut -d' ' -f3 "$MNT/$c/stat")" = T ] || fail "STOP"
ctl kill "$c" CONT; [ "$(cut -d' ' -f3 "$MNT/$c/stat")" = S ] || fail "CONT"
ctl load "$c" 0.5; [ "$(cut -d' ' -f3 "$MNT/$c/stat")" = R ] || fail "load makes it run"
a=$(ctl mmap "$p" 64K name=heap); grep -q "anon:heap" "$MNT/$p/maps" || fail "named mapping in maps"
[ "$(ctl write "$p" "$a" 16K)" = "pages=4 zero=4 cow=0 inode=0 killed=no" ] || fail "write"
[ "$(ctl read "$p" "$a" 64K)" = "pages=16 zero=0 cow=0 inode=0 killed=no" ] || fail "read"
ctl munmap "$p" "$a" 64K; grep -q "anon:heap" "$MNT/$p/maps" && fail "munmap"
s=$(ctl mmap "$p" 8K shared); n=$(ctl mmap "$p" 1M noreserve); f=$(ctl mmap "$p" 8K file=/home/anon/data.bin)
[ "$(ctl read "$p" "$f" 8K)" = "pages=2 zero=0 cow=0 inode=2 killed=no" ] || fail "inode faults"
x=$(ctl mmap "$p" 4K addr=0x50000000 fixed); [ "$x" = 0x50000000 ] || fail "fixed address: $x"
g=$(ctl mmap "$p" 32K purgeable name=cache); ctl write "$p" "$g" 32K >/dev/null
[ "$(ctl madvise "$p" "$g" 32K volatile)" = 0 ] || fail "madvise volatile"
[ "$(ctl purge)" = 8 ] || fail "purge count"
[ "$(ctl madvise "$p" "$g" 32K nonvolatile)" = 1 ] || fail "madvise after purge says 1"
fd=$(ctl anon_create "$p" 16K); [ "$fd" = 3 ] || fail "anon_create fd $fd"
ctl mmap "$p" 16K shared fd="$fd" >/dev/null || fail "mapping an anon_create fd"
[ "$(ctl open "$p" /etc/passwd)" = 4 ] || fail "open a simulated file"
[ "$(readlink "$MNT/$p/fd/4")" = /etc/passwd ] || fail "fd/4 link"
before=$(cut -d' ' -f1 "$MNT/uptime"); ctl tick 2.5; after=$(cut -d' ' -f1 "$MNT/uptime")
python3 -c "import sys; assert abs(float(sys.argv[2]) - float(sys.argv[1]) - 2.5) < 1e-6" "$before" "$after" || fail "tick: $before -> $after"
ctl resume; ctl pause
ctl help | grep -q "^spawn NAME" || fail "help"
exec 3<> "$MNT/sim/ctl"; echo "spawn via-fd" >&3; read -r viafd <&3; exec 3>&-
[ -d "$MNT/$viafd" ] || fail "result read back from the same open file: '$viafd'"
ok "commands"
