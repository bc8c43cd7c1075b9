/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_received.c - Received lines into SpamAssassin's relays, trust, X-Spam-Relays-* */

/*
 * Each Received.pm form is written out as a small matcher over the
 * normalised line (single spaces, no date) with a cursor, instead of a
 * regular expression: the forms are anchored at the start and need little
 * backtracking, and a matcher cannot go exponential on hostile lines.
 * The exception is Received.pm's list of handovers it ignores on purpose
 * (about thirty anchored patterns, asked only of a line no form parsed):
 * those are PCRE2 patterns compiled once per process, run under a match
 * limit.
 */

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mavis/alloc.h>

#include "sa/sa_parse_int.h"
#include "sa/sa_received.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define SA_MAX_RECEIVED 1000

/* --- network sets ----------------------------------------------------------- */

struct net {
	unsigned char addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int bits;		/* prefix length over the 128 bits */
	bool exclude;
};

struct sa_netset {
	struct net *nets;
	size_t n, cap;
};

/* parse_ip - text to 16 bytes (IPv4 mapped); accepts [..], IPv6: prefix, zone */
static bool
parse_ip(const char *in, unsigned char out[16], bool *v4)
{
	char buf[64];
	size_t n;
	const char *s = in;
	char *pct;

	if (*s == '[')
		s++;
	if (strncasecmp(s, "ipv6:", 5) == 0)
		s += 5;
	n = strcspn(s, "]");
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if ((pct = strchr(buf, '%')) != NULL)
		*pct = '\0';
	memset(out, 0, 16);
	if (inet_pton(AF_INET, buf, out + 12) == 1) {
		out[10] = out[11] = 0xff;
		*v4 = true;
		return true;
	}
	*v4 = false;
	return inet_pton(AF_INET6, buf, out) == 1;
}

int
sa_netset_add(struct sa_netset **setp, const char *cidr, struct mavis_error *err)
{
	struct net net = { 0 };
	char buf[80], *slash, *s = buf;
	bool v4;
	long bits = -1;

	if (strlen(cidr) >= sizeof(buf))
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "network too long: %.40s...", cidr);
	strcpy(buf, cidr);
	if (*s == '!') {
		net.exclude = true;
		s++;
	}
	if ((slash = strchr(s, '/')) != NULL) {
		char *end;

		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0 || bits > 128)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad prefix length: %s", cidr);
	}
	if (!parse_ip(s, net.addr, &v4)) {
		/* SA's short IPv4 forms: "10", "10.", "192.168" mean /8, /16 ... */
		unsigned p[4] = { 0 };
		int k = 0;
		const char *q = s;

		while (*q && k < 4) {
			char *end;
			unsigned long v = strtoul(q, &end, 10);

			if (end == q || v > 255)
				return mavis_error_set(err, MAVIS_ERR_CONFIG, "not a network: %s", cidr);
			p[k++] = (unsigned)v;
			q = end;
			if (*q == '.')
				q++;
			else if (*q)
				return mavis_error_set(err, MAVIS_ERR_CONFIG, "not a network: %s", cidr);
		}
		if (k == 0)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "not a network: %s", cidr);
		memset(net.addr, 0, 16);
		net.addr[10] = net.addr[11] = 0xff;
		for (int i = 0; i < 4; i++)
			net.addr[12 + i] = (unsigned char)p[i];
		v4 = true;
		if (bits < 0)
			bits = 8L * k;
	}
	if (bits < 0)
		bits = v4 ? 32 : 128;
	if (v4 && bits > 32)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad prefix length: %s", cidr);
	net.bits = (int)(v4 ? bits + 96 : bits);
	if (!*setp)
		*setp = mavis_xcalloc(1, sizeof(**setp));
	if ((*setp)->n == (*setp)->cap) {
		(*setp)->cap = (*setp)->cap ? (*setp)->cap * 2 : 8;
		(*setp)->nets = mavis_xrealloc((*setp)->nets, (*setp)->cap * sizeof(struct net));
	}
	(*setp)->nets[(*setp)->n++] = net;
	return 0;
}

static bool
net_match(const struct net *net, const unsigned char a[16])
{
	int full = net->bits / 8, rest = net->bits % 8;

	if (memcmp(net->addr, a, (size_t)full) != 0)
		return false;
	if (rest) {
		unsigned char m = (unsigned char)(0xff << (8 - rest));

		return (net->addr[full] & m) == (a[full] & m);
	}
	return true;
}

int
sa_netset_contains(const struct sa_netset *set, const char *ip)
{
	unsigned char a[16];
	bool v4;

	if (!parse_ip(ip, a, &v4))
		return 0;
	/* 127/8 and ::1 are always in (SA adds them to both sets) */
	if ((v4 && a[12] == 127) || (!v4 && memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0))
		return 1;
	if (!set)
		return 0;
	for (size_t i = 0; i < set->n; i++)
		if (net_match(&set->nets[i], a))
			return set->nets[i].exclude ? 0 : 1;
	return 0;
}

void
sa_netset_free(struct sa_netset **set)
{
	if (!set || !*set)
		return;
	free((*set)->nets);
	free(*set);
	*set = NULL;
}

/* --- one relay -------------------------------------------------------------- */

struct relay {
	char *ip, *rdns, *helo, *by, *ident, *envfrom, *id, *auth;
	bool internal, msa, ip_private, no_rdns;
	const char *as_string;
};

struct sa_relays {
	struct sa_vec all, trusted, untrusted, internal, external;	/* struct relay * */
	size_t unparseable;
	/* Received.pm last_trusted_relay_index, last_internal_relay_index:
	   counted over every line, the own one included */
	long last_trusted, last_internal;
	bool has_own;
	const char *str[4];
};

/* a cursor over the normalised line */
struct cur {
	const char *p;
};

static bool
lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* \S+ (or \S* when may_be_empty) up to a space or the end */
static bool
nonspace(struct cur *c, struct mavis_arena *a, char **out, bool may_be_empty)
{
	size_t n = strcspn(c->p, " ");

	if (!n && !may_be_empty)
		return false;
	*out = mavis_arena_strndup(a, c->p, n);
	c->p += n;
	return true;
}

