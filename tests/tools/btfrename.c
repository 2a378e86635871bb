// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* btfrename IN OUT OLD=NEW...: IN's BTF with the named structs renamed,
 * written to OUT as raw BTF. The tests relocate synfin's programs against
 * it (SYNFIN_TEST_CORE_BTF) to run, on this kernel, the code an older one
 * whose types have other names takes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>

static int rename_struct(struct btf *btf, const char *spec)
{
	char old[256];
	const char *eq = strchr(spec, '=');
	struct btf_type *t;
	int id, name;

	if (!eq || eq == spec || !eq[1] || (size_t)(eq - spec) >= sizeof(old)) {
		fprintf(stderr, "btfrename: bad rename '%s' (want OLD=NEW)\n", spec);
		return -EINVAL;
	}
	memcpy(old, spec, eq - spec);
	old[eq - spec] = '\0';
	id = btf__find_by_name_kind(btf, old, BTF_KIND_STRUCT);
	if (id < 0) {
		fprintf(stderr, "btfrename: no struct %s\n", old);
		return id;
	}
	/* first: adding a string makes the types writable (a copy) */
	name = btf__add_str(btf, eq + 1);
	if (name < 0)
		return name;
	t = (struct btf_type *)btf__type_by_id(btf, id);
	t->name_off = name;
	return 0;
}

int main(int argc, char **argv)
{
	struct btf *btf;
	const void *raw;
	__u32 size;
	FILE *out = NULL;
	int err = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: btfrename IN OUT OLD=NEW...\n");
		return 2;
	}
	btf = btf__parse(argv[1], NULL);
	if (!btf) {
		fprintf(stderr, "btfrename: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (int i = 3; i < argc && !err; i++)
		err = rename_struct(btf, argv[i]);
	if (err)
		goto cleanup;
	raw = btf__raw_data(btf, &size);
	out = fopen(argv[2], "w");
	if (!raw || !out || fwrite(raw, 1, size, out) != size || fflush(out)) {
		fprintf(stderr, "btfrename: writing %s: %s\n", argv[2], strerror(errno));
		err = -EIO;
	}
cleanup:
	if (out)
		fclose(out);
	btf__free(btf);
	return err ? 1 : 0;
}
