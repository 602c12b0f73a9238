/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio-workload: shared definitions (options, counters, container state).
 *
 * The workload drives the VFIO type1 DMA-unmap path through the vfio_dmatest
 * test module and keeps exact counters of what it did and of what the kernel
 * must therefore have done (notifies, callbacks, retries, registrations).
 */
#ifndef VFIO_WORKLOAD_H
#define VFIO_WORKLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <linux/types.h>

#define WL_MAX_DEVICES	    64
#define WL_MAX_CONTAINERS   256
#define WL_MAX_THREADS	    64
#define WL_MAX_FDS	    16	/* device fds per device (lifecycle --fds) */
#define WL_PIN_CHUNK	    512 /* pages per DMATEST_PIN ioctl (module limit) */
#define WL_IOVA_BASE	    0x100000000ULL
#define WL_MAX_MAPS	    65535 /* vfio_iommu_type1 dma_entry_limit default */
/* --leave-mapped: a 4 GiB VM's 4 KiB mappings; more than dma_entry_limit needs it raised */
#define WL_MAX_LEAVE_MAPPED 1048576

enum scenario {
	SC_SINGLE,
	SC_RATE,
	SC_STORM,
	SC_SMALL,
	SC_LARGE,
	SC_MULTIDEV,
	SC_MULTICONTAINER,
	SC_THREADS,
	SC_NOPIN,
	SC_RETRY,
	SC_NOCB_PIN,
	SC_LIFECYCLE,
	SC_DEADLOCK,
	SC_SLOW_NOTIFY,
	SC_PCI,
	SC__N
};

enum unmap_mode { UNMAP_EACH, UNMAP_RANGE };

struct options {
	enum scenario scenario;
	unsigned devices;    /* devices per container */
	unsigned containers; /* processes, one container each */
	uint64_t iterations; /* cycles per thread (0: until --duration) */
	double duration;     /* seconds, 0 = use iterations */
	unsigned maps;	     /* vfio_dma per cycle per thread */
	uint64_t map_size;   /* bytes per vfio_dma */
	unsigned pin_pages;  /* pages pinned per vfio_dma */
	unsigned threads;    /* cycle threads per container */
	double rate;	     /* cycles per second per thread (rate) */
	unsigned delay_us;   /* module knob */
	unsigned fault_k;    /* module knob, armed before each unmap */
	bool nocb;	     /* use vfio_dmatest_nocb.* devices */
	bool iommufd;	     /* device cdev + /dev/iommu IOAS instead of a type1 container */
	bool past_limit;     /* --iommufd range unmaps over > 100 pinned areas (-EDEADLOCK) */
	bool verify;	     /* pin with the marker flag and check it */
	bool unpin;	     /* DMATEST_UNPIN every pin before the unmap */
	bool bad_unmaps;     /* two refused UNMAP_DMA before each unmap (type1) */
	enum unmap_mode unmap_mode;
	unsigned fds;	       /* device fds opened per device per lifecycle cycle */
	unsigned first_dev;    /* device number offset (default 0) */
	const char *driver;    /* device base name (default vfio_dmatest; vfio_dmatest2: the
				 * second test driver) */
	unsigned leave_mapped; /* vfio_dma mapped after the cycles and never unmapped: the
				 * kernel removes them when the container goes (a VM's exit) */
	double hold;	       /* seconds */
	double go_timeout;     /* seconds to wait for --go-file */
	const char *json_path; /* NULL = stdout */
	const char *ready_file;
	const char *go_file;
	const char *done_file;
	const char *pci;    /* pci: the vfio-pci device's BDF (NULL: the one bound to vfio-pci) */
	unsigned huge_maps; /* pci: hugetlbfs-backed vfio_dma per cycle */
	uint64_t huge_size; /* pci: bytes per hugetlbfs-backed vfio_dma (2 MiB multiple) */
	bool module_stats;  /* read sysfs dmatest_stats before/after */
	bool quiet;
};

extern const char *const scenario_names[SC__N];
/* options.c: argv into o, with the scenario's defaults; a bad option exits 2. */
void parse_args(int argc, char **argv, struct options *o);

