/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ampdp.c - amavisd's AM.PDP release requests: parse, answer, secret check */

#include <glib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <mavis/ampdp.h>
#include <mavis/quarantine.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX-decode s[0..n) into the arena. amavisd decodes any %XX and keeps a
   '%' not followed by two hex digits; we refuse that and a decoded NUL,
   since no field of a release request can hold either. */
static int
decode(const char *s, size_t n, struct mavis_arena *a, const char **out, size_t lineno,
       struct mavis_error *err)
{
	char *d = mavis_arena_alloc_uninit(a, n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return mavis_error_set(err, MAVIS_ERR_PARSE,
						       "line %zu: bad %%-escape", lineno);
			c = hexval(s[i + 1]) << 4 | hexval(s[i + 2]);
			i += 2;
		}
		if (c == '\0')
			return mavis_error_set(err, MAVIS_ERR_PARSE, "line %zu: NUL in a field", lineno);
		d[o++] = (char)c;
	}
	d[o] = '\0';
	*out = d;
	return 0;
}

/* amavisd's mail_id pattern: [A-Za-z0-9][A-Za-z0-9_+-]*={0,2}; bounded by
   the quarantine's id length. */
static bool
valid_mail_id(const char *s)
{
	size_t n = strlen(s), core;

	if (n == 0 || n > MAVIS_QUARANTINE_ID_MAX || !g_ascii_isalnum(s[0]))
		return false;
	core = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-");
	return core == n || (n - core <= 2 && strspn(s + core, "=") == n - core);
}

/* "<a@b>" or "a@b" -> "a@b", checked as quarantine.h takes addresses. */
static int
address(const char *name, const char *v, bool empty_ok, struct mavis_arena *a, const char **out,
	struct mavis_error *err)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '<' && v[n - 1] == '>')
		v = mavis_arena_strndup(a, v + 1, n - 2);
	if (v[0] == '\0' && !empty_ok)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "%s: empty address", name);
	if (mavis_quarantine_check_addr(v, err) < 0) {
		mavis_error_prefix(err, "%s: ", name);
		return MAVIS_ERR_PARSE;
	}
	*out = v;
	return 0;
}

/* The attributes kept; each may come once. */
enum field { F_REQUEST, F_MAIL_ID, F_SECRET_ID, F_PTAG, F_QUAR_TYPE, F_MAIL_FILE, F_REQUESTED_BY,
	     F_SENDER, F_NFIELDS };
static const char *const field_names[F_NFIELDS] = {
	"request", "mail_id", "secret_id", "partition_tag", "quar_type", "mail_file",
	"requested_by", "sender",
};

int
mavis_ampdp_parse(const char *data, size_t len, struct mavis_arena *a, struct mavis_ampdp_req *out,
		  struct mavis_error *err)
{
	const char *val[F_NFIELDS] = { 0 };
	const char **rcpts = NULL;
	size_t nrcpts = 0, cap = 0, lineno = 0, pos = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		const char *name, *value, *sep;
		size_t nlen, vstart;

