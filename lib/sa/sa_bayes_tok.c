/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_bayes_tok.c - Bayes tokens of a message as Plugin/Bayes.pm's tokenize() makes them */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>
#include <mavis/error.h>

#include "sa_bayes.h"
#include "sa_html.h"
#include "sa_uri.h"

/* The expressions of Bayes.pm that are easier to keep as expressions: the
   result must be what Perl's regex engine gives on the same bytes, and PCRE2
   without UTF/UCP matches as Perl on a byte string (ASCII \w \d \s \b). */
enum {
	RE_DOTS, RE_DASHES, RE_TITLE, RE_IGNORED_HDR, RE_PRESENCE_HDR, RE_MID_OE, RE_MID_EXIM,
	RE_MID_SENDMAIL, RE_RCV_SM1, RE_RCV_SM2, RE_RCV_ID, RE_RCV_EXIM, RE_RCV_DATE, RE_RCV_IP,
	RE_RCV_WORDS, RE_CT_BOUNDARY, RE_CT_WORDS, RE_STOP, RE_N
};

static const struct {
	const char *pat;
	uint32_t opts;
} patterns[RE_N] = {
	[RE_DOTS] = { "(\\w)(\\.{3,6})(\\w)", 0 },
	[RE_DASHES] = { "(\\w)(\\-{2,6})(\\w)", 0 },
	[RE_TITLE] = { "(?:^|\\.\\s+)([A-Z])([^A-Z]+)(?:\\s|$)", 0 },
	/* header fields whose tokens are not worth keeping: noise, list and
	   scanner annotations, mailbox metadata */
	[RE_IGNORED_HDR] = { "^(?:(?:X-)?Sender|Delivered-To|Delivery-Date|(?:X-)?Envelope-To"
			     "|X-MIME-Auto[Cc]onverted|X-Converted-To-Plain-Text|Subject|Date"
			     "|X-List|(?:X-)?Mailing-List"
			     "|(?:X-)?List-(?:Archive|Help|Id|Owner|Post|Subscribe|Unsubscribe"
			     "|Host|Id|Manager|Admin|Comment|Name|Url)"
			     "|X-Unsub(?:scribe)?|X-Mailman-Version|X-Been[Tt]here|X-Loop"
			     "|Mail-Followup-To|X-eGroups-(?:Return|From)|X-MDMailing-List"
			     "|X-XEmacs-List|X-Sympa-To|(?:X-)?Resent-(?:From|To|Date)"
			     "|(?:X-)?Original-(?:From|To|Date)|X-MailScanner(?:-SpamCheck)?"
			     "|X-Spam(?:-(?:Status|Level|Flag|Report|Hits|Score|Checker-Version))?"
			     "|X-Antispam|X-RBL-Warning|X-Mailscanner|X-MDaemon-Deliver-To"
			     "|X-Virus-Scanned|X-Mass-Check-Id|X-Pyzor|X-DCC-\\S{2,25}-Metrics"
			     "|X-Filtered-B[Yy]|X-Scanned-By|X-Scanner|X-AP-Spam-(?:Score|Status)"
			     "|X-RIPE-Spam-Status|X-SpamCop-[^:]+|X-SMTPD|(?:X-)?Spam-Apparently-To"
			     "|SPAM|X-Perlmx-Spam|X-Bogosity|Content-Class|Thread-(?:Index|Topic)"
			     "|X-Original[Aa]rrival[Tt]ime|(?:X-)?Status|X-Flags|X-Keywords"
			     "|Replied|Forwarded|Lines|Content-Length|X-UIDL?|X-IMAPbase"
			     "|X-Bugzilla-[^:]+|X-VM-(?:Bookmark|(?:POP|IMAP)-Retrieved|Labels"
			     "|Last-Modified|Summary-Format|VHeader|v\\d-Data|Message-Order)"
			     "|X-Gnus-Mail-Source|Xref):", PCRE2_CASELESS },
	[RE_PRESENCE_HDR] = { "^(?:X-Face|X-(?:Gnu-?PG|PGP|GPG)(?:-Key)?-Fingerprint"
			      "|D(?:KIM|omainKey)-Signature|X-Google-DKIM-Signature"
			      "|ARC-(?:Message-Signature|Seal)|Autocrypt)$", PCRE2_CASELESS },
	[RE_MID_OE] = { "<([0-9a-f]{4})[0-9a-f]{4}[0-9a-f]{4}\\$([0-9a-f]{4})[0-9a-f]{4}\\$"
			"([0-9a-f]{8})\\@(\\S+)>", 0 },
	[RE_MID_EXIM] = { "<[A-Za-z0-9]{7}-[A-Za-z0-9]{6}-0[A-Za-z0-9]\\@", 0 },
	[RE_MID_SENDMAIL] = { "<20\\d\\d[01]\\d[0123]\\d[012]\\d[012345]\\d[012345]\\d\\."
			      "[A-F0-9]{10,12}\\@", 0 },
	[RE_RCV_SM1] = { "\\swith\\sSMTP\\sid\\sg[\\dA-Z]{10,12}\\s", 0 },
	[RE_RCV_SM2] = { "\\swith\\sESMTP\\sid\\s[\\dA-F]{10,12}\\s", 0 },
	[RE_RCV_ID] = { "\\bid\\s[a-zA-Z0-9]{7,20}\\b", 0 },
	[RE_RCV_EXIM] = { "\\bid\\s[A-Za-z0-9]{7}-[A-Za-z0-9]{6}-0[A-Za-z0-9]", 0 },
	[RE_RCV_DATE] = { "(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\\s)?[0-3\\s]?[0-9]\\s"
			  "(?:Jan|Feb|Ma[ry]|Apr|Ju[nl]|Aug|Sep|Oct|Nov|Dec)\\s(?:19|20)?[0-9]{2}\\s"
			  "[0-2][0-9](?:\\:[0-5][0-9]){1,2}\\s"
			  "(?:\\s*\\(|\\)|\\s*(?:[+-][0-9]{4})|\\s*(?:UT|[A-Z]{2,3}T))*", 0 },
	[RE_RCV_IP] = { "\\b(\\d{1,3}\\.)(\\d{1,3}\\.)(\\d{1,3})(\\.\\d{1,3})\\b", 0 },
	[RE_RCV_WORDS] = { "\\b(?:with|from|for|SMTP|ESMTP)\\b", 0 },
	[RE_CT_BOUNDARY] = { "boundary=[\"'](.*?)[\"']", PCRE2_CASELESS },
	[RE_CT_WORDS] = { "\\b(?:text|charset)\\b", 0 },
	[RE_STOP] = { NULL, 0 },
};