/* ---- counters -------------------------------------------------------------------------- */
/* Per container (container-fd ioctls and what the kernel must do for them). */
#define CT_COUNTERS(X)                                                                             \
	X(cycles)		    /* MAP->PIN->UNMAP (or open/close) cycles completed */         \
	X(map_dma_ok)		    /* VFIO_IOMMU_MAP_DMA ioctls that succeeded */                 \
	X(map_dma_err)		    /* ... that failed */                                          \
	X(bytes_mapped)		    /* sum of sizes successfully mapped */                         \
	X(unmap_dma_ok)		    /* VFIO_IOMMU_UNMAP_DMA ioctls that succeeded */               \
	X(unmap_dma_err)	    /* ... that failed */                                          \
	X(unmap_edeadlock)	    /* ... of which with EDEADLOCK (--past-limit) */               \
	X(unmap_bytes_requested)    /* sum of the size argument */                                 \
	X(unmap_bytes_unmapped)	    /* sum of the size the kernel returned */                      \
	X(vfio_dma_removed)	    /* vfio_dma removed by UNMAP_DMA (= vfio_remove_dma calls) */  \
	X(vfio_dma_pinned_unmapped) /* of those, vfio_dma that had pinned pages */                 \
	X(notifies_expected)	    /* vfio_notify_dma_unmap rounds the kernel must run */         \
	X(notify_bytes_expected)    /* sum of dma->size over those notifies */                     \
	X(retries_expected)	    /* notifies repeated on the same vfio_dma (fault_k) */         \
	X(teardowns_expected)	 /* containers let go with vfio_dma still mapped (no UNMAP_DMA) */ \
	X(teardown_dma_expected) /* vfio_dma the kernel removes then (vfio_remove_dma calls)   */  \
	X(teardown_bytes_expected) /* their bytes */

/* Per device (device-fd ioctls and the callbacks the device must receive). */
#define DEV_COUNTERS(X)                                                                           \
	X(device_fd_opens)	     /* VFIO_GROUP_GET_DEVICE_FD that succeeded */                \
	X(device_fd_closes)	     /* device fds closed */                                      \
	X(register_calls_expected)   /* first opens: vfio_iommu_type1_register_device calls */    \
	X(unregister_calls_expected) /* last closes: vfio_iommu_type1_unregister_device calls */  \
	X(register_expected)	     /* ... of which joined device_list (device has dma_unmap) */ \
	X(unregister_expected)	     /* ... of which left device_list */                          \
	X(pin_ioctls)		     /* DMATEST_PIN ioctls issued */                              \
	X(pin_ok)		     /* ... that pinned every page asked */                       \
	X(pin_err)		     /* ... that failed */                                        \
	X(pin_einval)		     /* ... of which with EINVAL (expected with no dma_unmap) */  \
	X(pages_pinned)		     /* pages pinned successfully */                              \
	X(unpin_ioctls)		     /* DMATEST_UNPIN ioctls */                                   \
	X(pages_unpinned_ioctl)	     /* pages given back through DMATEST_UNPIN */                 \
	X(pages_unpinned_close)	     /* pages still pinned when the device was last closed */     \
	X(unpin_calls_expected)	     /* vfio_unpin_pages calls: one per pinned range released */  \
	X(pages_unpinned_expected)   /* pages those calls give back (ioctl, callback, close) */   \
	X(dma_unmap_calls_expected)  /* ->dma_unmap callbacks: notifies while registered */       \
	X(dma_unmap_bytes_expected)  /* sum of their length argument */                           \
	X(unpinned_in_cb_expected)   /* pages the callbacks must unpin */                         \
	X(faults_expected)	     /* callbacks that keep their pins (fault_k) */               \
	X(knob_sets)		     /* DMATEST_SET_KNOBS ioctls on this device */                \
	X(detach_unmaps_expected) /* --iommufd: dma_unmap(0, ULONG_MAX) at unbind (in the above) */

#define X_ENUM(n) CT_##n,
enum { CT_COUNTERS(X_ENUM) CT__N };
#undef X_ENUM
#define X_ENUM(n) DC_##n,
enum { DEV_COUNTERS(X_ENUM) DC__N };
#undef X_ENUM

extern const char *const ct_names[CT__N];
extern const char *const dc_names[DC__N];

typedef _Atomic uint64_t counter_t;

