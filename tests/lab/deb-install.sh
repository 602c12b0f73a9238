#!/bin/sh
# Guest side of tests/lab/deb-test: install the release .deb with Debian's own dpkg in a
# clean Debian 12 (the /debian12 chroot from tests/lab/mkdebian12), run the installed
# vfio-trace doctor there, check the bash completion it installed, remove the package.
. /lab/lib.sh
R=/debian12
[ -x $R/usr/bin/dpkg ] || fail "no Debian 12 rootfs at $R (run-vm --initrd-extra build/lab/debian12.cpio)"
mount -t proc proc $R/proc && mount -t sysfs sysfs $R/sys && mount -t devtmpfs devtmpfs $R/dev &&
	mount -t tracefs tracefs $R/sys/kernel/tracing && mount -t debugfs debugfs $R/sys/kernel/debug &&
	mount -t bpf bpf $R/sys/fs/bpf || fail "mounts in $R"
cp /lab/files/vfio-trace.deb $R/tmp/vfio-trace.deb
in_deb() { chroot $R /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
note debian_version "$(cat $R/etc/debian_version)"
note dpkg_version "$(in_deb dpkg-query -W -f='${Version}' dpkg)"
[ ! -e $R/usr/sbin/vfio-trace ] || fail "vfio-trace already in the rootfs"
in_deb dpkg -i /tmp/vfio-trace.deb > /out/dpkg-i.log 2>&1; echo $? > /out/dpkg-i.rc
in_deb dpkg-query -W -f='${db:Status-Abbrev}|${Version}\n' vfio-trace > /out/query.txt 2>&1
in_deb dpkg -L vfio-trace > /out/files.txt 2>&1
in_deb dpkg --verify vfio-trace > /out/verify.txt 2>&1; echo $? > /out/verify.rc
in_deb which vfio-trace > /out/which.txt 2>&1
in_deb vfio-trace doctor > /out/doctor.txt 2>&1; echo $? > /out/doctor.rc
in_deb vfio-trace doctor --json > /out/doctor.json 2> /out/doctor-json.err; echo $? > /out/doctor-json.rc
in_deb bash -c '. /usr/share/bash-completion/completions/vfio-trace && complete -p vfio-trace &&
	COMP_WORDS=(vfio-trace top --so); COMP_CWORD=2; _vfio_trace vfio-trace --so top; echo "${COMPREPLY[*]}"' \
	> /out/complete.txt 2>&1
in_deb dpkg -r vfio-trace > /out/dpkg-r.log 2>&1; echo $? > /out/dpkg-r.rc
[ -e $R/usr/sbin/vfio-trace ] && echo present > /out/after-remove.txt || echo gone > /out/after-remove.txt
exit 0