/* \S+ that must be followed by stop (the last occurrence inside the word) */
static bool
nonspace_until(struct cur *c, struct mavis_arena *a, char **out, char stop, bool may_be_empty)
{
	size_t n = strcspn(c->p, " ");
	const char *last = NULL;

	for (const char *q = c->p; q < c->p + n; q++)
		if (*q == stop)
			last = q;
	if (!last || (last == c->p && !may_be_empty))
		return false;
	*out = mavis_arena_strndup(a, c->p, (size_t)(last - c->p));
	c->p = last;
	return true;
}

/* an IPv4 or IPv6 address as SA's IP_ADDRESS (IPv6 with an optional "IPv6:") */
static size_t
ip_len(const char *s)
{
	size_t i = 0, colons = 0;
	int parts = 0;

	/* IPv4 */
	for (const char *p = s; parts < 4; parts++) {
		size_t d = 0;
		unsigned v = 0;

		while (d < 3 && p[d] >= '0' && p[d] <= '9')
			v = v * 10 + (unsigned)(p[d++] - '0');
		if (!d || v > 255)
			break;
		p += d;
		if (parts < 3) {
			if (*p != '.')
				break;
			p++;
		} else if (!(*p >= '0' && *p <= '9')) {
			return (size_t)(p - s);
		}
	}
	/* IPv6: hex digits, colons, a dotted tail */
	if (strncasecmp(s, "ipv6:", 5) == 0)
		i = 5;
	{
		size_t st = i;

		while (s[i] && (strchr("0123456789abcdefABCDEF:.", s[i]) != NULL)) {
			if (s[i] == ':')
				colons++;
			i++;
		}
		if (colons >= 2 && i - st >= 2) {
			unsigned char a[16];
			bool v4;
			char buf[64];

			if (i - st < sizeof(buf)) {
				memcpy(buf, s + st, i - st);
				buf[i - st] = '\0';
				if (parse_ip(buf, a, &v4))
					return i;
			}
		}
	}
	return 0;
}

static bool
ip(struct cur *c, struct mavis_arena *a, char **out)
{
	size_t n = ip_len(c->p);

	if (!n)
		return false;
	*out = mavis_arena_strndup(a, c->p, n);
	c->p += n;
	return true;
}

/* find " by " after the cursor; the host after it */
static bool
by_host(const char *from, struct mavis_arena *a, char **by)
{
	const char *b = strstr(from, " by ");
	struct cur c;

	if (!b)
		return false;
	c.p = b + 4;
	return nonspace(&c, a, by, false);
}

static bool
private_ip(const char *ip)
{
	unsigned char a[16];
	bool v4;

	if (!parse_ip(ip, a, &v4))
		return false;
	if (v4) {
		unsigned char x = a[12], y = a[13];

		return x == 10 || x == 127 || (x == 169 && y == 254) || (x == 172 && y >= 16 && y <= 31) ||
		       (x == 192 && y == 168) || (x == 100 && y >= 64 && y <= 127);
	}
	/* ::1, fe80::/10, fc00::/7 */
	return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0 ||
	       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || (a[0] & 0xfe) == 0xfc;
}

/* replace [\s\0#[]()<>|] with '!' as SA does before printing */
static void
strip_chars(char *s)
{
	for (; s && *s; s++)
		if (strchr(" \t\n\r\f\v#[]()<>|", *s))
			*s = '!';
}

/* strip a trailing date: "; Mon, 1 Jan 2024 10:00:00 +0000" and the like */
static void
strip_date(char *s)
{
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	size_t n = strlen(s);

	/* walk back over: ZONE, TIME, YEAR, MON, DAY, [WDAY,] then [\s;]+ */
	for (char *p = s; (p = strpbrk(p, " ;")) != NULL; p++) {
		char *q = p, *end;
		bool ok = false;

		while (*q == ' ' || *q == ';')
			q++;
		if (q - p < 1)
			continue;
		if (strlen(q) > 5 && q[3] == ',' && q[4] == ' ')
			q += 5;
		if (!(*q >= '0' && *q <= '9'))
			continue;
		strtol(q, &end, 10);
		if (*end != ' ')
			continue;
		q = end + 1;
		for (size_t m = 0; m < 12; m++)
			if (strncmp(q, mons[m], 3) == 0 && q[3] == ' ')
				ok = true;
		if (!ok)
			continue;
		q += 4;
		if (!(*q >= '0' && *q <= '9'))
			continue;
		strtol(q, &end, 10);
		if (*end != ' ')
			continue;
		q = end + 1;
		if (!(*q >= '0' && *q <= '9'))
			continue;
		strtol(q, &end, 10);
		if (*end != ':')
			continue;
		q = end + 1;
		if (!(*q >= '0' && *q <= '9'))
			continue;
		strtol(q, &end, 10);
		if (*end == ':') {
			q = end + 1;
			strtol(q, &end, 10);
			if (end == q)
				continue;
		}
		if (*end != ' ' || !end[1] || strchr(end + 1, ' '))
			continue;
		*p = '\0';
		return;
	}
	(void)n;
}

/* word-ish characters of SA's helo= pattern */
static bool
helo_char(int c)
{
	return sa_isalnum(c) || (c && strchr("-.^+_&:=?!@%*$\\/", c));
}

/* " with (Microsoft SMTP Server|mapi id) ((...) )?D.D.D.D( |$)" */
static bool
exchange_version(const char *l)
{
	static const char *const keys[] = { " with Microsoft SMTP Server ", " with mapi id " };

	for (size_t k = 0; k < 2; k++) {
		for (const char *t = l; (t = strstr(t, keys[k])) != NULL; t++) {
			const char *q = t + strlen(keys[k]);
			int parts = 0;

			if (*q == '(') {
				const char *e = strchr(q, ')');

				if (e && e[1] == ' ' && !memchr(q + 1, '(', (size_t)(e - q - 1)))
					q = e + 2;
			}
			while (parts < 4 && sa_isdigit((unsigned char)*q)) {
				while (sa_isdigit((unsigned char)*q))
					q++;
				parts++;
				if (parts < 4) {
					if (*q != '.')
						break;
					q++;
				}
			}
			if (parts == 4 && (*q == ' ' || *q == '\0'))
				return true;
		}
	}
	return false;
}