struct sa_bayes_tokenizer {
	pcre2_code *re[RE_N];
	char **ignore;		/* bayes_ignore_header, lower case, sorted */
	size_t n_ignore;
};

static int
cmp_strp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int
sa_bayes_tokenizer_new(const struct mavis_sa_rules *r, struct sa_bayes_tokenizer **out,
		       struct mavis_error *err)
{
	struct sa_bayes_tokenizer *t = mavis_xcalloc(1, sizeof(*t));
	const char *stopword_re = r ? r->bayes_stopword : NULL;

	t->n_ignore = r ? r->n_bayes_ignore : 0;
	t->ignore = mavis_xcalloc(t->n_ignore + 1, sizeof(*t->ignore));
	for (size_t i = 0; i < t->n_ignore; i++) {
		t->ignore[i] = mavis_xstrdup(r->bayes_ignore[i]);
		for (char *p = t->ignore[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	qsort(t->ignore, t->n_ignore, sizeof(*t->ignore), cmp_strp);

	for (int i = 0; i < RE_N; i++) {
		const char *pat = patterns[i].pat;
		uint32_t opts = patterns[i].opts;
		char *stop = NULL;
		int ec;
		PCRE2_SIZE eo;

		if (i == RE_STOP) {
			if (stopword_re == NULL || *stopword_re == '\0')
				continue;
			/* Bayes.pm: '^(?i)' . $re . '$' */
			size_t n = strlen(stopword_re);

			stop = mavis_xmalloc(n + 3);
			stop[0] = '^';
			memcpy(stop + 1, stopword_re, n);
			stop[n + 1] = '$';
			stop[n + 2] = '\0';
			pat = stop;
			opts = PCRE2_CASELESS;
		}
		t->re[i] = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts, &ec, &eo, NULL);
		mavis_xfree(&stop);
		if (t->re[i] == NULL) {
			sa_bayes_tokenizer_free(&t);
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "bayes: pattern %d does not compile at %zu", i,
					       (size_t)eo);
		}
		(void)pcre2_jit_compile(t->re[i], PCRE2_JIT_COMPLETE);
	}
	*out = t;
	return 0;
}

void
sa_bayes_tokenizer_free(struct sa_bayes_tokenizer **tp)
{
	struct sa_bayes_tokenizer *t = tp ? *tp : NULL;

	if (t == NULL)
		return;
	for (int i = 0; i < RE_N; i++)
		pcre2_code_free(t->re[i]);
	for (size_t i = 0; i < t->n_ignore; i++)
		free(t->ignore[i]);
	free(t->ignore);
	free(t);
	*tp = NULL;
}

void
sa_bayes_token_id(const char *tok, size_t len, unsigned char id[5])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;

	if (EVP_Digest(tok, len, md, &ml, EVP_sha1(), NULL) != 1 || ml != 20) {
		memset(id, 0, 5);
		return;
	}
	memcpy(id, md + 15, 5);
}

static void
sha1_hex(const void *p, size_t n, char hex[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;

	if (EVP_Digest(p, n, md, &ml, EVP_sha1(), NULL) != 1)
		memset(md, 0, sizeof(md));
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---- small string functions over the arena ------------------------------- */

struct str {
	char *s;
	size_t n;
};

/* Global substitution of re in s with a fixed replacement (with $N). */
static struct str
subst(const pcre2_code *re, struct str s, const char *repl, struct mavis_arena *a)
{
	PCRE2_SIZE outlen = s.n * 2 + 64;

	for (int tries = 0; tries < 4; tries++) {
		char *o = mavis_arena_alloc_uninit(a, outlen + 1);
		PCRE2_SIZE ol = outlen + 1;
		int rc = pcre2_substitute(re, (PCRE2_SPTR)s.s, s.n, 0,
					  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH,
					  NULL, NULL, (PCRE2_SPTR)repl, PCRE2_ZERO_TERMINATED,
					  (PCRE2_UCHAR *)o, &ol);

		if (rc == PCRE2_ERROR_NOMEMORY) {
			outlen = ol + 1;
			continue;
		}
		if (rc <= 0)	/* no match or an error: unchanged */
			return s;
		return (struct str){ o, ol };
	}
	return s;
}

static bool
re_has(const pcre2_code *re, const char *s, size_t n, pcre2_match_data *md)
{
	return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, NULL) >= 0;
}

static bool
is_w(unsigned char c)
{
	return isalnum(c) || c == '_';
}

static bool
is_keep(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr(",@*!_'\"$. -", c) != NULL);
}

static bool
cont(unsigned char c)
{
	return c >= 0x80 && c <= 0xbf;
}

/* Length of a UTF-8 sequence at p as the tokenizer's alternation takes it
   ([\xC0-\xDF][\x80-\xBF] ...), 0 when none starts there. */
static size_t
u8seq(const unsigned char *p, size_t left)
{
	if (p[0] >= 0xc0 && p[0] <= 0xdf && left >= 2 && cont(p[1]))
		return 2;
	if (p[0] >= 0xe0 && p[0] <= 0xef && left >= 3 && cont(p[1]) && cont(p[2]))
		return 3;
	if (p[0] >= 0xf0 && p[0] <= 0xf4 && left >= 4 && cont(p[1]) && cont(p[2]) && cont(p[3]))
		return 4;
	return 0;
}

/* ---- _tokenize_line --------------------------------------------------------- */

struct emit {
	void (*add)(void *ctx, const char *tok, size_t len);
	void *ctx;
	struct mavis_buf b;
};

static void
emit2(struct emit *e, const char *pfx, const char *s, size_t n)
{
	mavis_buf_reset(&e->b);
	mavis_buf_puts(&e->b, pfx);
	mavis_buf_append(&e->b, s, n);
	e->add(e->ctx, mavis_buf_str(&e->b), e->b.len);
}

