# tests/lab/check-lib.sh: helpers for a lab test's host-side `check` (bash). Usage in check:
#   #!/bin/bash
#   . "$(dirname "$0")/../../check-lib.sh" "$@"     # sets OUT (the run's outdir), KVER
#   expect_status 0; expect_note uname "$KVER"; pass
# Every failing helper prints one line (the reason run-tests shows) and exits 1.
set -euo pipefail
[ $# -ge 1 ] && [ -d "$1" ] || { echo "check: usage: check <outdir> (got '${1:-}')"; exit 1; }
OUT=$1
KVER=$(sed -n 's/^kver=//p' "$OUT/times" 2>/dev/null || true)

fail() { echo "$*"; exit 1; }
pass() { exit 0; }

# note_get KEY: the value of the last "KEY=..." line of the guest's /out/notes (status 1 if none)
note_get() {
	[ -f "$OUT/notes" ] || return 1
	awk -v k="$1" 'index($0, k "=") == 1 { v = substr($0, length(k) + 2); f = 1 } END { if (f) print v; exit !f }' "$OUT/notes"
}

# expect_note KEY VALUE: fail unless note KEY equals VALUE exactly
expect_note() {
	local v
	v=$(note_get "$1") || fail "note $1 missing (guest wrote no $1=...)"
	[ "$v" = "$2" ] || fail "$1 is '$v', expected '$2'"
}

# expect_note_num KEY OP N: numeric comparison (OP: -eq -ne -lt -le -gt -ge)
expect_note_num() {
	local v
	v=$(note_get "$1") || fail "note $1 missing"
	case $v in ''|*[!0-9-]*) fail "$1 is '$v', not a number" ;; esac
	[ "$v" "$2" "$3" ] || fail "$1 is $v, expected $2 $3"
}

# expect_status N: fail unless the guest script exited with N (124 = guest-side timeout)
expect_status() {
	local s r
	s=$(cat "$OUT/status" 2>/dev/null || echo none)
	r=$(cat "$OUT/vm-result" 2>/dev/null || echo none)
	[ "$s" = "$1" ] && return 0
	case $r in
	host-timeout) fail "VM hung: killed by the host timeout, no report (see $OUT/console.log)" ;;
	no-report) fail "guest never reported (kernel panic? see $OUT/console.log)" ;;
	guest-timeout) fail "guest script timed out after $(cat "$OUT/timeout" 2>/dev/null)s$(note_get fail >/dev/null && echo ": $(note_get fail)")" ;;
	esac
	fail "guest script exited $s, expected $1$(note_get fail >/dev/null && echo ": $(note_get fail)")"
}

# expect_file NAME: fail unless the guest shipped /out/NAME
expect_file() { [ -e "$OUT/$1" ] || fail "guest did not write /out/$1"; }

# expect_dmesg_clean: fail if the guest's kernel log has BUG/WARNING/Oops/hung task/Call Trace
expect_dmesg_clean() {
	local l
	expect_file dmesg.txt
	l=$(grep -m1 -E 'BUG|WARNING|Oops|hung_task|blocked for more than|Call Trace' "$OUT/dmesg.txt" || true)
	[ -z "$l" ] || fail "kernel log: $l"
}