		pos += ll + (nl ? 1 : 0);
		if (++lineno > MAVIS_AMPDP_LINES_MAX)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "more than %d lines",
					       MAVIS_AMPDP_LINES_MAX);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "line %zu: empty line inside "
								     "a request", lineno);
		/* amavisd: name up to the first '=' or ':' (then blanks). */
		sep = NULL;
		for (size_t i = 0; i < ll; i++)
			if (line[i] == '=' || line[i] == ':') {
				sep = line + i;
				break;
			}
		if (sep == NULL)
			return mavis_error_set(err, MAVIS_ERR_PARSE,
					       "line %zu: not an attribute line (no '=')", lineno);
		nlen = (size_t)(sep - line);
		vstart = nlen + 1;
		if (*sep == ':')
			while (vstart < ll && (line[vstart] == ' ' || line[vstart] == '\t'))
				vstart++;
		if (ll - vstart > 3 * MAVIS_AMPDP_VALUE_MAX || nlen > 256)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "line %zu: field too long",
					       lineno);
		if ((rc = decode(line, nlen, a, &name, lineno, err)) < 0 ||
		    (rc = decode(line + vstart, ll - vstart, a, &value, lineno, err)) < 0)
			return rc;
		if (strlen(value) > MAVIS_AMPDP_VALUE_MAX)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "line %zu: value too long",
					       lineno);
		if (strcmp(name, "recipient") == 0) {
			if (nrcpts >= MAVIS_AMPDP_RCPTS_MAX)
				return mavis_error_set(err, MAVIS_ERR_LIMIT, "more than %d recipients",
						       MAVIS_AMPDP_RCPTS_MAX);
			if (nrcpts == cap) {
				const char **n = mavis_arena_alloc(a, (cap ? 2 * cap : 8) * sizeof(*n));

				if (nrcpts)
					memcpy(n, rcpts, nrcpts * sizeof(*n));
				rcpts = n;
				cap = cap ? 2 * cap : 8;
			}
			if ((rc = address("recipient", value, false, a, &rcpts[nrcpts], err)) < 0)
				return rc;
			nrcpts++;
			continue;
		}
		size_t f;
		for (f = 0; f < F_NFIELDS; f++)
			if (strcmp(name, field_names[f]) == 0)
				break;
		if (f == F_NFIELDS) {
			out->nunknown++;
			continue;
		}
		/* amavisd would turn a repeated field into a list and then use
		   its printed form: refuse it instead. */
		if (val[f] != NULL)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "line %zu: %s given twice",
					       lineno, field_names[f]);
		val[f] = value;
	}

	if (val[F_REQUEST] == NULL)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "Missing 'request' field");
	if (strcasecmp(val[F_REQUEST], "release") == 0)
		out->request = MAVIS_AMPDP_RELEASE;
	else if (strcasecmp(val[F_REQUEST], "requeue") == 0)
		out->request = MAVIS_AMPDP_REQUEUE;
	else if (strcasecmp(val[F_REQUEST], "report") == 0)
		out->request = MAVIS_AMPDP_REPORT;
	else
		return mavis_error_set(err, MAVIS_ERR_PARSE, "unsupported request '%s'",
				       val[F_REQUEST]);
	if (val[F_MAIL_ID] == NULL)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "Missing 'mail_id' field");
	if (!valid_mail_id(val[F_MAIL_ID]))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "Invalid mail_id '%s'", val[F_MAIL_ID]);
	out->mail_id = val[F_MAIL_ID];
	out->secret_id = val[F_SECRET_ID];
	out->partition_tag = val[F_PTAG];
	if (val[F_QUAR_TYPE] != NULL && val[F_QUAR_TYPE][0] != '\0') {
		if (strlen(val[F_QUAR_TYPE]) != 1 || strchr("FZQ", val[F_QUAR_TYPE][0]) == NULL)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "unsupported quar_type '%s'",
					       val[F_QUAR_TYPE]);
		out->quar_type = val[F_QUAR_TYPE][0];
	}
	out->mail_file = val[F_MAIL_FILE];
	if (val[F_REQUESTED_BY] != NULL && val[F_REQUESTED_BY][0] != '\0' &&
	    (rc = address("requested_by", val[F_REQUESTED_BY], false, a, &out->requested_by,
			  err)) < 0)
		return rc;
	if (val[F_SENDER] != NULL && (rc = address("sender", val[F_SENDER], true, a, &out->sender,
						   err)) < 0)
		return rc;
	out->rcpts = rcpts;
	out->nrcpts = nrcpts;
	return 0;
}

/* base64 (either alphabet: "+/" or "-_") of s, without padding, into bytes;
   -1 when s has other characters or a length no encoder makes. */