/* "D*" of a domain and of each parent: "a.b.c" -> a.b.c, b.c, c */
static void
emit_suffixes(struct emit *e, const char *pfx, const char *s, size_t n)
{
	emit2(e, pfx, s, n);
	/* while (s/^[^\.]+\.(.+)$/$1/): a label of one or more non-dots, a dot,
	   and something after it */
	for (;;) {
		const char *dot = memchr(s, '.', n);

		if (dot == NULL || dot == s || (size_t)(dot - s) + 1 >= n)
			return;
		n -= (size_t)(dot - s) + 1;
		s = dot + 1;
		emit2(e, pfx, s, n);
	}
}

/* _tokenize_mail_addrs: U*user, D*domain and its parents */
static void
mail_addrs(struct emit *e, const char *s, size_t n)
{
	/* (.+)\@(.+)$ : the last @ with something on both sides */
	const char *at = NULL;

	for (size_t i = n; i-- > 1;)
		if (s[i] == '@' && i + 1 < n) {
			at = s + i;
			break;
		}
	if (at == NULL)
		return;
	emit2(e, "U*", s, (size_t)(at - s));
	emit_suffixes(e, "D*", at + 1, n - (size_t)(at - s) - 1);
}

/* lc of the ASCII letters (a Perl byte string) */
static void
lower_ascii(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

/* s with every byte outside [\w:*] removed, into d */
static size_t
strip_nonword(const char *s, size_t n, char *d)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (is_w((unsigned char)s[i]) || s[i] == ':' || s[i] == '*')
			d[o++] = s[i];
	return o;
}

static bool
has_nonword(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(is_w((unsigned char)s[i]) || s[i] == ':' || s[i] == '*'))
			return true;
	return false;
}

static void
one_token(const struct sa_bayes_tokenizer *t, struct emit *e, char *tok, size_t len,
	  const char *prefix, int region, pcre2_match_data *md, struct mavis_arena *a)
{
	static const char trim[] = "-'\".,";

	while (len > 0 && strchr(trim, tok[0]) != NULL && tok[0] != '\0')
		tok++, len--;
	while (len > 0 && strchr(trim, tok[len - 1]) != NULL && tok[len - 1] != '\0')
		len--;
	if (len < 3)
		return;
	if (t->re[RE_STOP] != NULL && re_has(t->re[RE_STOP], tok, len, md))
		return;
	if (region == 1 || region == 2) {
		bool mail = false, dom = false;

		/* /\S\@\S/: an @ with something on both sides (tokens hold no
		   white space) */
		for (size_t i = 1; i + 1 < len; i++)
			if (tok[i] == '@')
				mail = true;
		/* /\S\.[a-z]/i */
		for (size_t i = 1; !mail && i + 1 < len; i++)
			if (tok[i] == '.' && isalpha((unsigned char)tok[i + 1]))
				dom = true;
		if (mail)
			mail_addrs(e, tok, len);
		else if (dom)
			emit_suffixes(e, "UD:", tok, len);
	}
	if (len > SA_BAYES_MAX_TOKEN_LENGTH && memchr(tok, '*', len) == NULL) {
		bool two = false;

		for (size_t i = 0; i + 1 < len; i++)
			if (cont((unsigned char)tok[i]) && cont((unsigned char)tok[i + 1]))
				two = true;
		if (two) {
			/* 3- and 4-byte UTF-8 sequences as u8: tokens, leftmost
			   first: ([\xE0-\xEF]|[\xF0-\xF4][\x80-\xBF])[\x80-\xBF]{2} */
			bool any = false;
			const unsigned char *u = (const unsigned char *)tok;

			for (size_t i = 0; i < len;) {
				size_t k = 0;

				if (u[i] >= 0xe0 && u[i] <= 0xef && i + 2 < len && cont(u[i + 1]) &&
				    cont(u[i + 2]))
					k = 3;
				else if (u[i] >= 0xf0 && u[i] <= 0xf4 && i + 3 < len && cont(u[i + 1]) &&
					 cont(u[i + 2]) && cont(u[i + 3]))
					k = 4;
				if (k == 0) {
					i++;
					continue;
				}
				mavis_buf_reset(&e->b);
				mavis_buf_puts(&e->b, prefix);
				mavis_buf_puts(&e->b, "u8:");
				mavis_buf_append(&e->b, tok + i, k);
				e->add(e->ctx, mavis_buf_str(&e->b), e->b.len);
				any = true;
				i += k;
			}
			if (any)
				return;
		}
		if (region == 0 || region == 1) {
			/* seven characters (UTF-8 sequences or bytes) kept when at
			   least two more bytes follow: "sk:" + those */
			const unsigned char *u = (const unsigned char *)tok;
			size_t off = 0;

			for (int c = 0; c < 7 && off < len; c++) {
				size_t k = u[off] < 0x80 || u[off] >= 0xf5 ? 1 : u8seq(u + off, len - off);

				off += k ? k : 1;
			}
			if (off + 2 <= len) {
				char *sk = mavis_arena_alloc_uninit(a, off + 4);

				memcpy(sk, "sk:", 3);
				memcpy(sk + 3, tok, off);
				sk[off + 3] = '\0';
				tok = sk;
				len = off + 3;
			}
		}
	}
	if (region == 1 || region == 2) {
		char *d = mavis_arena_alloc_uninit(a, len + 1);
		bool nonw = has_nonword(tok, len);

		if (nonw)
			emit2(e, prefix, d, strip_nonword(tok, len, d));
		bool upper = false;

		for (size_t i = 0; i < len; i++)
			if (tok[i] >= 'A' && tok[i] <= 'Z')
				upper = true;
		if (upper) {
			char *l = mavis_arena_memdup(a, tok, len);

			lower_ascii(l, len);
			emit2(e, prefix, l, len);
			if (nonw)
				emit2(e, prefix, d, strip_nonword(l, len, d));
		}
	}
	emit2(e, prefix, tok, len);
}

/* Title Case lowered at the start of a line or after a full stop:
   s/(?:^|\.\s+)([A-Z])([^A-Z]+)(?:\s|$)/ ' '. (lc $1) . $2 . ' ' /ge */
