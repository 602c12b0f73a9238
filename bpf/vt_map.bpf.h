/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A BPF map with a key and a value, declared in one line (libbpf's BTF-defined map: the
 * struct's members say its type, size and key and value types):
 *     VT_MAP(BPF_MAP_TYPE_LRU_HASH, 4096, __u32, struct vtr_teardown) vt_teardowns SEC(".maps");
 */
#ifndef VT_MAP_BPF_H
#define VT_MAP_BPF_H

#define VT_MAP(kind, entries, key_type, value_type) \
	struct {                                    \
		__uint(type, kind);                 \
		__uint(max_entries, entries);       \
		__type(key, key_type);              \
		__type(value, value_type);          \
	}

#endif