static ssize_t
b64_decode(const char *s, unsigned char *out, size_t outmax)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(s), o = 0;
	unsigned long acc = 0;
	int bits = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(std, s[i]);
		int v;

		if (s[i] != '\0' && p != NULL)
			v = (int)(p - std);
		else if (s[i] == '+' || s[i] == '-')
			v = 62;
		else if (s[i] == '/' || s[i] == '_')
			v = 63;
		else
			return -1;
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outmax)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (ssize_t)o;
}

/* First 12 characters of base64(md5(data)) with 62 and 63 as given. */
static void
md5_id(const void *data, size_t n, char c62, char c63, char out[13])
{
	guint8 digest[16];
	gsize dlen = sizeof(digest);
	GChecksum *ck = g_checksum_new(G_CHECKSUM_MD5);
	gchar *b64;

	g_checksum_update(ck, data, n);
	g_checksum_get_digest(ck, digest, &dlen);
	g_checksum_free(ck);
	b64 = g_base64_encode(digest, dlen);
	for (int i = 0; i < 12; i++)
		out[i] = b64[i] == '+' ? c62 : b64[i] == '/' ? c63 : b64[i];
	out[12] = '\0';
	g_free(b64);
}

bool
mavis_ampdp_secret_ok(const char *mail_id, const char *secret_id)
{
	unsigned char bin[MAVIS_AMPDP_VALUE_MAX];
	char id[13];

	if (mail_id == NULL || secret_id == NULL || secret_id[0] == '\0' ||
	    strlen(secret_id) > 2 * MAVIS_QUARANTINE_ID_MAX)
		return false;
	/* 2.7+: base64url secret, id = base64url(md5(secret bytes)). */
	if (strchr(secret_id, '+') == NULL) {
		ssize_t n = b64_decode(secret_id, bin, sizeof(bin));

		if (n > 0) {
			md5_id(bin, (size_t)n, '-', '_', id);
			if (strcmp(id, mail_id) == 0)
				return true;
		}
	}
	/* Before 2.7: id = almost-base64 ("+", "-") of md5(secret text). */
	if (strchr(secret_id, '_') == NULL) {
		md5_id(secret_id, strlen(secret_id), '+', '-', id);
		if (strcmp(id, mail_id) == 0)
			return true;
	}
	return false;
}

/* amavisd's value encoding: '%' and every byte outside 0x21-0x7e. */
static void
put_value(struct mavis_buf *b, const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p >= 0x21 && *p <= 0x7e && *p != '%')
			mavis_buf_putc(b, (char)*p);
		else
			mavis_buf_printf(b, "%%%02x", *p);
	}
}

void
mavis_ampdp_put(struct mavis_buf *b, const char *name, const char *value)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (g_ascii_isalnum(*p) || strchr("._+-", *p) != NULL)
			mavis_buf_putc(b, (char)*p);
		else
			mavis_buf_printf(b, "%%%02x", *p);
	}
	mavis_buf_putc(b, '=');
	put_value(b, value);
	mavis_buf_puts(b, "\r\n");
}

void
mavis_ampdp_put_reply(struct mavis_buf *b, int code, const char *xcode, const char *text)
{
	/* amavisd encodes the three parts one by one and joins them with a
	   space: the text's own spaces become %20. */
	mavis_buf_printf(b, "setreply=%03d ", code);
	put_value(b, xcode);
	mavis_buf_putc(b, ' ');
	put_value(b, text);
	mavis_buf_puts(b, "\r\n");
}

void
mavis_ampdp_put_failure(struct mavis_buf *b, const char *text)
{
	struct mavis_buf t = { 0 };

	mavis_buf_printf(&t, "Failure: %s", text);
	mavis_ampdp_put_reply(b, 450, "4.5.0", mavis_buf_str(&t));
	mavis_buf_free(&t);
	mavis_ampdp_put(b, "return_value", "tempfail");
	mavis_ampdp_put(b, "exit_code", "75");
	mavis_buf_puts(b, "\r\n");
}