static inline void cadd(counter_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* A device's (DADD) or a container's (CADD) counter n, by name. */
#define DADD(d, n, v) cadd(&(d)->c[DC_##n], (v))
#define CADD(c, n, v) cadd(&(c)->c[CT_##n], (v))

static inline uint64_t cget(counter_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* ---- state of one container (one process) ---------------------------------------------- */
struct wdev {
	char name[64];
	int group_no; /* /dev/vfio/N */
	int group_fd;
	int cdev_no; /* --iommufd: /dev/vfio/devices/vfioN */
	bool cb;     /* device has .dma_unmap (vfio_dmatest.*, not _nocb) */
	int fds[WL_MAX_FDS];
	unsigned nfds;	     /* open device fds */
	bool knobs_dirty;    /* knobs were set through the fd: reset them at teardown */
	unsigned fault_left; /* model of the module's fault_k (under unmap_lock) */
	counter_t c[DC__N];
};

/* One vfio_dma slot: thread t, map j at iova WL_IOVA_BASE + (t * maps + j) * map_size. */
struct dmarec {
	uint64_t iova;
	bool mapped;
	int pinner;	 /* device index holding the pins, -1 = none */
	unsigned chunks; /* DMATEST_PIN ranges recorded by the module (one unpin call each) */
	uint64_t pages;	 /* pages pinned in this dma */
};

struct wcontainer {
	const struct options *opt;
	unsigned index;
	int pid;
	int fd;		  /* /dev/vfio/vfio, or /dev/iommu with --iommufd */
	unsigned ioas_id; /* --iommufd: the container's IOAS */
	unsigned ndev;
	struct wdev dev[WL_MAX_DEVICES];
	pthread_mutex_t unmap_lock; /* serializes UNMAP_DMA (and registration changes) */
	unsigned char *buf;	    /* pre-faulted backing memory, shared by every vfio_dma */
	uint64_t buflen;
	struct dmarec *recs; /* threads * maps */
	unsigned nrecs;
	counter_t c[CT__N];
	double elapsed;	      /* seconds spent in the cycles */
	double teardown_s;    /* seconds in the closes that let the container go (wc_teardown) */
	uint64_t late_cycles; /* rate: cycles that started after their slot */
	atomic_bool failed;
	char err[512];
	pthread_mutex_t err_lock;
};

/* engine.c (wc_run), setup.c (wc_setup, wc_teardown) */
int wc_setup(struct wcontainer *c, const struct options *o, unsigned index);
int wc_run(struct wcontainer *c);
int wc_teardown(struct wcontainer *c);
void wc_fail(struct wcontainer *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern volatile sig_atomic_t wl_stop;
/* engine.c's operations that setup.c uses too (setup.c: wc_setup, wc_teardown) */
int sysfs_read_u64(const char *path, uint64_t *v);
int sysfs_write(const char *path, const char *val);
int dev_open(struct wcontainer *c, unsigned k);
void dev_close_one(struct wcontainer *c, unsigned k);
int set_knobs(struct wcontainer *c, unsigned k, unsigned delay_us, unsigned fault_k);
int do_map(struct wcontainer *c, struct dmarec *r);
int unmap_locked(struct wcontainer *c, struct dmarec *recs, unsigned n, bool arm);

/* iommufd.c: --iommufd's setup, device open, map and unmap (see there) */
int iommufd_setup(struct wcontainer *c);
int iommufd_dev_open(struct wcontainer *c, unsigned k);
int iommufd_map(struct wcontainer *c, uint64_t iova, uint64_t size);
int iommufd_unmap(struct wcontainer *c, uint64_t iova, __u64 *size);

/* pci.c: the pci scenario, a vfio-pci device with a real IOMMU domain (see there) */
int pci_main(const struct options *o);

/* hang.c: the deadlock and slow-notify scenarios (for vfio-trace hung) */
int hang_main(const struct options *o);

/* report.c */
struct json_object;
struct json_object *wc_to_json(struct wcontainer *c);
struct json_object *modstats_read(const char *dev, char *err, size_t errlen);
struct json_object *modstats_delta(struct json_object *before, struct json_object *after);
struct json_object *expect_module(struct json_object *dev_counters);
double now_s(void);

#endif
