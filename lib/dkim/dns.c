/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dns.c - TXT lookups for DKIM keys: our own servers and timeout, a bounded cache */

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

struct cache_entry {
	char name[NAME_MAX_LEN];
	char *txt;		/* NULL: no such record */
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
		free(d->cache[i].txt);
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

/* 1 hit (record copied), 0 hit (no record), -1 miss, -2 hit too long. */
static int
cache_get(struct mavis_dns *d, const char *name, char *buf, size_t size)
{
	time_t now = time(NULL);
	int rc = -1;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->cache_size; i++) {
		struct cache_entry *e = &d->cache[i];

		if (!e->valid || strcasecmp(e->name, name) != 0)
			continue;
		if (e->expires <= now) {
			e->valid = false;
			break;
		}
		e->used = ++d->clock;
		if (e->txt == NULL)
			rc = 0;
		else if (strlen(e->txt) < size) {
			strcpy(buf, e->txt);
			rc = 1;
		} else {
			rc = -2;
		}
		break;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Keep an answer; the least recently used entry makes room. */
static void
cache_put(struct mavis_dns *d, const char *name, const char *txt, unsigned ttl)
{
	struct cache_entry *victim = NULL;

	if (d->cache_size == 0 || strlen(name) >= NAME_MAX_LEN)
		return;
	if (ttl < CACHE_MIN_TTL)
		ttl = CACHE_MIN_TTL;
	if (ttl > CACHE_MAX_TTL)
		ttl = CACHE_MAX_TTL;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->cache_size; i++) {
		struct cache_entry *e = &d->cache[i];

		if (e->valid && strcasecmp(e->name, name) == 0) {
			victim = e;
			break;
		}
		if (victim == NULL || !e->valid || (victim->valid && e->used < victim->used))
			victim = e;
	}
	free(victim->txt);
	strcpy(victim->name, name);
	victim->txt = txt ? mavis_xstrdup(txt) : NULL;
	victim->expires = time(NULL) + (time_t)ttl;
	victim->used = ++d->clock;
	victim->valid = true;
	pthread_mutex_unlock(&d->lock);
}

/* The first TXT record of the answer in ans (its strings joined). Returns
   1 (with *ttl), 0 none, MAVIS_ERR_PARSE, MAVIS_ERR_LIMIT. */
static int
answer_txt(const unsigned char *ans, int anslen, char *buf, size_t size, unsigned *ttl)
{
	ns_msg msg;
	ns_rr rr;

	if (ns_initparse(ans, anslen, &msg) < 0)
		return MAVIS_ERR_PARSE;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return MAVIS_ERR_PARSE;
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue;
		const unsigned char *p = ns_rr_rdata(rr), *end = p + ns_rr_rdlen(rr);
		size_t o = 0;

		/* character-strings: a length byte, then that many bytes */
		while (p < end) {
			size_t l = *p++;

			if (l > (size_t)(end - p))
				return MAVIS_ERR_PARSE;
			if (o + l >= size)
				return MAVIS_ERR_LIMIT;
			for (size_t k = 0; k < l; k++)
				buf[o++] = p[k] ? (char)p[k] : ' ';
			p += l;
		}
		buf[o] = '\0';
		*ttl = ns_rr_ttl(rr);
		return 1;
	}
	return 0;
}

int
mavis_dns_txt(struct mavis_dns *d, const char *name, char *buf, size_t size,
	      struct mavis_error *err)
{
	struct __res_state rs;
	unsigned char ans[NS_MAXMSG > 65535 ? 65535 : NS_MAXMSG];
	unsigned ttl = 0;
	int n, rc;

	if (size == 0 || strlen(name) >= NAME_MAX_LEN)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "DNS name too long");
	rc = cache_get(d, name, buf, size);
	if (rc >= 0) {
		atomic_fetch_add(&d->hits, 1);
		return rc;
	}
	if (rc == -2)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: TXT record too long", name);
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
	   list (a key name is absolute). */
	rs.retry = 1;
	rs.retrans = (int)(d->timeout_s / (unsigned)(rs.nscount > 0 ? rs.nscount : 1));
	if (rs.retrans < 1)
		rs.retrans = 1;
	rs.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	n = res_nquery(&rs, name, ns_c_in, ns_t_txt, ans, (int)sizeof(ans));
	if (n < 0) {
		int h = rs.res_h_errno;

		res_nclose(&rs);
		if (h == HOST_NOT_FOUND || h == NO_DATA) {
			cache_put(d, name, NULL, CACHE_NEG_TTL);
			return 0;
		}
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: DNS lookup failed (%s)", name,
				       h == TRY_AGAIN ? "timeout or server failure" : hstrerror(h));
	}
	res_nclose(&rs);
	rc = answer_txt(ans, n, buf, size, &ttl);
	if (rc == MAVIS_ERR_PARSE)
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: malformed DNS answer", name);
	if (rc == MAVIS_ERR_LIMIT)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: TXT record too long", name);
	cache_put(d, name, rc == 1 ? buf : NULL, rc == 1 ? ttl : CACHE_NEG_TTL);
	return rc;
}
