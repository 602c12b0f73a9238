#!/bin/sh
# lab test "export": vfio-trace export as a fleet runs it. The host's Prometheus scrapes it
# every second through QEMU's user network (host-side); the exporter also writes the textfile
# for node_exporter. The workloads start the way VMs start (only the exporter's "tracing" line
# is waited for), two of them with QEMU-like -name/-uuid; one leaves mappings for a teardown.
# Meanwhile the guest scrapes itself every second (each scrape linted by promtool on the
# host) and re-reads the textfile as fast as it can (never a partial file). Then a second
# exporter shows --forget and --max-series.
. /lab/lib.sh
dmesg_mark
net_up || fail "cannot bring the network up"
dmatest_load ndev=6 ndev_nocb=1 || fail "cannot load the test module"
mkdir -p /run/textfile /out/scrapes
echo 1 > /proc/sys/kernel/bpf_stats_enabled || fail "cannot enable bpf_stats"
vfio-trace export --listen 0.0.0.0:9826 --textfile /run/textfile --interval 1 \
	> /out/export.out 2> /out/export.err &
xp=$!
wait_line /out/export.err tracing 90 || fail "the exporter did not start"
(
	i=0
	while [ ! -e /tmp/stop ]; do
		wget -q -O /out/scrapes/$i.prom http://127.0.0.1:9826/metrics || echo "$i" >> /out/scrape-errors
		i=$((i + 1))
		sleep 1
	done
) &
sp=$!
(
	n=0 bad=0 seen=0
	while [ ! -e /tmp/stop ]; do
		# The first file comes just after the "tracing" line (the first snapshot is read
		# then): none yet is not a partial read. Once written it is only ever replaced
		# (rename), so from then on a missing file counts as a bad read too.
		if [ $seen = 0 ] && [ ! -e /run/textfile/vfio_trace.prom ]; then
			sleep 0.1
			continue
		fi
		seen=1
		# the last family written is build_info: a file without it is cut
		tail -n 1 /run/textfile/vfio_trace.prom 2>/dev/null | grep -q '^vfio_trace_build_info' || bad=$((bad + 1))
		n=$((n + 1))
	done
	echo "$bad $n" > /out/partial-reads
) &
rp=$!
# Hostile clients: 12 connections from another address that send half a request and hold
# (8 a client address are served, each dropped after 10 s idle), a POST, an unknown path,
# and bytes that are not HTTP. The scrapes above and the host's Prometheus must not notice.
i=0
while [ $i -lt 12 ]; do
	(printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n'; sleep 30) | nc 10.0.2.15 9826 > /dev/null 2>&1 &
	i=$((i + 1))
done
printf 'POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc' | nc 127.0.0.1 9826 > /out/post.http 2>&1
printf 'GET /nope HTTP/1.0\r\n\r\n' | nc 127.0.0.1 9826 > /out/nope.http 2>&1
head -c 4096 /dev/urandom | nc 127.0.0.1 9826 > /dev/null 2>&1
W=vfio-workload
wl web01 storm --iterations 2000 --name guest=web01,debug-threads=on \
	--uuid 1B4E28BA-2FA1-11D2-883F-0016D3CCA427
wl db7 multidev --devices 3 --iterations 40 --leave-mapped 2 --name db7 &
wl retry retry --fault-k 3 --iterations 5 --first-dev 4
wait $!
wl einval nocb-pin --iterations 5
# The exporter updates every second: three more and the last holds everything; then time for
# Prometheus to scrape it a few times.
sleep 3
cp /run/textfile/vfio_trace.prom /out/final.prom
sleep 4
touch /tmp/stop
wait $sp $rp
kill -INT $xp
wait $xp
echo $? > /out/export.rc
# A second exporter that forgets a VM 1 s after it exits and keeps at most 3 series: the
# VM "gone" must have left its series by the scrape 3 s after it ended, what did not fit
# must be counted. Its health checks (every second) must see the waits behind a notify that
# sleeps 5 s in the callbacks (a device open waits for device_list_lock, a pin for
# iommu->lock, as in the hung-slow test), and nobody once they are through.
vfio-trace export --listen 127.0.0.1:9827 --interval 0.5 --forget 1 --max-series 3 --health 1 \
	> /out/x2.out 2> /out/x2.err &
x2=$!
wait_line /out/x2.err tracing 90 || fail "the second exporter did not start"
"$W" storm --iterations 50 --name gone --quiet --json /out/gone.wl.json 2> /out/gone.wl.err ||
	fail "the gone workload failed"
"$W" slow-notify --quiet --delay-us 5000000 --json /out/slow.wl.json --ready-file /tmp/.waiting \
	> /dev/null 2> /out/slow.wl.err < /dev/null &
sl=$!
wait_file /tmp/.waiting 60 || fail "slow-notify never reached its waits: $(cat /out/slow.wl.err)"
sleep 2.5
wget -q -O /out/health-during.prom http://127.0.0.1:9827/metrics || fail "scrape during the waits"
wait $sl
echo $? > /out/slow.wl.rc
sleep 3
wget -q -O /out/x2-after.prom http://127.0.0.1:9827/metrics || fail "cannot scrape the second exporter"
cp /out/x2-after.prom /out/health-after.prom
kill -INT $x2
wait $x2
echo $? > /out/x2.rc
dmatest_unload || fail "rmmod failed"
dmesg_clean || fail "kernel log has errors"
exit 0
