// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel enum value names from vmlinux BTF, loaded once and cached, so the
 * printers stay libbpf-free and the names match the running kernel.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "btf_names.h"

struct enum_names {
	const char *type;   /* BTF enum name */
	const char *prefix; /* stripped from every value name */
	bool tried;
	uint32_t nr;
	uint32_t *vals;
	char **names;
};

static struct enum_names rst_reasons = {
	.type = "sk_rst_reason",
	.prefix = "SK_RST_REASON_",
};

static void enum_names_free(struct enum_names *en)
{
	for (uint32_t i = 0; i < en->nr; i++)
		free(en->names[i]);
	free(en->names);
	free(en->vals);
	en->names = NULL;
	en->vals = NULL;
	en->nr = 0;
	en->tried = false;
}

/* Copy the enum out of BTF so the (large) vmlinux BTF can be freed at once.
 * Tried once: a kernel without BTF or without the enum stays "". */
static int enum_names_load(struct enum_names *en)
{
	size_t plen = strlen(en->prefix);
	const struct btf_enum *e;
	const struct btf_type *t;
	struct btf *btf;
	const char *name;
	int err = 0, id;
	uint32_t i, vlen;

	en->tried = true;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, en->type, BTF_KIND_ENUM);
	if (id < 0) {
		err = id;
		goto cleanup;
	}
	t = btf__type_by_id(btf, id);
	vlen = btf_vlen(t);
	e = btf_enum(t);
	en->vals = calloc(vlen, sizeof(*en->vals));
	en->names = calloc(vlen, sizeof(*en->names));
	if (!en->vals || !en->names) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < vlen; i++) {
		name = btf__name_by_offset(btf, e[i].name_off);
		if (!name)
			continue;
		if (!strncmp(name, en->prefix, plen))
			name += plen;
		en->names[en->nr] = strdup(name);
		if (!en->names[en->nr]) {
			err = -ENOMEM;
			goto cleanup;
		}
		en->vals[en->nr++] = (uint32_t)e[i].val;
	}
cleanup:
	if (err) {
		enum_names_free(en);
		en->tried = true;
	}
	btf__free(btf);
	return err;
}

static const char *enum_name(struct enum_names *en, uint32_t v)
{
	if (!en->tried)
		enum_names_load(en);
	for (uint32_t i = 0; i < en->nr; i++)
		if (en->vals[i] == v)
			return en->names[i];
	return "";
}

const char *rst_reason_name(uint32_t v)
{
	return enum_name(&rst_reasons, v);
}

void btf_names__free(void)
{
	enum_names_free(&rst_reasons);
}