static struct str
title_case(const struct sa_bayes_tokenizer *t, struct str s, pcre2_match_data *md,
	   struct mavis_arena *a)
{
	struct mavis_buf o = { 0 };
	PCRE2_SIZE off = 0, copied = 0;
	bool changed = false;

	while (off <= s.n) {
		int rc = pcre2_match(t->re[RE_TITLE], (PCRE2_SPTR)s.s, s.n, off, 0, md, NULL);

		if (rc < 0)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

		mavis_buf_append(&o, s.s + copied, ov[0] - copied);
		mavis_buf_putc(&o, ' ');
		mavis_buf_putc(&o, (char)(s.s[ov[2]] - 'A' + 'a'));
		mavis_buf_append(&o, s.s + ov[4], ov[5] - ov[4]);
		mavis_buf_putc(&o, ' ');
		copied = ov[1];
		changed = true;
		if (ov[1] == ov[0]) {	/* cannot happen ([A-Z] consumes), but never loop */
			off = ov[1] + 1;
			continue;
		}
		off = ov[1];
	}
	if (!changed) {
		mavis_buf_free(&o);
		return s;
	}
	mavis_buf_append(&o, s.s + copied, s.n - copied);
	struct str r = { mavis_arena_memdup(a, mavis_buf_str(&o), o.len + 1), o.len };

	mavis_buf_free(&o);
	return r;
}

static void
tokenize_line_md(const struct sa_bayes_tokenizer *t, const char *line, size_t len,
		 const char *prefix, int region, struct mavis_arena *a, struct emit *e,
		 pcre2_match_data *md)
{
	char *c = mavis_arena_alloc_uninit(a, len + 1);
	const unsigned char *u = (const unsigned char *)line;
	size_t o = 0;

	/* keep runs of [A-Za-z0-9,@*!_'"$. -], UTF-8 sequences and single
	   bytes \xA1-\xFF; every other byte becomes a space */
	for (size_t i = 0; i < len;) {
		if (is_keep(u[i])) {
			c[o++] = (char)u[i++];
			continue;
		}
		size_t k = u8seq(u + i, len - i);

		if (k > 0) {
			memcpy(c + o, u + i, k);
			o += k, i += k;
			continue;
		}
		c[o++] = u[i] >= 0xa1 ? (char)u[i] : ' ';
		i++;
	}
	c[o] = '\0';
	struct str s = { c, o };

	s = subst(t->re[RE_DOTS], s, "$1 $2 $3", a);
	s = subst(t->re[RE_DASHES], s, "$1 $2 $3", a);
	if (region == 1 || region == 2)
		s = title_case(t, s, md, a);
	/* split on white space (only spaces are left, and the
	   substitutions add spaces only) */
	for (size_t i = 0; i < s.n;) {
		while (i < s.n && isspace((unsigned char)s.s[i]))
			i++;
		size_t j = i;

		while (j < s.n && !isspace((unsigned char)s.s[j]))
			j++;
		if (j > i)
			one_token(t, e, s.s + i, j - i, prefix, region, md, a);
		i = j;
	}
}

void
sa_bayes_tokenize_line(const struct sa_bayes_tokenizer *t, const char *line, size_t len,
		       const char *prefix, int region, struct mavis_arena *a,
		       void (*add)(void *ctx, const char *tok, size_t len), void *ctx)
{
	struct emit e = { .add = add, .ctx = ctx };
	pcre2_match_data *md = pcre2_match_data_create(8, NULL);

	if (md == NULL)
		return;
	tokenize_line_md(t, line, len, prefix, region, a, &e, md);
	pcre2_match_data_free(md);
	mavis_buf_free(&e.b);
}

/* ---- the token set ----------------------------------------------------------- */

struct set {
	struct mavis_arena *a;
	struct sa_btok *v;
	size_t n, cap;
	uint32_t *slot;		/* index+1 into v, open addressing */
	size_t nslot;
	size_t raw;
};

static uint64_t
id64(const unsigned char id[5])
{
	return (uint64_t)id[0] << 32 | (uint64_t)id[1] << 24 | (uint64_t)id[2] << 16 |
	       (uint64_t)id[3] << 8 | id[4];
}

static void
set_grow(struct set *s)
{
	size_t ns = s->nslot ? s->nslot * 2 : 1024;
	uint32_t *sl = mavis_arena_calloc(s->a, ns, sizeof(*sl));

	for (size_t i = 0; i < s->n; i++) {
		size_t h = (size_t)(id64(s->v[i].id) * 0x9E3779B97F4A7C15ull >> 20) & (ns - 1);

		while (sl[h])
			h = (h + 1) & (ns - 1);
		sl[h] = (uint32_t)i + 1;
	}
	s->slot = sl;
	s->nslot = ns;
	if (s->n + 1 > s->cap) {
		size_t nc = ns / 2;
		struct sa_btok *v = mavis_arena_calloc(s->a, nc, sizeof(*v));

		if (s->n)
			memcpy(v, s->v, s->n * sizeof(*v));
		s->v = v;
		s->cap = nc;
	}
}

static void
set_add(void *ctx, const char *tok, size_t len)
{
	struct set *s = ctx;
	unsigned char id[5];

	if (len == 0)
		return;
	s->raw++;
	sa_bayes_token_id(tok, len, id);
	if ((s->n + 1) * 2 > s->nslot)
		set_grow(s);
	size_t h = (size_t)(id64(id) * 0x9E3779B97F4A7C15ull >> 20) & (s->nslot - 1);

	while (s->slot[h]) {
		struct sa_btok *b = &s->v[s->slot[h] - 1];

		if (memcmp(b->id, id, 5) == 0) {
			b->text = mavis_arena_strndup(s->a, tok, len);	/* the last one wins */
			return;
		}
		h = (h + 1) & (s->nslot - 1);
	}
	struct sa_btok *b = &s->v[s->n];

	memcpy(b->id, id, 5);
	b->text = mavis_arena_strndup(s->a, tok, len);
	s->slot[h] = (uint32_t)++s->n;
}

/* ---- header fields ------------------------------------------------------------ */

static struct str
dup_str(struct mavis_arena *a, const char *s, size_t n)
{
	return (struct str){ mavis_arena_strndup(a, s, n), n };
}

