# Helpers for procsim shell tests. The runner sets MNT (the mount) and PROCSIM (the CLI).
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
ctl() { $PROCSIM ctl "$MNT" "$@"; }
# expect_error MESSAGE COMMAND...: the command must fail and print MESSAGE on stderr
expect_error() {
  local message=$1; shift
  local err
  if err=$("$@" 2>&1 >/dev/null); then fail "'$*' succeeded, expected '$message'"; fi
  case "$err" in *"$message"*) ;; *) fail "'$*' said '$err', expected '$message'";; esac
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
