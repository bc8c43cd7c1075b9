/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dns.c - DNS lookups for DKIM, SPF and DMARC: our own servers and timeout, a bounded cache */

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mavis/alloc.h>
#include <mavis/dkim.h>

#include "dkim_int.h"

/*
 * libresolv with a private resolver state per lookup (res_n*: thread-safe),
 * so that the servers and the timeout are ours and not /etc/resolv.conf's
 * when dns_servers is set. The cache is one table for the process, guarded
 * by a mutex (a lookup holds it only to copy an entry): answers and
 * non-existence are kept for their TTL within bounds; failures never are,
 * so that a DNS outage is a temporary error for every message in it.
 */

#define CACHE_MIN_TTL 60
#define CACHE_MAX_TTL 3600
#define CACHE_NEG_TTL 300
#define NAME_MAX_LEN 256


/* An answer in the cache: its records packed as [u32 len][bytes]... */
struct cache_entry {
	char name[NAME_MAX_LEN];
	int type;
	unsigned char *blob;	/* NULL: no such record */
	size_t bloblen;
	time_t expires;
	uint64_t used;		/* LRU stamp */
	bool valid;
};

struct mavis_dns {
	struct sockaddr_in servers[MAVIS_DNS_MAX_SERVERS];
	size_t nservers;
	unsigned timeout_s;
	pthread_mutex_t lock;
	struct cache_entry *cache;
	size_t cache_size;
	uint64_t clock;
	atomic_ulong hits, misses;
};

static int
parse_server(const char *s, struct sockaddr_in *sa, struct mavis_error *err)
{
	char host[64];
	const char *colon = strchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);
	long port = 53;

	if (hl == 0 || hl >= sizeof(host))
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "dns_servers: bad server \"%s\"", s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (colon) {
		char *end;

		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "dns_servers: bad port in \"%s\"", s);
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "dns_servers: \"%s\" is no IPv4 address[:port]", s);
	return 0;
}

int
mavis_dns_new(const char *const *servers, size_t n, unsigned timeout_s, size_t cache_size,
	      struct mavis_dns **out, struct mavis_error *err)
{
	struct mavis_dns *d;

	if (n > MAVIS_DNS_MAX_SERVERS)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "dns_servers: more than %d servers",
				       MAVIS_DNS_MAX_SERVERS);
	d = mavis_xcalloc(1, sizeof(*d));
	for (size_t i = 0; i < n; i++) {
		int rc = parse_server(servers[i], &d->servers[i], err);

		if (rc < 0) {
			free(d);
			return rc;
		}
	}
	d->nservers = n;
	d->timeout_s = timeout_s ? timeout_s : 1;
	pthread_mutex_init(&d->lock, NULL);
	d->cache_size = cache_size;
	if (cache_size)
		d->cache = mavis_xcalloc(cache_size, sizeof(*d->cache));
	*out = d;
	return 0;
}