static struct str
pre_chew_message_id(const struct sa_bayes_tokenizer *t, struct str v, struct mavis_arena *a)
{
	v = subst(t->re[RE_MID_OE], v, " OEA$1 OEB$2 OEC$3 $4 ", a);
	/* Exim: the first one only (no /g in Bayes.pm) */
	{
		pcre2_match_data *md = pcre2_match_data_create(2, NULL);

		if (md && pcre2_match(t->re[RE_MID_EXIM], (PCRE2_SPTR)v.s, v.n, 0, 0, md, NULL) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			char *o = mavis_arena_alloc_uninit(a, v.n + 1);

			memcpy(o, v.s, ov[0]);
			memcpy(o + ov[0], v.s + ov[1], v.n - ov[1]);
			v.n -= ov[1] - ov[0];
			o[v.n] = '\0';
			v.s = o;
		}
		pcre2_match_data_free(md);
	}
	v = subst(t->re[RE_MID_SENDMAIL], v, "", a);
	for (size_t i = 0; i < v.n; i++)
		if (!(isalnum((unsigned char)v.s[i]) || v.s[i] == '_'))
			v.s[i] = ' ';
	return v;
}

static struct str
pre_chew_received(const struct sa_bayes_tokenizer *t, struct str v, pcre2_match_data *md,
		  struct mavis_arena *a)
{
	v = subst(t->re[RE_RCV_SM1], v, " ", a);
	v = subst(t->re[RE_RCV_SM2], v, " ", a);
	v = subst(t->re[RE_RCV_ID], v, " ", a);
	v = subst(t->re[RE_RCV_EXIM], v, " ", a);
	v = subst(t->re[RE_RCV_DATE], v, "", a);
	/* IPs cut to the /24 (10/8 and 192.168/16 in full, as Bayes.pm's test
	   of $2 reads them), plus "ip*" and the full address */
	{
		struct mavis_buf o = { 0 };
		PCRE2_SIZE off = 0, copied = 0;
		bool changed = false;

		while (off < v.n &&
		       pcre2_match(t->re[RE_RCV_IP], (PCRE2_SPTR)v.s, v.n, off, 0, md, NULL) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			const char *g2 = v.s + ov[4];
			size_t l2 = ov[5] - ov[4], l3 = ov[7] - ov[6];
			bool full = (l2 == 3 && memcmp(g2, "10.", 3) == 0) ||
				    (l2 == 4 && memcmp(g2, "192.", 4) == 0 && l3 == 3 &&
				     memcmp(v.s + ov[6], "168", 3) == 0);

			mavis_buf_append(&o, v.s + copied, ov[0] - copied);
			mavis_buf_append(&o, v.s + ov[2], ov[7] - ov[2]);
			if (full)
				mavis_buf_append(&o, v.s + ov[8], ov[9] - ov[8]);
			mavis_buf_puts(&o, " ip*");
			mavis_buf_append(&o, v.s + ov[0], ov[1] - ov[0]);
			mavis_buf_putc(&o, ' ');
			copied = off = ov[1];
			changed = true;
		}
		if (changed) {
			mavis_buf_append(&o, v.s + copied, v.n - copied);
			v = dup_str(a, mavis_buf_str(&o), o.len);
		}
		mavis_buf_free(&o);
	}
	return subst(t->re[RE_RCV_WORDS], v, " ", a);
}

static struct str
pre_chew_content_type(const struct sa_bayes_tokenizer *t, struct str v, pcre2_match_data *md,
		      struct mavis_arena *a)
{
	/* the boundary of the last match, hex digits as H, runs of -_.= as
	   tokens of their own, appended */
	const char *bnd = NULL;
	size_t bl = 0;
	PCRE2_SIZE off = 0;

	while (off <= v.n &&
	       pcre2_match(t->re[RE_CT_BOUNDARY], (PCRE2_SPTR)v.s, v.n, off, 0, md, NULL) >= 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

		bnd = v.s + ov[2];
		bl = ov[3] - ov[2];
		off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
	}
	if (bnd != NULL) {
		struct mavis_buf o = { 0 };
		char *b = mavis_arena_strndup(a, bnd, bl);
		struct str nv = subst(t->re[RE_CT_BOUNDARY], v, " ", a);

		mavis_buf_append(&o, nv.s, nv.n);
		for (size_t i = 0; i < bl;) {
			if (isxdigit((unsigned char)b[i])) {
				mavis_buf_putc(&o, 'H');
				i++;
			} else if (strchr("-_.=", b[i]) && b[i]) {
				mavis_buf_putc(&o, ' ');
				while (i < bl && strchr("-_.=", b[i]) && b[i])
					mavis_buf_putc(&o, b[i++]);
				mavis_buf_putc(&o, ' ');
			} else {
				mavis_buf_putc(&o, b[i++]);
			}
		}
		v = dup_str(a, mavis_buf_str(&o), o.len);
		mavis_buf_free(&o);
	}
	return subst(t->re[RE_CT_WORDS], v, " ", a);
}

/* parse_header_addresses, as far as Bayes uses it: each address's phrase
   (display name) and address. Comma-separated outside quotes, angle
   brackets and comments. */
