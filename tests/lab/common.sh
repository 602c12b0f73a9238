# tests/lab/common.sh: shared host-side helpers for the lab scripts (sourced, not run).
# Paths: everything generated lives under $LAB_BUILD (build/lab/ of the repository).

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LAB_DIR/../.." && pwd)
LAB_BUILD=${LAB_BUILD:-$REPO_DIR/build/lab}
KERNELS_LIST=${KERNELS_LIST:-$LAB_DIR/kernels.list}
KERNELS_RESOLVED=$LAB_BUILD/kernels.resolved

die() { echo "${0##*/}: error: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

# kernel_dir KVER -> extracted image root (boot/, lib/modules/)
kernel_dir() { echo "$LAB_BUILD/k/$1"; }

# need_kernel KVER: fail unless fetch has prepared KVER.
need_kernel() {
	local d; d=$(kernel_dir "$1")
	[ -f "$d/.fetched" ] || die "kernel $1 not fetched (run tests/lab/fetch; known: $(tr '\n' ' ' 2>/dev/null < "$KERNELS_RESOLVED"))"
}

# own_kernel KVER: true for a kernel tests/lab/build-kernel made (kver <version>-vt-<flavour>)
own_kernel() { case $1 in *-vt-*) return 0 ;; esac; return 1; }

# newest_debian_kernel: the last resolved kernel that is Debian's own (demo, README samples)
newest_debian_kernel() {
	local k last=""
	for k in $(resolved_kernels); do own_kernel "$k" || last=$k; done
	[ -n "$last" ] || die "no Debian kernel in $KERNELS_RESOLVED"
	echo "$last"
}

# resolved_kernels: print the resolved kernel versions (from the fetch cache).
resolved_kernels() {
	[ -s "$KERNELS_RESOLVED" ] || die "no $KERNELS_RESOLVED yet (run tests/lab/fetch)"
	cat "$KERNELS_RESOLVED"
}
