# scenario: zombies
# options: --paused
# Bad input gets EINVAL (or the kernel's errno) and changes nothing.
source "$(dirname "$0")/lib.sh"
snapshot() { cat "$MNT/all" "$MNT/memstat"; ls "$MNT"; }
before=$(snapshot)
bad() { expect_error "$1" bash -c "printf '%s\n' \"\$1\" > '$MNT/sim/ctl'" _ "$2"; }
bad "Invalid argument" "frobnicate"
bad "Invalid argument" "spawn"
bad "Invalid argument" "fork"
bad "Invalid argument" "fork notanumber"
bad "Invalid argument" "mmap 3 12Q"
bad "Invalid argument" "mmap 3 -1"
bad "Invalid argument" "mmap 3 0"
bad "Invalid argument" "kill 3 SIGNOPE"
bad "Invalid argument" "exit 3 256"
bad "Invalid argument" "spawn x uid=-5"
bad "Invalid argument" "spawn x nosuch=1"
bad "Invalid argument" "spawn x cmdline=\"unclosed"
bad "Invalid argument" "madvise 3 0x10000000 4096 sideways"
bad "Invalid argument" "tick -3"
bad "No such process" "fork 999"
bad "No such process" "exit 4"
bad "No child processes" "wait 2 4"
bad "Resource temporarily unavailable" "wait 2 3"
bad "Cannot allocate memory" "mmap 3 100G"
expect_error "Invalid argument" bash -c "head -c 10000000 /dev/zero | tr '\\0' a > '$MNT/sim/ctl'"
expect_error "Invalid argument" bash -c "head -c 4096 /dev/urandom > '$MNT/sim/ctl'"
expect_error "Invalid argument" bash -c "printf 'spawn a\\0b\\n' > '$MNT/sim/ctl'"
expect_error "Invalid argument" bash -c "printf '\\n\\n' > '$MNT/sim/ctl'"
[ "$(snapshot)" = "$before" ] || fail "a failed command changed something"
ok "bad input"