static struct str
pre_chew_addr_header(struct str v, struct mavis_arena *a)
{
	struct mavis_buf out = { 0 };
	struct mavis_buf ph = { 0 }, ad = { 0 }, bare = { 0 };
	size_t i = 0;

	for (;;) {
		bool angle = false, inq = false, got_angle = false;
		int par = 0;

		mavis_buf_reset(&ph);
		mavis_buf_reset(&ad);
		mavis_buf_reset(&bare);
		for (; i < v.n; i++) {
			char c = v.s[i];

			if (inq) {
				if (c == '\\' && i + 1 < v.n)
					mavis_buf_putc(&ph, v.s[++i]);
				else if (c == '"')
					inq = false;
				else
					mavis_buf_putc(&ph, c);
				continue;
			}
			if (par > 0) {
				if (c == '(')
					par++;
				else if (c == ')')
					par--;
				continue;
			}
			if (angle) {
				if (c == '>')
					angle = false;
				else if (!isspace((unsigned char)c))
					mavis_buf_putc(&ad, c);
				continue;
			}
			if (c == ',')
				break;
			if (c == '"')
				inq = true;
			else if (c == '(')
				par = 1;
			else if (c == '<')
				angle = got_angle = true;
			else {
				mavis_buf_putc(&ph, c);
				if (!isspace((unsigned char)c))
					mavis_buf_putc(&bare, c);
			}
		}
		const char *addr = got_angle ? mavis_buf_str(&ad) : mavis_buf_str(&bare);
		size_t alen = got_angle ? ad.len : bare.len;

		if (got_angle && ph.len > 0) {
			/* the phrase, split on white space: N*word */
			const char *p = mavis_buf_str(&ph);

			for (size_t k = 0; k < ph.len;) {
				while (k < ph.len && isspace((unsigned char)p[k]))
					k++;
				size_t j = k;

				while (j < ph.len && !isspace((unsigned char)p[j]))
					j++;
				if (j > k) {
					if (out.len)
						mavis_buf_putc(&out, ' ');
					mavis_buf_puts(&out, "N*");
					mavis_buf_append(&out, p + k, j - k);
				}
				k = j;
			}
		}
		if (alen > 0 && memchr(addr, '@', alen) != NULL) {
			/* U*user D*domain ... joined with spaces */
			const char *at = NULL;

			for (size_t k = alen; k-- > 1;)
				if (addr[k] == '@' && k + 1 < alen) {
					at = addr + k;
					break;
				}
			if (at != NULL) {
				if (out.len)
					mavis_buf_putc(&out, ' ');
				mavis_buf_puts(&out, "U*");
				mavis_buf_append(&out, addr, (size_t)(at - addr));
				const char *d = at + 1;
				size_t dn = alen - (size_t)(d - addr);

				for (;;) {
					mavis_buf_puts(&out, " D*");
					mavis_buf_append(&out, d, dn);
					const char *dot = memchr(d, '.', dn);

					if (dot == NULL || dot == d || (size_t)(dot - d) + 1 >= dn)
						break;
					dn -= (size_t)(dot - d) + 1;
					d = dot + 1;
				}
			}
		}
		if (i >= v.n)
			break;
		i++;	/* the comma */
	}
	struct str r = dup_str(a, out.len ? mavis_buf_str(&out) : "", out.len);

	mavis_buf_free(&out);
	mavis_buf_free(&ph);
	mavis_buf_free(&ad);
	mavis_buf_free(&bare);
	return r;
}

/* HEADER_NAME_COMPRESSION */
static const char *
compress_name(const char *h)
{
	static const char *const map[][2] = {
		{ "Message-Id", "*m" }, { "Message-ID", "*M" }, { "Received", "*r" },
		{ "User-Agent", "*u" }, { "References", "*f" }, { "In-Reply-To", "*i" },
		{ "From", "*F" }, { "Reply-To", "*R" }, { "Return-Path", "*p" },
		{ "Return-path", "*rp" }, { "X-Mailer", "*x" },
		{ "X-Authentication-Warning", "*a" }, { "Organization", "*o" },
		{ "Organisation", "*o" }, { "Content-Type", "*ct" },
		{ "Content-Disposition", "*cd" }, { "Content-Transfer-Encoding", "*ce" },
		{ "x-spam-relays-trusted", "*RT" }, { "x-spam-relays-untrusted", "*RU" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], h) == 0)
			return map[i][1];
	return h;
}

/* Bayes.pm's %parsed: the values per (compressed) header name, joined */
struct hgroup {
	const char *name;
	struct mavis_buf v;
	bool set;
};

struct hgroups {
	struct hgroup *g;
	size_t n, cap;
};

static void
hg_add(struct hgroups *hs, const char *name, const char *v, size_t n)
{
	struct hgroup *g = NULL;

	for (size_t i = 0; i < hs->n; i++)
		if (strcmp(hs->g[i].name, name) == 0)
			g = &hs->g[i];
	if (g == NULL) {
		if (hs->n == hs->cap) {
			hs->cap = hs->cap ? hs->cap * 2 : 32;
			hs->g = mavis_xrealloc(hs->g, hs->cap * sizeof(*hs->g));
		}
		g = &hs->g[hs->n++];
		memset(g, 0, sizeof(*g));
		g->name = name;
	} else {
		mavis_buf_putc(&g->v, ' ');
	}
	mavis_buf_append(&g->v, v, n);
}

static bool
name_is(const char *h, const char *const *list, bool icase)
{
	for (; *list; list++)
		if (icase ? strcasecmp(h, *list) == 0 : strcmp(h, *list) == 0)
			return true;
	return false;
}