/* qmail's "by \S+( \(.+\))* with (.* )?(SMTP|QMQP)(?! id )" after the by host */
static bool
qmail_with(const char *p)
{
	const char *w;

	if (strncmp(p, " with ", 6) == 0)
		w = p + 1;
	else if (strncmp(p, " (", 2) == 0 && (w = strstr(p, ") with ")) != NULL)
		w = w + 2;
	else
		return false;
	for (const char *q = w + 4; *q; q++) {
		if (q[-1] == ' ' && (!strncmp(q, "SMTP", 4) || !strncmp(q, "QMQP", 4)) &&
		    strncmp(q + 4, " id ", 4) != 0)
			return true;
	}
	return false;
}

/* --- handovers Received.pm ignores ------------------------------------------ */

/* Constants.pm LOCALHOST, the forms that occur in Received lines */
#define LH "(?:localhost(?:\\.localdomain)?|\\b(?<!:)127\\.0\\.0\\.1\\b|(?:IPv6:)?::1\\b)"

/* "return 0" forms of the "from " branch, over the line after "from " */
static const char *const ignore_from_pat[] = {
	"^mail pickup service by (\\S+) with Microsoft SMTPSVC$",
	"^\\S+ by \\S+ with BSMTP",
	"^\\S+ \\(\\S+\\) by \\S+ \\(Content Technologies ",
	"^\\S+ \\([^\\s\\@]+\\@" LH "\\) by \\S+ \\(",
	"^\\S+ \\S+ by \\S+ with local-e?smtp ",
	"^127\\.0\\.0\\.1 \\(AVG SMTP \\S+ \\[\\S+\\]\\)",
	"^\\S+\\@\\S+ by \\S+ ",
	"^Unknown/Local \\(",
	"^" LH " \\((?:\\S+\\@)?" LH "[\\)\\[]",
	"^\\S+ \\((?:\\S+\\@)?" LH "\\) ",
	"^\\S+ \\(\\S+\\@\\S+ \\[" LH "\\]\\) ",
	"^\\(AUTH: \\S+\\) by \\S+ with ",
	"^localhost \\(localhost \\[\\[UNIX: localhost\\]\\]\\) by ",
	"^\\S+\\.amazon\\.com by \\S+\\.amazon\\.com with ESMTP \\(peer crosscheck: ",
	"^[^.]+ by \\S+ with Novell_GroupWise",
	"^no\\.name\\.available by \\S+ via smtpd \\(for ",
	"^\\S+ by \\S+ \\(.{0,100}\\) with qmail-scanner",
	"^\\S+ by \\S+ with local",
	"^\\S+ \\(\\[unix socket\\]\\) by \\S+ \\(Cyrus v[0-9]*?\\.[0-9]*?\\.[0-9]*?\\) with LMTPA",
	"^\\S+ by \\S+ (?:with|via|for|\\()",
	"^\\S+ (?:(?:with|via|for) \\S+|\\(unverified\\)) by\\b",
	"^\\S+ \\(unknown\\) by \\S+ \\(SG\\) with \\b",
	"^\\S+ \\(\\S+ \\[local\\]\\) by \\S+ \\(OpenSMTPD\\) with \\b",
	"\\(LSMTP for",
	"^\\(\\[" LH "\\]\\) with MailEnable ",
	"^facebook\\.com \\([^)]+\\) by facebook\\.com with Thrift id \\S+$",
	"^\\S+ named \\S+ by gmailapi\\.google\\.com with HTTPREST$",
	"^\\S+ id \\S+$",
	"^\\[<.*? \\(Jetsend",
	NULL
};

/* the same of the "(from " branch, after "(from " */
static const char *const ignore_pfrom_pat[] = {
	"^\\S+\\@localhost\\) by \\S+ ",
	"^[^\\s\\@]+\\@[^)]+\\) by \\S+\\(jqueuemail\\) id [^\\s;]+",
	NULL
};

#define N_IGNORE 40

static struct {
	pthread_once_t once;
	pcre2_code *from[N_IGNORE], *pfrom[N_IGNORE];
	pcre2_match_context *mctx;
} ign = { .once = PTHREAD_ONCE_INIT };

