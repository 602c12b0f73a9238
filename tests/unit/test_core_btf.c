// SPDX-License-Identifier: GPL-2.0
/* CO-RE's cut-down target (lib/core_btf.c), on a small kernel BTF and a module split on it:
 * a struct the object names is copied with its members' names, offsets and bitfields, what it
 * holds by value copied once, pointers as pointers to void; a flavour (name___suffix) finds
 * the kernel's name; a name vmlinux has is never taken from a module; a name it lacks is; a
 * type the object does not name is left out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <bpf/btf.h>
#include <cmocka.h>
#include "vt.h"

struct world {
	struct btf *base, *mod, *local;
	int base_int, base_inner, base_outer;
};

/* vmlinux: int; struct inner { int a; }; struct outer { int x; struct inner in; struct outer
 * *self; int arr[4]; int bits:3; }; struct unused { int z; }; enum state { ON = 1 }.
 * The module: struct outer { int other; } (never a candidate: vmlinux has one), struct
 * modstruct { struct inner i; struct outer *p; }. */
static void make_kernel(struct world *w)
{
	int self_ptr, arr;

	w->base = btf__new_empty();
	assert_non_null(w->base);
	w->base_int = btf__add_int(w->base, "int", 4, BTF_INT_SIGNED);
	w->base_inner = btf__add_struct(w->base, "inner", 4);
	assert_int_equal(btf__add_field(w->base, "a", w->base_int, 0, 0), 0);
	/* the types outer's members use first (btf__add_field adds to the last type): its
	 * pointer to itself names the id outer gets next but one */
	arr = btf__add_array(w->base, w->base_int, w->base_int, 4);
	self_ptr = btf__add_ptr(w->base, btf__type_cnt(w->base) + 1);
	assert_true(self_ptr > 0 && arr > 0);
	w->base_outer = btf__add_struct(w->base, "outer", 40);
	assert_int_equal(btf__type_by_id(w->base, self_ptr)->type, w->base_outer);
	assert_int_equal(btf__add_field(w->base, "x", w->base_int, 0, 0), 0);
	assert_int_equal(btf__add_field(w->base, "in", w->base_inner, 32, 0), 0);
	assert_int_equal(btf__add_field(w->base, "self", self_ptr, 64, 0), 0);
	assert_int_equal(btf__add_field(w->base, "arr", arr, 128, 0), 0);
	assert_int_equal(btf__add_field(w->base, "bits", w->base_int, 256, 3), 0);
	assert_true(btf__add_struct(w->base, "unused", 4) > 0);
	assert_int_equal(btf__add_field(w->base, "z", w->base_int, 0, 0), 0);
	assert_true(btf__add_enum(w->base, "state", 4) > 0);
	assert_int_equal(btf__add_enum_value(w->base, "ON", 1), 0);

	w->mod = btf__new_empty_split(w->base);
	assert_non_null(w->mod);
	assert_true(btf__add_struct(w->mod, "outer", 4) > 0);
	assert_int_equal(btf__add_field(w->mod, "other", w->base_int, 0, 0), 0);
	self_ptr = btf__add_ptr(w->mod, w->base_outer);
	assert_true(btf__add_struct(w->mod, "modstruct", 16) > 0);
	assert_int_equal(btf__add_field(w->mod, "i", w->base_inner, 0, 0), 0);
	assert_int_equal(btf__add_field(w->mod, "p", self_ptr, 64, 0), 0);
}

/* The object: struct outer___v2, modstruct, missing, unused____x, enum state, each with an
 * int member where it is a struct (what they hold does not matter: only their names). */
static void make_local(struct world *w)
{
	/* unused____x: four underscores are no flavour (libbpf's rule), so not "unused" */
	static const char *const structs[] = { "outer___v2", "modstruct", "missing",
					       "unused____x" };
	int i32;

	w->local = btf__new_empty();
	assert_non_null(w->local);
	i32 = btf__add_int(w->local, "int", 4, BTF_INT_SIGNED);
	for (size_t i = 0; i < 4; i++) {
		assert_true(btf__add_struct(w->local, structs[i], 4) > 0);
		assert_int_equal(btf__add_field(w->local, "x", i32, 0, 0), 0);
	}
	assert_true(btf__add_enum(w->local, "state", 4) > 0);
	assert_int_equal(btf__add_enum_value(w->local, "ON", 1), 0);
}