void
mavis_dns_free(struct mavis_dns **pd)
{
	struct mavis_dns *d = *pd;

	if (d == NULL)
		return;
	*pd = NULL;
	for (size_t i = 0; i < d->cache_size; i++)
		free(d->cache[i].blob);
	free(d->cache);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void
mavis_dns_stats(const struct mavis_dns *d, unsigned long *hits, unsigned long *misses)
{
	*hits = atomic_load(&d->hits);
	*misses = atomic_load(&d->misses);
}

/* The records of a packed answer, in a. */
static size_t
unpack(const unsigned char *blob, size_t len, int type, struct mavis_arena *a,
       struct mavis_dns_rr *rrs)
{
	size_t n = 0, o = 0;

	while (o + 4 <= len && n < DNS_RRS_MAX) {
		uint32_t l;

		memcpy(&l, blob + o, 4);
		o += 4;
		if (l > len - o)
			break;
		unsigned char *v = mavis_arena_alloc_uninit(a, (size_t)l + 1);
		memcpy(v, blob + o, l);
		v[l] = '\0';
		rrs[n].type = type;
		rrs[n].data = v;
		rrs[n].len = l;
		n++;
		o += l;
	}
	return n;
}

/* 1 hit (records in *rrs), 0 hit (no record), -1 miss. */
static int
cache_get(struct mavis_dns *d, const char *name, int type, struct mavis_arena *a,
	  struct mavis_dns_rr *rrs, size_t *n)
{
	time_t now = time(NULL);
	int rc = -1;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->cache_size; i++) {
		struct cache_entry *e = &d->cache[i];

		if (!e->valid || e->type != type || strcasecmp(e->name, name) != 0)
			continue;
		if (e->expires <= now) {
			e->valid = false;
			break;
		}
		e->used = ++d->clock;
		if (e->blob == NULL) {
			rc = 0;
		} else {
			*n = unpack(e->blob, e->bloblen, type, a, rrs);
			rc = *n > 0;
		}
		break;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Keep an answer (n = 0: there is none); the least recently used entry
   makes room. */
static void
cache_put(struct mavis_dns *d, const char *name, int type, const struct mavis_dns_rr *rrs,
	  size_t n, unsigned ttl)
{
	struct cache_entry *victim = NULL;
	unsigned char *blob = NULL;
	size_t len = 0;

	if (d->cache_size == 0 || strlen(name) >= NAME_MAX_LEN)
		return;
	if (ttl < CACHE_MIN_TTL)
		ttl = CACHE_MIN_TTL;
	if (ttl > CACHE_MAX_TTL)
		ttl = CACHE_MAX_TTL;
	if (n > 0) {
		for (size_t i = 0; i < n; i++)
			len += 4 + rrs[i].len;
		blob = mavis_xmalloc(len);
		len = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t l = (uint32_t)rrs[i].len;

			memcpy(blob + len, &l, 4);
			memcpy(blob + len + 4, rrs[i].data, rrs[i].len);
			len += 4 + rrs[i].len;
		}
	}
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->cache_size; i++) {
		struct cache_entry *e = &d->cache[i];

		if (e->valid && e->type == type && strcasecmp(e->name, name) == 0) {
			victim = e;
			break;
		}
		if (victim == NULL || !e->valid || (victim->valid && e->used < victim->used))
			victim = e;
	}
	free(victim->blob);
	strcpy(victim->name, name);
	victim->type = type;
	victim->blob = blob;
	victim->bloblen = len;
	victim->expires = time(NULL) + (time_t)ttl;
	victim->used = ++d->clock;
	victim->valid = true;
	pthread_mutex_unlock(&d->lock);
}

int
dns_answer_parse(const unsigned char *ans, int anslen, int type, struct mavis_arena *a,
		 struct mavis_dns_rr *rrs, unsigned *ttl)
{
	ns_msg msg;
	ns_rr rr;
	size_t n = 0;

	if (ns_initparse(ans, anslen, &msg) < 0)
		return MAVIS_ERR_PARSE;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) && n < DNS_RRS_MAX; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return MAVIS_ERR_PARSE;
		if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
			continue;
		const unsigned char *p = ns_rr_rdata(rr), *end = p + ns_rr_rdlen(rr);
		unsigned char *v;
		size_t o = 0;

		switch (type) {
		case ns_t_a:
		case ns_t_aaaa:
			if ((size_t)(end - p) != (type == ns_t_a ? 4u : 16u))
				return MAVIS_ERR_PARSE;
			v = mavis_arena_memdup(a, p, (size_t)(end - p));
			o = (size_t)(end - p);
			break;
		case ns_t_mx:
		case ns_t_ptr:
		case ns_t_cname: {
			char nb[NS_MAXDNAME];

			if (type == ns_t_mx) {
				if (end - p < NS_INT16SZ)
					return MAVIS_ERR_PARSE;
				p += NS_INT16SZ;
			}
			if (ns_name_uncompress(ans, ans + anslen, p, nb, sizeof(nb)) < 0)
				return MAVIS_ERR_PARSE;
			v = (unsigned char *)mavis_arena_strdup(a, nb);
			o = strlen(nb);
			break;
		}
		case ns_t_txt:
			/* character-strings: a length byte, then that many bytes */
			v = mavis_arena_alloc_uninit(a, (size_t)(end - p) + 1);
			while (p < end) {
				size_t l = *p++;

				if (l > (size_t)(end - p))
					return MAVIS_ERR_PARSE;
				for (size_t k = 0; k < l; k++)
					v[o++] = p[k] ? p[k] : ' ';
				p += l;
			}
			v[o] = '\0';
			break;
		default:
			return MAVIS_ERR_PARSE;
		}
		if (n == 0 || ns_rr_ttl(rr) < *ttl)
			*ttl = ns_rr_ttl(rr);
		rrs[n].type = type;
		rrs[n].data = v;
		rrs[n].len = o;
		n++;
	}
	return (int)n;
}