static void
ignore_compile(const char *const *pats, pcre2_code **out)
{
	for (size_t i = 0; pats[i] != NULL && i < N_IGNORE; i++) {
		int ec;
		PCRE2_SIZE eo;

		out[i] = pcre2_compile((PCRE2_SPTR)pats[i], PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
		if (out[i] != NULL)
			(void)pcre2_jit_compile(out[i], PCRE2_JIT_COMPLETE);
	}
}

static void
ignore_init(void)
{
	ignore_compile(ignore_from_pat, ign.from);
	ignore_compile(ignore_pfrom_pat, ign.pfrom);
	ign.mctx = pcre2_match_context_create(NULL);
	if (ign.mctx != NULL)
		pcre2_set_match_limit(ign.mctx, 100000);
}

/* Is the rest of a line (after "from " or "(from ") a handover SA ignores? */
static bool
ignored_handover(const char *rest, bool paren)
{
	pcre2_code *const *v;
	pcre2_match_data *md;
	bool hit = false;

	pthread_once(&ign.once, ignore_init);
	v = paren ? ign.pfrom : ign.from;
	md = pcre2_match_data_create(1, NULL);
	if (md == NULL)
		return false;
	for (size_t i = 0; i < N_IGNORE && v[i] != NULL && !hit; i++)
		hit = pcre2_match(v[i], (PCRE2_SPTR)rest, strlen(rest), 0, 0, md, ign.mctx) >= 0;
	pcre2_match_data_free(md);
	return hit;
}

/*
 * parse_line - one Received value to a relay. Returns 1 with *out, 0 for a
 * line SA skips on purpose, -1 for an unparseable one.
 */
static int
parse_line(const char *value, struct mavis_arena *a, struct relay **out)
{
	struct sa_sb b = { 0 };
	char *s, *l, *t;
	char *ipv = "", *helo = "", *rdns = "", *by = "", *id = "", *ident = "", *envfrom = NULL;
	const char *auth = "";
	bool looked_up = false;
	struct cur c;
	struct relay *r;

	/* s/\s+/ /g, trim, strip trailing ';' */
	sa_sb_add(&b, a, "", 0);
	for (const char *p = value; *p; p++) {
		if (sa_isspace((unsigned char)*p)) {
			if (b.len && b.p[b.len - 1] != ' ')
				sa_sb_addc(&b, a, ' ');
		} else {
			sa_sb_addc(&b, a, *p);
		}
	}
	s = b.p;
	while (b.len && (s[b.len - 1] == ' ' || s[b.len - 1] == ';'))
		s[--b.len] = '\0';
	if (strncasecmp(s, "from ", 5) != 0 && strncasecmp(s, "(from ", 6) != 0)
		return 0;
	if (strstr(s, " with local for "))
		return 0;
	{
		/* ^from (\S+) by [^\s;]+ ?; with a from that is not [ip] */
		struct cur k = { s + 5 };
		char *f, *h;

		if (nonspace(&k, a, &f, false) && lit(&k, " by ") && nonspace(&k, a, &h, false) &&
		    strchr(h, ';') && !(f[0] == '[' && f[strlen(f) - 1] == ']'))
			return 0;
	}
	strip_date(s);
	t = strstr(s, ")by ");
	if (t)
		s = mavis_arena_printf(a, "%.*s) by %s", (int)(t - s), s, t + 4);
	/* id */
	for (t = s; (t = strstr(t, " id ")) != NULL; t++) {
		const char *q = t + 4;
		size_t n;

		if (*q == '<')
			q++;
		n = strcspn(q, " <>;");
		if (n >= 3) {
			id = mavis_arena_strndup(a, q, n);
			break;
		}
	}
	/* helo= or HELO/EHLO word */
	if ((t = strstr(s, "helo=")) != NULL && (t == s || !sa_isword((unsigned char)t[-1]))) {
		size_t n = 0;

		while (helo_char((unsigned char)t[5 + n]))
			n++;
		if (n)
			helo = mavis_arena_strndup(a, t + 5, n);
	} else {
		for (t = s; *t; t++) {
			if ((!strncmp(t, "HELO ", 5) || !strncmp(t, "EHLO ", 5)) &&
			    (t == s || !sa_isword((unsigned char)t[-1]))) {
				size_t n = 0;

				while (helo_char((unsigned char)t[5 + n]))
					n++;
				if (n) {
					helo = mavis_arena_strndup(a, t + 5, n);
					break;
				}
			}
		}
	}
	by_host(s, a, &by);
	/* auth: with ESMTPSA / ESMTPA / LMTPA / UTF8SMTPA ... */
	if (strstr(s, " by ")) {
		static const char *const kinds[] = { "ESMTPSA", "ESMTPA", "LMTPSA", "LMTPA",
						     "UTF8SMTPSA", "UTF8SMTPA", "UTF8LMTPSA",
						     "UTF8LMTPA", "ASMTP", "HTTPS", "HTTPU", "HTTP" };

		for (t = s; (t = strstr(t, " with ")) != NULL && !*auth; t++) {
			for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
				size_t n = strlen(kinds[k]);

				if (!strncasecmp(t + 6, kinds[k], n) &&
				    (t[6 + n] == ' ' || t[6 + n] == ';' || !t[6 + n])) {
					auth = mavis_arena_strndup(a, t + 6, n);
					break;
				}
			}
		}
	}
	if (!*auth && (t = strstr(s, ") (Authenticated sender: ")) != NULL) {
		const char *q = strchr(t + 25, ')');

		if (q && !strncmp(q, ") by ", 5)) {
			const char *h = strchr(q + 5, ' ');

			if (h && h[1] == '(') {
				const char *e = strchr(h + 2, ')');

				if (e && !strncmp(e, ") with ", 7)) {
					size_t n = (size_t)(e - (h + 2));

					auth = n == 7 && !strncmp(h + 2, "Postfix", 7)
						       ? "Postfix"
						       : mavis_arena_printf(a, "Postfix (%.*s)", (int)n, h + 2);
				}
			}
		}
	}
	if (!*auth && strstr(s, "authenticated")) {
		/* sendmail: ^from .*?(\]( \(...\))?\)|\)\]) .*?\(.*?authenticated.*?\).*? by */
		const char *au = strstr(s, "authenticated");
		const char *byp = strstr(au, " by ");

		if (byp && (strstr(s, "]) ") || strstr(s, ")] ")) && strchr(s, '(') < au)
			auth = "Sendmail";
	}

	if (strncasecmp(s, "from ", 5) != 0)
		goto fallback;
	l = s + 5;
	/* envelope-from */
	{
		static const char *const keys[] = { "return-path: ", "return-path ", "envelope-sender ",
						    "envelope-sender=", "envelope-from ",
						    "envelope-from=" };

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && !envfrom; k++) {
			if ((t = strcasestr(l, keys[k])) != NULL) {
				const char *v = t + strlen(keys[k]);
				size_t n = strcspn(v, " ");

				/* (\S+)\b: back to the last word character */
				while (n && !sa_isword((unsigned char)v[n - 1]))
					n--;
				if (n)
					envfrom = mavis_arena_strndup(a, v, n);
			}
		}
	}
	c.p = l;
	if (exchange_version(l)) {
		/* ^(\S+) \(\[?(IP)(%zone)?\]?\) by (\S+) */
		if (nonspace(&c, a, &helo, false) && lit(&c, " (")) {
			lit(&c, "[");
			if (ip(&c, a, &ipv)) {
				if (*c.p == '%')
					c.p += strcspn(c.p, "]) ");
				lit(&c, "]");
				if (lit(&c, ") by ") && nonspace(&c, a, &by, false)) {
					id = "";
					goto enough;
				}
			}
		}
		c.p = l;
		helo = "";
	}
	if (strstr(l, "Exim")) {
		if (strstr(l, " with local ") || strstr(l, " with local-"))
			return 0;
		/* ^\[(IP)\] \((.*?)\) by (\S+) */
		if (lit(&c, "[") && ip(&c, a, &ipv) && lit(&c, "] (")) {
			const char *e = strstr(c.p, ") by ");

			if (e) {
				char *sub = mavis_arena_strndup(a, c.p, (size_t)(e - c.p));
				struct cur k = { e + 5 };

				if (nonspace(&k, a, &by, false)) {
					if ((t = strstr(sub, "helo=")) != NULL)
						helo = mavis_arena_strndup(a, t + 5, strcspn(t + 5, " "));
					if ((t = strstr(sub, "ident=")) != NULL)
						ident = mavis_arena_strndup(a, t + 6, strcspn(t + 6, " "));
					goto enough;
				}
			}
		}
		c.p = l;
		/* ^(\S+) \(\[(IP)\](.*?)\) by (\S+) */
		if (nonspace(&c, a, &rdns, false) && lit(&c, " ([") && ip(&c, a, &ipv) && lit(&c, "]")) {
			const char *e = strstr(c.p, ") by ");

			if (e) {
				char *sub = mavis_arena_strndup(a, c.p, (size_t)(e - c.p));
				struct cur k = { e + 5 };

				if (nonspace(&k, a, &by, false)) {
					helo = rdns;
					if ((t = strstr(sub, "helo=")) != NULL)
						helo = mavis_arena_strndup(a, t + 5, strcspn(t + 5, " "));
					if ((t = strstr(sub, "ident=")) != NULL)
						ident = mavis_arena_strndup(a, t + 6, strcspn(t + 6, " "));
					goto enough;
				}
			}
		}
		c.p = l;
		rdns = "";
		/* ^(\S+) \[(IP)\](:\d+)? by (\S+) */
		if (nonspace(&c, a, &rdns, false) && lit(&c, " [") && ip(&c, a, &ipv) && lit(&c, "]")) {
			if (*c.p == ':') {
				c.p++;
				while (sa_isdigit((unsigned char)*c.p))
					c.p++;
			}
			if (lit(&c, " by ") && nonspace(&c, a, &by, false)) {
				helo = rdns;
				goto enough;
			}
		}
		c.p = l;
		rdns = "";
		ipv = "";
	} else if (strstr(l, " (Postfix) with")) {
		/* ^(\S+) \((\S+) ?\[(IP)\]\) by (\S+) */
		char *h, *rd, *ipx, *bx;

		if (nonspace(&c, a, &h, false) && lit(&c, " (")) {
			struct cur k = c;

			if (nonspace_until(&k, a, &rd, '[', false) && lit(&k, "[") && ip(&k, a, &ipx) &&
			    lit(&k, "]) by ") && nonspace(&k, a, &bx, false)) {
				size_t rl = strlen(rd);

				if (rl && rd[rl - 1] == ' ')
					rd[rl - 1] = '\0';
				looked_up = true;
				helo = h;
				rdns = strcmp(rd, "unknown") ? rd : "";
				ipv = ipx;
				by = bx;
				goto enough;
			}
			k = c;
			if (nonspace(&k, a, &rd, false) && lit(&k, " [") && ip(&k, a, &ipx) &&
			    lit(&k, "]) by ") && nonspace(&k, a, &bx, false)) {
				looked_up = true;
				helo = h;
				rdns = strcmp(rd, "unknown") ? rd : "";
				ipv = ipx;
				by = bx;
				goto enough;
			}
		}
		c.p = l;
	}
	/* sendmail: ^(\S+) \((\S+) \[(IP)\].*\) by (\S+) \( (not qmail) */
	if (!strstr(l, "(qmail-")) {
		char *h, *rd, *ipx, *bx;

		c.p = l;
		if (nonspace(&c, a, &h, false) && lit(&c, " (") && nonspace(&c, a, &rd, false) &&
		    lit(&c, " [") && ip(&c, a, &ipx) && lit(&c, "]")) {
			/* .*\) by (\S+) \( : the last ") by X (" */
			const char *last = NULL;

			for (const char *q = c.p; (q = strstr(q, ") by ")) != NULL; q++)
				last = q;
			if (last) {
				struct cur k = { last + 5 };

				if (nonspace(&k, a, &bx, false) && lit(&k, " (")) {
					looked_up = true;
					helo = h;
					rdns = rd;
					ipv = ipx;
					by = bx;
					if (!strncmp(rdns, "IDENT:", 6) && strchr(rdns, '@')) {
						ident = mavis_arena_strndup(a, rdns + 6, strcspn(rdns + 6, "@"));
						rdns = strchr(rdns, '@') + 1;
					}
					if (strchr(rdns, '@')) {
						ident = mavis_arena_strndup(a, rdns, strcspn(rdns, "@"));
						rdns = strchr(rdns, '@') + 1;
					}
					goto enough;
				}
			}
		}
	}
	/* the non-standard forms Received.pm tries next, in its order */
	{
		char *h, *rd, *ipx, *bx;

		/* ^(\S+) \((\S+) \[(IP)\]\) by (\S+) with \S+ \( (Exchange IMS) */
		c.p = l;
		if (nonspace(&c, a, &h, false) && lit(&c, " (") && nonspace(&c, a, &rd, false) &&
		    lit(&c, " [") && ip(&c, a, &ipx) && lit(&c, "]) by ") && nonspace(&c, a, &bx, false) &&
		    lit(&c, " with ")) {
			struct cur k = c;
			char *w;

			if (nonspace(&k, a, &w, false) && lit(&k, " (")) {
				looked_up = true;
				rdns = rd, ipv = ipx, helo = h, by = bx;
				goto enough;
			}
		}
		/* ^(\S+) \(\[(IP)\] helo=(\S+)\) by (\S+) with */
		c.p = l;
		if (nonspace(&c, a, &rd, false) && lit(&c, " ([") && ip(&c, a, &ipx) &&
		    lit(&c, "] helo=") && nonspace_until(&c, a, &h, ')', false) && lit(&c, ") by ") &&
		    nonspace(&c, a, &bx, false) && lit(&c, " with ")) {
			rdns = rd, ipv = ipx, helo = h, by = bx;
			goto enough;
		}
		/* ^(\S+) \((\S+\.\S+)\[(IP)\]\) by (\S+)  (attbi) */
		c.p = l;
		if (nonspace(&c, a, &h, false) && lit(&c, " (") && nonspace_until(&c, a, &rd, '[', false) &&
		    strchr(rd, '.') != NULL && rd[0] != '.' && rd[strlen(rd) - 1] != '.' && lit(&c, "[") &&
		    ip(&c, a, &ipx) && lit(&c, "]) by ") && nonspace(&c, a, &bx, false) && *c.p == ' ') {
			looked_up = true;
			helo = h, rdns = rd, ipv = ipx, by = bx;
			goto enough;
		}
		/* ^(\S+) \((\S*)\@\[(IP)\].*\) by (\S+) \(  : no rDNS, the MTA looked */
		c.p = l;
		if (nonspace(&c, a, &h, false) && lit(&c, " (")) {
			size_t run = strcspn(c.p, " ");
			const char *at = NULL;

			for (const char *q = c.p; q + 1 < c.p + run; q++)
				if (q[0] == '@' && q[1] == '[')
					at = q;
			if (at != NULL) {
				char *idt = mavis_arena_strndup(a, c.p, (size_t)(at - c.p));
				struct cur k = { at + 2 };

				if (ip(&k, a, &ipx) && lit(&k, "]")) {
					const char *last = NULL;

					for (const char *q = k.p; (q = strstr(q, ") by ")) != NULL; q++)
						last = q;
					if (last != NULL) {
						struct cur k2 = { last + 5 };

						if (nonspace(&k2, a, &bx, false) && lit(&k2, " (")) {
							looked_up = true;
							helo = h, ipv = ipx, by = bx, ident = idt;
							goto enough;
						}
					}
				}
			}
		}
	}
	/* qmail: ^(\S+) \((?:HELO|EHLO) ([^ ()]*)\) \((\S*)@?\[?(IP)\]?\)... by (\S+) ... SMTP */
	if (strstr(l, "SMTP") || strstr(l, "QMQP")) {
		char *h1, *h2 = "", *idt = "", *ipx, *bx;

		c.p = l;
		if (nonspace(&c, a, &h1, false) && lit(&c, " (")) {
			struct cur k = c;
			bool has_helo = false;

			if (lit(&k, "HELO ") || lit(&k, "EHLO ")) {
				size_t n = strcspn(k.p, " ()");

				h2 = mavis_arena_strndup(a, k.p, n);
				k.p += n;
				if (!lit(&k, ") ("))
					goto not_qmail;
				has_helo = true;
			}
			{
				size_t n = strcspn(k.p, " @)");

				if (k.p[n] == '@') {
					idt = mavis_arena_strndup(a, k.p, n);
					k.p += n + 1;
				}
			}
			lit(&k, "[");
			if (!ip(&k, a, &ipx))
				goto not_qmail;
			lit(&k, "]");
			if (!lit(&k, ")"))
				goto not_qmail;
			if (lit(&k, " (envelope-sender <")) {
				k.p += strcspn(k.p, ">");
				if (!lit(&k, ">)"))
					goto not_qmail;
			}
			if (!lit(&k, " by ") || !nonspace(&k, a, &bx, false) || !qmail_with(k.p))
				goto not_qmail;
			rdns = h1;
			helo = has_helo ? h2 : h1;
			ident = idt;
			ipv = ipx;
			by = bx;
			if (strcmp(rdns, "unknown") != 0)
				looked_up = true;
			else
				rdns = "";
			goto enough;
		}
not_qmail:
		c.p = l;
	}
	/* ^(\S+) \(\[(IP)\]\) by (\S+) \( : sendmail without rDNS */
	{
		char *h, *ipx, *bx;

		c.p = l;
		if (nonspace(&c, a, &h, false) && lit(&c, " ([") && ip(&c, a, &ipx) &&
		    lit(&c, "]) by ") && nonspace(&c, a, &bx, false) && lit(&c, " (")) {
			looked_up = true;
			helo = h;
			ipv = ipx;
			by = bx;
			goto enough;
		}
	}
	/* ^(\S+) \((\S+) \[(IP)\]\).*? by (\S+)\b */
	{
		char *h, *rd, *ipx, *bx;

		c.p = l;
		if (nonspace(&c, a, &h, false) && lit(&c, " (") && nonspace(&c, a, &rd, false) &&
		    lit(&c, " [") && ip(&c, a, &ipx) && lit(&c, "])") && by_host(c.p, a, &bx)) {
			if (strcmp(rd, "softdnserr") != 0) {
				looked_up = true;
				rdns = rd;
			}
			helo = h;
			ipv = ipx;
			by = bx;
			goto enough;
		}
	}
	/* ^\[(IP)\] by (\S+) and ^\((\S+) \[(IP)\]\) by (\S+) */
	{
		char *ipx, *bx, *h;

		c.p = l;
		if (lit(&c, "[") && ip(&c, a, &ipx) && lit(&c, "] by ") && nonspace(&c, a, &bx, false) &&
		    *c.p == ' ') {
			ipv = ipx;
			by = bx;
			goto enough;
		}
		c.p = l;
		if (lit(&c, "(") && nonspace(&c, a, &h, false) && lit(&c, " [") && ip(&c, a, &ipx) &&
		    lit(&c, "]) by ") && nonspace(&c, a, &bx, false) && *c.p == ' ') {
			helo = h;
			ipv = ipx;
			by = bx;
			goto enough;
		}
	}
	if (strstr(l, "with POP3") || strstr(l, "with IMAP"))
		return 0;
	/* ^(\S+) (\((?:HELO|EHLO) ([^)]*)\) )?\((\S*@)?\[?(IP)\]?\).* by (\S+) :
	   host, maybe the HELO name, maybe ident@, address */
	{
		char *h, *idt = "", *ipx, *bx, *h2 = NULL;

		c.p = l;
		if (nonspace(&c, a, &h, false) && lit(&c, " (")) {
			if (!strncmp(c.p, "HELO ", 5) || !strncmp(c.p, "EHLO ", 5)) {
				const char *e = strchr(c.p + 5, ')');

				if (e && e[1] == ' ' && e[2] == '(') {
					h2 = mavis_arena_strndup(a, c.p + 5, (size_t)(e - c.p - 5));
					c.p = e + 3;
				}
			}
			size_t n = strcspn(c.p, " @)");

			if (c.p[n] == '@') {
				idt = mavis_arena_strndup(a, c.p, n);
				c.p += n + 1;
			}
			lit(&c, "[");
			if (ip(&c, a, &ipx)) {
				const char *byp;

				lit(&c, "]");
				if (lit(&c, ")") && (byp = strstr(c.p, " by ")) != NULL) {
					struct cur k = { byp + 4 };

					/* the last " by X " of the line (.* is greedy) */
					for (const char *q = byp; (q = strstr(q + 1, " by ")) != NULL;) {
						struct cur z = { q + 4 };
						char *x;

						if (nonspace(&z, a, &x, false) && *z.p == ' ')
							k.p = q + 4;
					}
					if (nonspace(&k, a, &bx, false) && *k.p == ' ') {
						looked_up = true;
						rdns = h;
						helo = h2 ? h2 : h;
						ident = idt;
						ipv = ipx;
						by = bx;
						goto enough;
					}
				}
			}
		}
	}
	/* a bare address first: "IP by H with", "IP (HELO x) by H ", "IP (Name...) by H with" */
	{
		char *ipx, *bx;

		c.p = l;
		if (ip(&c, a, &ipx) && *c.p == ' ') {
			struct cur k = c;

			if (lit(&k, " by ") && nonspace(&k, a, &bx, false) && lit(&k, " with ")) {
				ipv = ipx;
				by = bx;
				goto enough;
			}
			k = c;
			if ((lit(&k, " (HELO ") || lit(&k, " (EHLO "))) {
				size_t n = strcspn(k.p, " )");

				if (k.p[n] == ')') {
					char *hx = mavis_arena_strndup(a, k.p, n);

					k.p += n;
					if (lit(&k, ") by ") && nonspace(&k, a, &bx, false) && *k.p == ' ') {
						ipv = ipx;
						helo = hx;
						by = bx;
						goto enough;
					}
				}
			}
			k = c;
			if (lit(&k, " (") && sa_isalpha((unsigned char)*k.p)) {
				size_t n = strcspn(k.p, ")");

				k.p += n;
				if (n > 1 && lit(&k, ") by ") && nonspace(&k, a, &bx, false) &&
				    lit(&k, " with ")) {
					ipv = ipx;
					by = bx;
					goto enough;
				}
			}
		}
	}
	/* Received.pm's "STUFF TO IGNORE": handovers without the facts needed */
	if (ignored_handover(l, false))
		return 0;
	if (!*helo) {
		/* ^(\S+)[^-A-Za-z0-9.]: the longest word start followed by such a char */
		size_t n = strcspn(l, " ");

		if (!l[n]) {
			while (n > 1 && (sa_isalnum((unsigned char)l[n - 1]) || l[n - 1] == '-' ||
					 l[n - 1] == '.'))
				n--;
			n = n > 1 ? n - 1 : 0;
		}
		if (n)
			helo = mavis_arena_strndup(a, l, n);
	}