static int count_named(const struct btf *btf, const char *name, int kind)
{
	int n = 0;

	for (__u32 id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		n += btf_kind(t) == kind && !strcmp(btf__name_by_offset(btf, t->name_off), name);
	}
	return n;
}

static const struct btf_member *member(const struct btf *btf, int id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	for (int i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, btf_members(t)[i].name_off), name))
			return &btf_members(t)[i];
	fail_msg("no member %s", name);
	return NULL;
}

static void test_cut_down(void **state)
{
	struct world w = { 0 };
	const struct btf *mods[1];
	const struct btf_member *m;
	const struct btf_type *t;
	struct btf *out;
	int found, names, outer, mod;

	(void)state;
	make_kernel(&w);
	make_local(&w);
	mods[0] = w.mod;
	out = vt_core_btf_make((const struct btf *const *)&w.local, 1, w.base, mods, 1, &found,
			       &names);
	assert_non_null(out);
	assert_int_equal(names, 5);
	assert_int_equal(found, 3); /* outer (as outer___v2), modstruct, state; not missing */

	/* vmlinux's outer only, with its layout */
	assert_int_equal(count_named(out, "outer", BTF_KIND_STRUCT), 1);
	outer = btf__find_by_name_kind(out, "outer", BTF_KIND_STRUCT);
	t = btf__type_by_id(out, outer);
	assert_int_equal(t->size, 40);
	assert_int_equal(btf_vlen(t), 5);
	m = member(out, outer, "in");
	assert_int_equal(btf_member_bit_offset(t, 1), 32);
	assert_int_equal(m->type, btf__find_by_name_kind(out, "inner", BTF_KIND_STRUCT));
	m = member(out, outer, "self");
	assert_true(btf_is_ptr(btf__type_by_id(out, m->type)));
	assert_int_equal(btf__type_by_id(out, m->type)->type, 0); /* to void */
	m = member(out, outer, "arr");
	assert_true(btf_is_array(btf__type_by_id(out, m->type)));
	assert_int_equal(btf_array(btf__type_by_id(out, m->type))->nelems, 4);
	assert_int_equal(btf__resolve_size(out, m->type), 16);
	assert_int_equal(btf_member_bit_offset(t, 4), 256);
	assert_int_equal(btf_member_bitfield_size(t, 4), 3);

	/* the module's struct, holding the same inner as vmlinux's outer (one copy) */
	mod = btf__find_by_name_kind(out, "modstruct", BTF_KIND_STRUCT);
	assert_true(mod > 0);
	assert_int_equal(member(out, mod, "i")->type,
			 btf__find_by_name_kind(out, "inner", BTF_KIND_STRUCT));
	assert_int_equal(count_named(out, "inner", BTF_KIND_STRUCT), 1);
	assert_true(btf__find_by_name_kind(out, "state", BTF_KIND_ENUM) > 0);
	assert_true(btf__find_by_name_kind(out, "unused", BTF_KIND_STRUCT) < 0);
	assert_true(btf__find_by_name_kind(out, "missing", BTF_KIND_STRUCT) < 0);

	btf__free(out);
	btf__free(w.local);
	btf__free(w.mod);
	btf__free(w.base);
}

/* Without the module, its struct is not found, and the rest is as before. */
static void test_no_module(void **state)
{
	struct world w = { 0 };
	struct btf *out;
	int found, names;

	(void)state;
	make_kernel(&w);
	make_local(&w);
	out = vt_core_btf_make((const struct btf *const *)&w.local, 1, w.base, NULL, 0, &found,
			       &names);
	assert_non_null(out);
	assert_int_equal(found, 2);
	assert_true(btf__find_by_name_kind(out, "modstruct", BTF_KIND_STRUCT) < 0);
	assert_int_equal(count_named(out, "outer", BTF_KIND_STRUCT), 1);
	btf__free(out);
	btf__free(w.local);
	btf__free(w.mod);
	btf__free(w.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_down),
		cmocka_unit_test(test_no_module),
	};

	return cmocka_run_group_tests_name("core_btf", tests, NULL, NULL);
}
