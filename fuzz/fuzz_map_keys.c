/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_map_keys.c - libFuzzer target: address keys, map specs, table files and IP lists */

/*
 * One input is used four ways: as an address for mavis_addr_keys (with and
 * without a delimiter), as a map spec for every value kind and key type, as
 * the contents of a hash:/pcre:/cidr: file, and as an IP list and address.
 * Broken invariants abort(), so that libFuzzer reports them like crashes.
 *
 * clang -fsanitize=fuzzer,address,undefined -I lib/include -I lib fuzz/fuzz_map_keys.c \
 *   lib/maps/[a-z]*.c lib/util/[a-z]*.c $(pkg-config --cflags --libs libpcre2-8)
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mavis/arena.h>
#include <mavis/maps.h>

#include "maps/maps_int.h"

/* Map specs are config lines and table files are bounded too; bigger inputs
   only slow the fuzzer down. */
#define FUZZ_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mavis_map_opts fuzz_opts[] = {
	{ .recipient_delimiter = NULL },
	{ .recipient_delimiter = "+" },
	{ .recipient_delimiter = "+-", .localpart_is_case_sensitive = true },
	{ .recipient_delimiter = "-" },
};

static const char *const fuzz_keys[] = {
	"User+Ext@Sub.Example.COM", "postmaster@[127.0.0.1]", "", "10.1.2.3", "::1",
	"::ffff:192.168.1.1", "fe80::1%eth0", "Eicar-Test-Signature",
};

static char tmp_path[64];

static void
remove_tmp(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
}

/* The file the table loaders read: rewritten for every input. */
static const char *
table_file(const uint8_t *data, size_t size)
{
	FILE *f;

	if (!tmp_path[0]) {
		int fd;

		snprintf(tmp_path, sizeof(tmp_path), "/tmp/fuzz-map-XXXXXX");
		fd = mkstemp(tmp_path);
		if (fd < 0)
			abort();
		close(fd);
		atexit(remove_tmp);
	}
	f = fopen(tmp_path, "w");
	if (f == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	return tmp_path;
}

static void
check_keys(const char *addr, struct mavis_arena *a)
{
	for (size_t o = 0; o < sizeof(fuzz_opts) / sizeof(fuzz_opts[0]); o++) {
		for (int bare = 0; bare < 2; bare++) {
			const char **keys = NULL;
			size_t n = mavis_addr_keys(addr, &fuzz_opts[o], bare, a, &keys);
			bool dot = false;

			if (n == 0 || n > MAP_ADDR_KEYS_MAX || keys == NULL)
				abort();
			for (size_t i = 0; i < n; i++) {
				if (keys[i] == NULL)
					abort();
				dot |= strcmp(keys[i], ".") == 0;
				for (size_t j = 0; j < i; j++)
					if (strcmp(keys[i], keys[j]) == 0)
						abort();
			}
			if (!dot || (bare && strcmp(keys[0], addr) != 0))
				abort();
		}
	}
}

static void
lookups(const struct mavis_maplist *ml, const char *input, struct mavis_arena *scratch)
{
	struct mavis_map_result res;
	struct mavis_error err;

	for (size_t o = 0; o < sizeof(fuzz_opts) / sizeof(fuzz_opts[0]); o++) {
		for (size_t k = 0; k < sizeof(fuzz_keys) / sizeof(fuzz_keys[0]); k++)
			if (mavis_maplist_lookup(ml, fuzz_keys[k], &fuzz_opts[o], scratch, &res,
						 &err) == 1 &&
			    (res.value == NULL || res.table == NULL || res.key == NULL))
				abort();
		if (mavis_maplist_lookup(ml, input, &fuzz_opts[o], scratch, &res, &err) == 1 &&
		    res.value == NULL)
			abort();
	}
}

static void
parse_all_kinds(const char *spec, const char *input, struct mavis_arena *a)
{
	for (int kind = MAVIS_MAPVAL_BOOL; kind <= MAVIS_MAPVAL_STRING; kind++) {
		for (int kt = MAVIS_MAPKEY_ADDR; kt <= MAVIS_MAPKEY_STRING; kt++) {
			struct mavis_maplist *ml = NULL;
			struct mavis_error err;
			int r = mavis_maplist_parse(spec, (enum mavis_mapval)kind,
						    (enum mavis_mapkey)kt, "/nonexistent", a, &ml,
						    &err);

			if ((r == 0) != (ml != NULL))
				abort();
			if (r == 0) {
				lookups(ml, input, a);
				mavis_maplist_free(&ml);
			} else if (err.status != r || err.text[0] == '\0') {
				abort();
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a;
	struct mavis_iplist *ip = NULL;
	const char *local, *domain, *path;
	char spec[128];
	char *s;

	if (size > FUZZ_MAX)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	a = mavis_arena_new(0);

	check_keys(s, a);
	mavis_addr_split(s, a, &local, &domain);

	/* As a spec, but not one that names files: the fuzzer must not read
	   whatever it guesses. Table files are fed below instead. */
	if (strstr(s, "hash:") == NULL && strstr(s, "pcre:") == NULL &&
	    strstr(s, "cidr:") == NULL)
		parse_all_kinds(s, s, a);

	path = table_file(data, size);
	snprintf(spec, sizeof(spec), "hash:%s", path);
	parse_all_kinds(spec, s, a);
	snprintf(spec, sizeof(spec), "pcre:%s", path);
	parse_all_kinds(spec, s, a);
	snprintf(spec, sizeof(spec), "cidr:%s", path);
	parse_all_kinds(spec, s, a);

	if (mavis_iplist_parse(s, a, &ip, NULL) == 0) {
		if (ip == NULL)
			abort();
		for (size_t k = 0; k < sizeof(fuzz_keys) / sizeof(fuzz_keys[0]); k++)
			if (mavis_iplist_match(ip, fuzz_keys[k]) < MAVIS_ERR_PARSE)
				abort();
	}
	ip = NULL;
	if (mavis_iplist_parse("127.0.0.0/8 [::1] 10/8 !10.1.2.3 [fe80::]/10 ::/0", a, &ip,
			       NULL) != 0)
		abort();
	if (mavis_iplist_match(ip, s) > 1)
		abort();

	mavis_arena_free(&a);
	free(s);
	return 0;
}