fallback:
	if (!strncmp(s, "(from ", 6) && ignored_handover(s + 6, true))
		return 0;
	if (!*ipv) {
		for (t = s; (t = strchr(t, '[')) != NULL; t++) {
			size_t n = ip_len(t + 1);

			if (n && t[1 + n] == ']') {
				ipv = mavis_arena_strndup(a, t + 1, n);
				break;
			}
		}
	}
	if (!*ipv || !*by)
		return -1;
enough:
	r = mavis_arena_alloc(a, sizeof(*r));
	/* rdns: s/\.+\z//, unknown or [..] means none */
	{
		size_t n = strlen(rdns);

		rdns = mavis_arena_strdup(a, rdns);
		while (n && rdns[n - 1] == '.')
			rdns[--n] = '\0';
		if (!strcasecmp(rdns, "unknown") || rdns[0] == '[')
			rdns = "";
	}
	if (!strncasecmp(ipv, "ipv6:", 5))
		ipv += 5;
	ipv = mavis_arena_strdup(a, ipv);
	if (ipv[0] == '[')
		ipv++;
	if (*ipv && ipv[strlen(ipv) - 1] == ']')
		ipv[strlen(ipv) - 1] = '\0';
	if ((t = strchr(ipv, '%')) != NULL)
		*t = '\0';
	{
		/* ::ffff:1.2.3.4 -> 1.2.3.4 */
		char *f = strcasestr(ipv, "ffff:");

		if (f && strchr(f + 5, '.') && strspn(ipv, "0:") == (size_t)(f - ipv))
			ipv = f + 5;
	}
	by = mavis_arena_strdup(a, by);
	if (*by && by[strlen(by) - 1] == ';')
		by[strlen(by) - 1] = '\0';
	helo = mavis_arena_strdup(a, helo);
	ident = mavis_arena_strdup(a, ident);
	strip_chars(ipv);
	strip_chars(rdns);
	strip_chars(helo);
	strip_chars(by);
	strip_chars(ident);
	if (envfrom) {
		char *e = mavis_arena_strdup(a, envfrom);
		size_t n;

		while (*e == ' ' || *e == '<')
			e++;
		n = strlen(e);
		while (n && (e[n - 1] == '>' || e[n - 1] == ' '))
			e[--n] = '\0';
		strip_chars(e);
		envfrom = e;
	}
	/* the MTA always looks names up: an empty rDNS means there is none */
	r->no_rdns = *rdns == '\0' && looked_up;
	r->ip = ipv;
	r->rdns = rdns;
	r->helo = helo;
	r->by = by;
	r->ident = ident;
	r->envfrom = envfrom;
	r->id = id;
	r->auth = mavis_arena_strdup(a, auth);
	r->ip_private = private_ip(ipv);
	*out = r;
	return 1;
}

