/* SPDX-License-Identifier: GPL-2.0-or-later */
/* iplist.c - IPv4/IPv6 networks, IP ACLs (mynetworks) and their matching */

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "maps_int.h"

/* Long enough for any IPv6 text form, short enough for the stack. */
#define IP_TEXT_MAX 64

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Dotted IPv4 with 1..4 decimal parts (amavisd allows classful "10", "192.168").
   Returns the number of parts, 0 if s is not of that form. */
static int
parse_v4_parts(const char *s, size_t len, uint8_t out[4])
{
	int parts = 0;
	size_t i = 0;

	memset(out, 0, 4);
	while (i < len) {
		unsigned v = 0;
		size_t start = i;

		if (parts == 4)
			return 0;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			v = v * 10 + (unsigned)(s[i] - '0');
			if (v > 255 || i - start >= 3)
				return 0;
		}
		if (i == start)
			return 0;
		out[parts++] = (uint8_t)v;
		if (i < len) {
			if (s[i] != '.' || i + 1 == len)
				return 0;
			i++;
		}
	}
	return parts;
}

static int
parse_v6(const char *s, size_t len, uint8_t out[16])
{
	char buf[IP_TEXT_MAX];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/* Prefix length from "24" or, for IPv4, a contiguous "255.255.255.0". */
static int
parse_plen(const char *s, size_t len, bool v4, unsigned *out)
{
	unsigned v = 0;
	uint8_t m[4];

	if (len == 0)
		return -1;
	if (v4 && memchr(s, '.', len) != NULL) {
		uint32_t mask;

		if (parse_v4_parts(s, len, m) != 4)
			return -1;
		mask = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		/* Contiguous: the inverse plus one is a power of two. */
		if (((~mask + 1) & ~mask) != 0)
			return -1;
		for (v = 0; v < 32 && (mask & (0x80000000u >> v)); v++)
			;
		*out = v;
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 3)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > (v4 ? 32u : 128u))
		return -1;
	*out = v;
	return 0;
}

static void
apply_mask(uint8_t addr[16], unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		if (plen <= 8 * i)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff << (8 - (plen - 8 * i)));
	}
}

int
mavis_ip_parse_net(const char *s, size_t len, struct ip_net *out, struct mavis_error *err)
{
	const char *text = s, *a, *slash;
	size_t tlen = len, alen, plen_len = 0;
	const char *plen_s = NULL;
	uint8_t v4[4];
	int parts;

	memset(out, 0, sizeof(*out));
	for (; len > 0 && *s == '!'; s++, len--)
		out->neg = !out->neg;
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL)
			goto bad;
		a = s + 1;
		alen = (size_t)(close - a);
		if (close + 1 < s + len) {
			if (close[1] != '/')
				goto bad;
			plen_s = close + 2;
			plen_len = len - (size_t)(plen_s - s);
		}
	} else {
		slash = memchr(s, '/', len);
		a = s;
		alen = slash != NULL ? (size_t)(slash - s) : len;
		if (slash != NULL) {
			plen_s = slash + 1;
			plen_len = len - alen - 1;
		}
	}
	if (alen > 0 && memchr(a, ':', alen) != NULL) {
		if (parse_v6(a, alen, out->addr) != 0)
			goto bad;
		out->plen = 128;
		if (plen_s != NULL && parse_plen(plen_s, plen_len, false, &out->plen) != 0)
			goto bad;
	} else {
		parts = parse_v4_parts(a, alen, v4);
		if (parts == 0)
			goto bad;
		memcpy(out->addr, v4mapped, 12);
		memcpy(out->addr + 12, v4, 4);
		/* A short form is a classful prefix: "10" is 10/8, "192.168" 192.168/16. */
		out->plen = 8 * (unsigned)parts;
		if (plen_s != NULL && parse_plen(plen_s, plen_len, true, &out->plen) != 0)
			goto bad;
		/* 0/0 thus becomes ::ffff:0:0/96 and matches IPv4 only. */
		out->plen += 96;
	}
	apply_mask(out->addr, out->plen);
	return 0;
bad:
	return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad IP network '%.*s'",
			       (int)(tlen > 100 ? 100 : tlen), text);
}

int
mavis_ip_parse_addr(const char *s, uint8_t out[16])
{
	size_t len = strlen(s);
	const char *pct;
	uint8_t v4[4];

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	/* Sendmail's {client_addr} and address literals say "IPv6:". */
	if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		len -= 5;
	}
	if (memchr(s, ':', len) != NULL) {
		pct = memchr(s, '%', len);
		if (pct != NULL)
			len = (size_t)(pct - s);
		return parse_v6(s, len, out);
	}
	if (parse_v4_parts(s, len, v4) != 4)
		return -1;
	memcpy(out, v4mapped, 12);
	memcpy(out + 12, v4, 4);
	return 0;
}

static bool
net_contains(const struct ip_net *n, const uint8_t addr[16])
{
	unsigned full = n->plen / 8, rest = n->plen % 8;

	if (memcmp(n->addr, addr, full) != 0)
		return false;
	return rest == 0 || ((n->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

const struct ip_entry *
mavis_iplist_find(const struct mavis_iplist *l, const uint8_t addr[16])
{
	for (size_t i = 0; i < l->n; i++)
		if (net_contains(&l->e[i].net, addr))
			return &l->e[i];
	return NULL;
}

int
mavis_iplist_from_tokens(const char *const *tok, const size_t *toklen, size_t n,
			 struct mavis_arena *a, struct mavis_iplist **out,
			 struct mavis_error *err)
{
	struct mavis_iplist *l = mavis_arena_alloc(a, sizeof(*l));
	int r;

	if (n > MAP_ENTRIES_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "more than %zu entries",
				       MAP_ENTRIES_MAX);
	l->e = mavis_arena_calloc(a, n ? n : 1, sizeof(*l->e));
	for (size_t i = 0; i < n; i++) {
		r = mavis_ip_parse_net(tok[i], toklen[i], &l->e[i].net, err);
		if (r < 0)
			return r;
		l->e[i].value = "1";
		l->e[i].text = mavis_arena_strndup(a, tok[i], toklen[i]);
	}
	l->n = n;
	*out = l;
	return 0;
}

static bool
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
mavis_iplist_parse(const char *spec, struct mavis_arena *arena, struct mavis_iplist **out,
		   struct mavis_error *err)
{
	size_t len, n = 0, i, j;
	const char **tok;
	size_t *toklen;

	*out = NULL;
	if (spec == NULL)
		spec = "";
	len = strlen(spec);
	if (len > MAP_SPEC_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "IP list longer than %zu bytes",
				       MAP_SPEC_MAX);
	tok = mavis_arena_calloc(arena, len / 2 + 1, sizeof(*tok));
	toklen = mavis_arena_calloc(arena, len / 2 + 1, sizeof(*toklen));
	for (i = 0; i < len; i = j) {
		while (i < len && is_sep(spec[i]))
			i++;
		for (j = i; j < len && !is_sep(spec[j]); j++)
			;
		if (j > i) {
			tok[n] = spec + i;
			toklen[n++] = j - i;
		}
	}
	return mavis_iplist_from_tokens(tok, toklen, n, arena, out, err);
}

int
mavis_iplist_match(const struct mavis_iplist *list, const char *ip)
{
	const struct ip_entry *e;
	uint8_t addr[16];

	if (ip == NULL || mavis_ip_parse_addr(ip, addr) != 0)
		return MAVIS_ERR_PARSE;
	if (list == NULL)
		return 0;
	e = mavis_iplist_find(list, addr);
	return e != NULL && !e->net.neg;
}