static void
one_header(const struct sa_bayes_tokenizer *t, struct hgroups *hs, const char *line, size_t len,
	   pcre2_match_data *md, struct mavis_arena *a)
{
	static const char *const mid[] = { "Message-Id", "X-Message-Id", "Resent-Message-Id", NULL };
	static const char *const addr_h[] = { "Return-Path", "From", "To", "Cc", "Reply-To",
					      "Errors-To", "Mail-Followup-To", "Sender", NULL };
	static const char *const mi[] = { "In-Reply-To", "References", "Message-ID", NULL };
	static const char *const ad[] = { "From", "To", "Cc", NULL };
	static const char *const ua[] = { "X-Mailer", "User-Agent", NULL };
	bool nonspace = false;

	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)line[i]))
			nonspace = true;
	if (!nonspace)
		return;
	const char *colon = memchr(line, ':', len);
	const char *hdr = mavis_arena_strndup(a, line, colon ? (size_t)(colon - line) : len);
	/* bayes_ignore_header (lc $hdr) */
	{
		char *lc = mavis_arena_strdup(a, hdr);

		for (char *p = lc; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (t->n_ignore && bsearch(&lc, t->ignore, t->n_ignore, sizeof(*t->ignore), cmp_strp))
			return;
	}
	struct str v = colon ? dup_str(a, colon + 1, len - (size_t)(colon - line) - 1)
			     : dup_str(a, "", 0);

	if (v.n > 0 && v.s[v.n - 1] == '\n')	/* chomp */
		v.s[--v.n] = '\0';
	bool addr = false;

	if (strncasecmp(hdr, "X-", 2) == 0)
		addr = name_is(hdr + 2, addr_h, true);
	else if (strncasecmp(hdr, "Resent-", 7) == 0)
		addr = name_is(hdr + 7, addr_h, true);
	else
		addr = name_is(hdr, addr_h, true);
	if (name_is(hdr, mid, true))
		v = pre_chew_message_id(t, v, a);
	else if (addr)
		v = pre_chew_addr_header(v, a);
	else if (strcmp(hdr, "Received") == 0)
		v = pre_chew_received(t, v, md, a);
	else if (strcmp(hdr, "Content-Type") == 0)
		v = pre_chew_content_type(t, v, md, a);
	else if (strcmp(hdr, "MIME-Version") == 0) {
		char *p = strstr(v.s, "1.0");

		if (p != NULL) {
			memmove(p, p + 3, v.n - (size_t)(p - v.s) - 3 + 1);
			v.n -= 3;
		}
	} else if (re_has(t->re[RE_PRESENCE_HDR], hdr, strlen(hdr), md))
		v = dup_str(a, "1", 1);
	else if (strncmp(hdr, "x-spam-relays-", 14) == 0 &&
		 name_is(hdr + 14, (const char *const[]){ "external", "internal", "trusted",
							  "untrusted", NULL }, false)) {
		/* s/ [a-z]+=/ /g */
		struct mavis_buf o = { 0 };

		for (size_t i = 0; i < v.n; i++) {
			if (v.s[i] == ' ') {
				size_t j = i + 1;

				while (j < v.n && v.s[j] >= 'a' && v.s[j] <= 'z')
					j++;
				if (j > i + 1 && j < v.n && v.s[j] == '=') {
					mavis_buf_putc(&o, ' ');
					i = j;
					continue;
				}
			}
			mavis_buf_putc(&o, v.s[i]);
		}
		v = dup_str(a, o.len ? mavis_buf_str(&o) : "", o.len);
		mavis_buf_free(&o);
	}
	if (name_is(hdr, mi, true))
		hg_add(hs, "*MI", v.s, v.n);
	if (name_is(hdr, ad, true))
		hg_add(hs, "*Ad", v.s, v.n);
	if (name_is(hdr, ua, true))
		hg_add(hs, "*UA", v.s, v.n);
	hg_add(hs, compress_name(hdr), v.s, v.n);
}

/* The value as Node.pm decodes it: folds (\n[ \t]+) as one space. The
   model's decoded value drops the newline only, so it is taken from the
   raw value when that has no encoded words to decode. */
static const char *
hdr_value(const struct sa_hdr *h, struct mavis_arena *a)
{
	const char *s = strstr(h->raw, "=?") ? h->dec : h->raw;
	size_t n = strlen(s);
	char *o = mavis_arena_alloc_uninit(a, n + 2);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\t')) {
			while (i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\t'))
				i++;
			o[k++] = ' ';
			continue;
		}
		o[k++] = s[i];
	}
	/* s/\s+$// then the newline get_all_headers adds */
	while (k > 0 && isspace((unsigned char)o[k - 1]))
		k--;
	o[k++] = '\n';
	o[k] = '\0';
	return o;
}

static void
tokenize_headers(const struct sa_bayes_tokenizer *t, const struct sa_msg *m, struct set *s,
		 pcre2_match_data *md, struct mavis_arena *a)
{
	struct hgroups hs = { 0 };
	const struct sa_hdr *rcvd[2] = { NULL, NULL };	/* the last two Received */
	struct mavis_buf line = { 0 };

	for (size_t i = 0; i < m->n_h; i++) {
		const struct sa_hdr *h = &m->h[i];

		if (strcasecmp(h->name, "Received") == 0) {
			rcvd[0] = rcvd[1];
			rcvd[1] = h;
			continue;
		}
		mavis_buf_reset(&line);
		mavis_buf_printf(&line, "%s: %s", h->name, hdr_value(h, a));
		if (re_has(t->re[RE_IGNORED_HDR], mavis_buf_str(&line), line.len, md))
			continue;
		one_header(t, &hs, mavis_buf_str(&line), line.len, md, a);
	}
	/* Message::Metadata's strings, by name: the relay lists */
	static const char *const meta[][2] = {
		{ "x-spam-relays-external", "X-Spam-Relays-External" },
		{ "x-spam-relays-internal", "X-Spam-Relays-Internal" },
		{ "x-spam-relays-trusted", "X-Spam-Relays-Trusted" },
		{ "x-spam-relays-untrusted", "X-Spam-Relays-Untrusted" },
	};
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		const char *v = sa_msg_get(m, a, meta[i][1], 0);

		mavis_buf_reset(&line);
		mavis_buf_printf(&line, "%s: %s\n", meta[i][0], v ? v : "");
		one_header(t, &hs, mavis_buf_str(&line), line.len, md, a);
	}
	for (int k = 1; k >= 0; k--) {
		if (rcvd[k] == NULL)
			continue;
		mavis_buf_reset(&line);
		mavis_buf_printf(&line, "%s: %s", rcvd[k]->name, hdr_value(rcvd[k], a));
		one_header(t, &hs, mavis_buf_str(&line), line.len, md, a);
	}
	mavis_buf_free(&line);
	struct emit e = { .add = set_add, .ctx = s };
	size_t before = s->raw;

	for (size_t i = 0; i < hs.n; i++) {
		char *pfx = mavis_arena_printf(a, "H%s:", hs.g[i].name);

		if (s->raw - before < SA_BAYES_MAX_HDR_TOKENS)
			tokenize_line_md(t, hs.g[i].v.len ? mavis_buf_str(&hs.g[i].v) : "",
					 hs.g[i].v.len, pfx, 0, a, &e, md);
		mavis_buf_free(&hs.g[i].v);
	}
	free(hs.g);
	mavis_buf_free(&e.b);
}

/* ---- the message ------------------------------------------------------------- */

/* The invisible rendered text as get_invisible_rendered_body_text_array
   makes it: each HTML part's invisible text, parts joined by a newline,
   white space collapsed (paragraphs kept), no Subject. */