static const char *
as_string(struct mavis_arena *a, const struct relay *r)
{
	return mavis_arena_printf(a,
				  "[ ip=%s rdns=%s helo=%s by=%s ident=%s envfrom=%s intl=%d id=%s auth=%s msa=%d ]",
				  r->ip, r->rdns, r->helo, r->by, r->ident, r->envfrom ? r->envfrom : "",
				  r->internal ? 1 : 0, r->id, r->auth, r->msa ? 1 : 0);
}

static const char *
join(struct mavis_arena *a, const struct sa_vec *v)
{
	struct sa_sb b = { 0 };

	sa_sb_add(&b, a, "", 0);
	for (size_t i = 0; i < v->n; i++) {
		const struct relay *r = v->v[i];

		if (i)
			sa_sb_addc(&b, a, ' ');
		sa_sb_add(&b, a, r->as_string, strlen(r->as_string));
	}
	return b.p;
}

int
sa_relays_build(const char *const *received_values, size_t n, const char *own_received,
		const struct sa_netset *trusted, const struct sa_netset *internal,
		struct mavis_arena *a, struct sa_relays **out)
{
	struct sa_relays *rs = mavis_arena_alloc(a, sizeof(*rs));
	bool configured = trusted || internal;
	bool in_trusted = true, in_internal = true;
	size_t total = n + (own_received ? 1 : 0);