int
mavis_dns_query(struct mavis_dns *d, const char *name, int type, struct mavis_arena *a,
		struct mavis_dns_rr **out, size_t *nout, struct mavis_error *err)
{
	struct __res_state rs;
	unsigned char ans[NS_MAXMSG > 65535 ? 65535 : NS_MAXMSG];
	struct mavis_dns_rr *rrs = mavis_arena_calloc(a, DNS_RRS_MAX, sizeof(*rrs));
	unsigned ttl = 0;
	size_t n = 0;
	int len, rc;

	*out = rrs;
	*nout = 0;
	if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_mx && type != ns_t_ptr &&
	    type != ns_t_txt && type != ns_t_cname)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "DNS type %d not supported", type);
	if (strlen(name) >= NAME_MAX_LEN)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "DNS name too long");
	rc = cache_get(d, name, type, a, rrs, &n);
	if (rc >= 0) {
		atomic_fetch_add(&d->hits, 1);
		*nout = n;
		return rc;
	}
	atomic_fetch_add(&d->misses, 1);
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "resolver initialisation failed");
	if (d->nservers > 0) {
		for (size_t i = 0; i < d->nservers; i++)
			rs.nsaddr_list[i] = d->servers[i];
		rs.nscount = (int)d->nservers;
	}
	/* One try per server, the whole budget split between them; no search
	   list (every name we look up is absolute). */
	rs.retry = 1;
	rs.retrans = (int)(d->timeout_s / (unsigned)(rs.nscount > 0 ? rs.nscount : 1));
	if (rs.retrans < 1)
		rs.retrans = 1;
	rs.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	len = res_nquery(&rs, name, ns_c_in, type, ans, (int)sizeof(ans));
	if (len < 0) {
		int h = rs.res_h_errno;

		res_nclose(&rs);
		if (h == HOST_NOT_FOUND || h == NO_DATA) {
			cache_put(d, name, type, NULL, 0, CACHE_NEG_TTL);
			return 0;
		}
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: DNS lookup failed (%s)", name,
				       h == TRY_AGAIN ? "timeout or server failure" : hstrerror(h));
	}
	res_nclose(&rs);
	rc = dns_answer_parse(ans, len, type, a, rrs, &ttl);
	if (rc < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: malformed DNS answer", name);
	cache_put(d, name, type, rrs, (size_t)rc, rc > 0 ? ttl : CACHE_NEG_TTL);
	*nout = (size_t)rc;
	return rc > 0;
}

int
mavis_dns_txt(struct mavis_dns *d, const char *name, char *buf, size_t size,
	      struct mavis_error *err)
{
	struct mavis_arena *a;
	struct mavis_dns_rr *rrs;
	size_t n;
	int rc;

	if (size == 0 || strlen(name) >= NAME_MAX_LEN)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "DNS name too long");
	a = mavis_arena_new(1024);
	rc = mavis_dns_query(d, name, ns_t_txt, a, &rrs, &n, err);
	if (rc == 1) {
		/* the first record (a key name has one) */
		if (rrs[0].len >= size) {
			rc = mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: TXT record too long", name);
		} else {
			memcpy(buf, rrs[0].data, rrs[0].len);
			buf[rrs[0].len] = '\0';
		}
	}
	mavis_arena_free(&a);
	return rc;
}