static void
invisible_lines(const struct sa_msg *m, struct mavis_buf *o)
{
	struct mavis_buf t = { 0 };

	for (size_t i = 0; i < m->n_html; i++) {
		size_t n = 0;
		const char *s = sa_html_invisible(m->html[i], &n);

		if (t.len)
			mavis_buf_putc(&t, '\n');
		if (s != NULL)
			mavis_buf_append(&t, s, n);
	}
	const char *s = t.len ? mavis_buf_str(&t) : "";

	for (size_t i = 0; i < t.len;) {
		if (isspace((unsigned char)s[i])) {
			size_t j = i, nl = 0;

			while (j < t.len && isspace((unsigned char)s[j]))
				nl += s[j++] == '\n';
			mavis_buf_putc(o, nl >= 2 ? '\n' : ' ');
			i = j;
			continue;
		}
		mavis_buf_putc(o, s[i++]);
	}
	mavis_buf_free(&t);
}

static void
add_lines(const struct sa_bayes_tokenizer *t, const char *const *lines, size_t n,
	  const char *prefix, int region, size_t max, struct set *s, pcre2_match_data *md,
	  struct mavis_arena *a)
{
	struct emit e = { .add = set_add, .ctx = s };
	size_t before = s->raw;

	for (size_t i = 0; i < n; i++) {
		tokenize_line_md(t, lines[i], strlen(lines[i]), prefix, region, a, &e, md);
		if (s->raw - before >= max)
			break;
	}
	mavis_buf_free(&e.b);
}

/* get_uri_list: every canonical variant of every URI of the text and
   HTML parts, unique (sorted: the order does not matter to a token set).
   At most SA_BAYES_MAX_URI_TOKENS variants are taken. */
static size_t
uri_list(const struct sa_msg *m, struct mavis_arena *a, const char ***out)
{
	struct mavis_buf text = { 0 };
	const char **all = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < m->n_body; i++) {
		mavis_buf_puts(&text, m->body[i]);
		mavis_buf_putc(&text, '\n');
	}
	const char **found = NULL;
	size_t nf = text.len ? sa_uri_find(mavis_buf_str(&text), text.len, a, &found) : 0;

	mavis_buf_free(&text);
	for (size_t pass = 0; pass <= m->n_html && n < SA_BAYES_MAX_URI_TOKENS; pass++) {
		const char *const *src = found;
		size_t ns = nf;

		if (pass > 0)
			ns = sa_html_uris(m->html[pass - 1], &src);
		for (size_t i = 0; i < ns && n < SA_BAYES_MAX_URI_TOKENS; i++) {
			const char **var = NULL;
			size_t nv = sa_uri_canonicalize(src[i], a, &var);

			for (size_t k = 0; k < nv && n < SA_BAYES_MAX_URI_TOKENS; k++) {
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 32;
					const char **v = mavis_arena_calloc(a, nc, sizeof(*v));

					if (n)
						memcpy(v, all, n * sizeof(*v));
					all = v;
					cap = nc;
				}
				all[n++] = var[k];
			}
		}
	}
	if (n > 1) {
		size_t u = 1;

		qsort(all, n, sizeof(*all), cmp_strp);
		for (size_t i = 1; i < n; i++)
			if (strcmp(all[i], all[u - 1]) != 0)
				all[u++] = all[i];
		n = u;
	}
	*out = all;
	return n;
}

void
sa_bayes_tokenize(const struct sa_bayes_tokenizer *t, const struct sa_msg *m,
		  struct mavis_arena *a, struct sa_btoks *out)
{
	struct set s = { .a = a };
	pcre2_match_data *md = pcre2_match_data_create(12, NULL);

	memset(out, 0, sizeof(*out));
	if (md == NULL)
		return;
	set_grow(&s);
	add_lines(t, m->body_visible, m->n_body_visible, "", 1, SA_BAYES_MAX_BODY_TOKENS, &s, md,
		  a);
	{
		const char **u = NULL;
		size_t nu = uri_list(m, a, &u);

		add_lines(t, u, nu, "", 2, SA_BAYES_MAX_URI_TOKENS, &s, md, a);
	}
	if (m->n_html > 0) {
		struct mavis_buf inv = { 0 };

		invisible_lines(m, &inv);
		if (inv.len > 0) {
			const char *l[1] = { mavis_buf_str(&inv) };

			add_lines(t, l, 1, "I*:", 1, SA_BAYES_MAX_BODY_TOKENS, &s, md, a);
		}
		mavis_buf_free(&inv);
	}
	tokenize_headers(t, m, &s, md, a);
	pcre2_match_data_free(md);
	out->v = s.v;
	out->n = s.n;
	out->raw = s.raw;
}

const char *
sa_bayes_msgid(const struct sa_msg *m, const char *raw, size_t len, struct mavis_arena *a)
{
	const char *to = sa_msg_get(m, a, "To", 0), *date = sa_msg_get(m, a, "Date", 0);
	const char *body = raw, *end = raw + len;
	char bh[41], h[41];
	struct mavis_buf b = { 0 };

	/* the pristine body: after the first empty line, CRLF as LF */
	for (const char *p = raw; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			body = end;
			break;
		}
		if (nl == p || (nl == p + 1 && *p == '\r')) {
			body = nl + 1;
			break;
		}
		p = nl + 1;
		body = end;
	}
	if (memmem(raw, len, "\r\n", 2) != NULL) {
		struct mavis_buf nb = { 0 };

		for (const char *p = body; p < end; p++)
			if (!(*p == '\r' && p + 1 < end && p[1] == '\n'))
				mavis_buf_putc(&nb, *p);
		sha1_hex(nb.len ? mavis_buf_str(&nb) : "", nb.len, bh);
		mavis_buf_free(&nb);
	} else {
		sha1_hex(body, (size_t)(end - body), bh);
	}
	mavis_buf_printf(&b, "%s", to ? to : "");
	mavis_buf_putc(&b, '\0');
	mavis_buf_printf(&b, "%s", date ? date : "");
	mavis_buf_putc(&b, '\0');
	mavis_buf_puts(&b, bh);
	sha1_hex(mavis_buf_str(&b), b.len, h);
	mavis_buf_free(&b);
	return mavis_arena_printf(a, "%s@sa_generated", h);
}