	rs->last_trusted = rs->last_internal = -1;
	rs->has_own = own_received != NULL;
	if (!trusted)
		trusted = internal;
	if (!internal)
		internal = trusted;
	for (size_t i = 0; i < total; i++) {
		const char *v = own_received ? (i == 0 ? own_received : received_values[i - 1])
					     : received_values[i];
		struct relay *r = NULL;
		int rc;

		if (i >= SA_MAX_RECEIVED) {
			rs->unparseable++;
			continue;
		}
		rc = parse_line(v ? v : "", a, &r);
		if (rc < 0)
			rs->unparseable++;
		if (rc <= 0) {
			rs->last_trusted += in_trusted;
			rs->last_internal += in_internal;
			continue;
		}
		if (in_trusted) {
			if (!configured) {
				if (!r->ip_private && !*r->auth)
					in_trusted = in_internal = false;
			} else if (!*r->auth && !sa_netset_contains(trusted, r->ip)) {
				in_trusted = in_internal = false;
			} else if (in_internal && !*r->auth && !sa_netset_contains(internal, r->ip)) {
				in_internal = false;
			}
		}
		r->internal = in_internal;
		rs->last_trusted += in_trusted;
		rs->last_internal += in_internal;
		r->as_string = as_string(a, r);
		sa_vec_push(&rs->all, a, r);
		sa_vec_push(in_trusted ? &rs->trusted : &rs->untrusted, a, r);
		sa_vec_push(in_internal ? &rs->internal : &rs->external, a, r);
	}
	rs->str[0] = join(a, &rs->trusted);
	rs->str[1] = join(a, &rs->untrusted);
	rs->str[2] = join(a, &rs->internal);
	rs->str[3] = join(a, &rs->external);
	*out = rs;
	return 0;
}

const char *
sa_relays_pseudo(const struct sa_relays *r, const char *name)
{
	static const char *const names[] = { "X-Spam-Relays-Trusted", "X-Spam-Relays-Untrusted",
					     "X-Spam-Relays-Internal", "X-Spam-Relays-External" };

	for (size_t i = 0; i < 4; i++)
		if (strcasecmp(name, names[i]) == 0)
			return r->str[i];
	return NULL;
}

const char *
sa_relays_line(const struct sa_relays *r, size_t i)
{
	return i < r->all.n ? ((const struct relay *)r->all.v[i])->as_string : NULL;
}

size_t
sa_relays_count(const struct sa_relays *r, int untrusted)
{
	if (r == NULL)
		return 0;
	return untrusted ? r->untrusted.n : r->trusted.n;
}

long
sa_relays_last_index(const struct sa_relays *r, int internal)
{
	if (r == NULL)
		return -1;
	/* the own line is no field of the message: its index is not counted */
	return (internal ? r->last_internal : r->last_trusted) - (r->has_own ? 1 : 0);
}

bool
sa_relays_get(const struct sa_relays *r, int untrusted, size_t i, struct sa_relay_info *out)
{
	if (r == NULL)
		return false;
	const struct sa_vec *v = untrusted ? &r->untrusted : &r->trusted;

	if (i >= v->n)
		return false;
	const struct relay *x = v->v[i];

	out->ip = x->ip ? x->ip : "";
	out->rdns = x->rdns ? x->rdns : "";
	out->helo = x->helo ? x->helo : "";
	out->by = x->by ? x->by : "";
	out->ip_private = x->ip_private;
	out->no_rdns = x->no_rdns;
	out->envfrom = x->envfrom;
	return true;
}

size_t
sa_relays_unparseable(const struct sa_relays *r)
{
	return r->unparseable;
}

static bool
is_ipv4(const char *s)
{
	size_t n = ip_len(s);

	return n && !s[n] && strchr(s, ':') == NULL;
}

int
sa_relay_eval(const struct sa_relays *r, const char *fn, const char *const *args, size_t nargs)
{
	(void)args;
	(void)nargs;
	if (!strcmp(fn, "check_all_trusted"))
		return r->trusted.n && !r->untrusted.n && !r->unparseable;
	if (!strcmp(fn, "check_no_relays"))
		return !r->trusted.n && !r->untrusted.n && !r->unparseable;
	if (!strcmp(fn, "check_relays_unparseable"))
		return r->unparseable ? 1 : 0;
	if (!strcmp(fn, "helo_ip_mismatch")) {
		for (size_t i = 0; i < r->untrusted.n; i++) {
			const struct relay *x = r->untrusted.v[i];
			const char *d;
			size_t pre;

			if (!is_ipv4(x->helo) || private_ip(x->helo))
				continue;
			if (!is_ipv4(x->ip) || private_ip(x->ip) || !strcmp(x->helo, x->ip))
				continue;
			/* the helo's first three octets with the dot */
			d = x->helo;
			for (int k = 0; k < 3; k++)
				d = strchr(d, '.') + 1;
			pre = (size_t)(d - x->helo);
			if (strncmp(x->ip, x->helo, pre) != 0)
				return 1;
		}
		return 0;
	}
	if (!strcmp(fn, "check_for_numeric_helo")) {
		for (size_t i = 0; i < r->untrusted.n; i++) {
			const struct relay *x = r->untrusted.v[i];

			if (is_ipv4(x->helo) && !private_ip(x->helo))
				return 1;
		}
		return 0;
	}
	return -1;
}
