/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qformat.c - the envelope prefix of quarantine files: build, check, parse back */

#include <string.h>
#include <strings.h>

#include "store_int.h"

/* The fields of the prefix, in the order they are written. */
enum { F_FROM, F_TO, F_BLOCKED, F_QID, F_COUNT };
static const char *const field_names[F_COUNT] = {
	"X-Envelope-From", "X-Envelope-To", "X-Envelope-To-Blocked", "X-Quarantine-ID",
};

/* Extra fields beyond this count are a caller bug, not message content. */
#define EXTRA_FIELDS_MAX 1000

static bool
is_alnum_ascii(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool
mavis_quarantine_valid_id(const char *id)
{
	size_t n;

	if (id == NULL || id[0] == '\0')
		return false;
	/* The id becomes part of a file name: the character set keeps '/', '.'
	   and everything else that could leave the quarantine directory out. */
	for (n = 0; id[n]; n++) {
		unsigned char c = (unsigned char)id[n];

		if (n >= MAVIS_QUARANTINE_ID_MAX)
			return false;
		if (!is_alnum_ascii(c) && c != '+' && c != '-' && c != '_')
			return false;
	}
	return true;
}

bool
store_valid_category(const char *category)
{
	size_t n;

	if (category == NULL || category[0] == '\0')
		return false;
	for (n = 0; category[n]; n++) {
		unsigned char c = (unsigned char)category[n];

		if (n >= MAVIS_QUARANTINE_CATEGORY_MAX)
			return false;
		if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_' && c != '-')
			return false;
	}
	return true;
}

const char *
store_msg_eol(const void *msg, size_t len)
{
	const char *p = msg, *nl = len ? memchr(p, '\n', len) : NULL;

	return nl && nl > p && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* Address check on n bytes (the parser's addresses are not NUL-terminated). */
static int
check_addr_n(const char *addr, size_t n, struct mavis_error *err)
{
	bool quoted = false;

	if (n > MAVIS_QUARANTINE_ADDR_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "address longer than %d bytes",
				       MAVIS_QUARANTINE_ADDR_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];

		/* CR or LF would end the header line (or the SMTP command) early. */
		if (c < 0x20 || c == 0x7f)
			return mavis_error_set(err, MAVIS_ERR_PARSE,
					       "control character 0x%02x in address", c);
		if (quoted) {
			if (c == '\\' && i + 1 < n) {
				unsigned char e = (unsigned char)addr[i + 1];

				if (e < 0x20 || e == 0x7f)
					return mavis_error_set(err, MAVIS_ERR_PARSE,
							       "control character 0x%02x in address", e);
				i++;
			} else if (c == '"') {
				quoted = false;
			}
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '<' || c == '>')
			return mavis_error_set(err, MAVIS_ERR_PARSE,
					       "'%c' outside a quoted string in address", c);
	}
	if (quoted)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "unterminated quoted string in address");
	return 0;
}

int
mavis_quarantine_check_addr(const char *addr, struct mavis_error *err)
{
	if (addr == NULL)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "no address");
	/* strnlen: an over-long address is refused without reading all of it. */
	return check_addr_n(addr, strnlen(addr, MAVIS_QUARANTINE_ADDR_MAX + 1), err);
}

/* "Name: <a>,EOL\t<b>EOL"; an empty list gives "Name:EOL". */
static int
put_addr_list(struct mavis_buf *out, const char *name, const char *const *addrs, size_t n,
	      const char *eol, struct mavis_error *err)
{
	if (n > MAVIS_QUARANTINE_RCPTS_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: %zu addresses, at most %d", name,
				       n, MAVIS_QUARANTINE_RCPTS_MAX);
	if (n > 0 && addrs == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "%s: no address array", name);
	mavis_buf_puts(out, name);
	mavis_buf_putc(out, ':');
	for (size_t i = 0; i < n; i++) {
		int rc = mavis_quarantine_check_addr(addrs[i], err);

		if (rc < 0) {
			mavis_error_prefix(err, "%s: ", name);
			return rc;
		}
		if (addrs[i][0] == '\0')
			return mavis_error_set(err, MAVIS_ERR_PARSE, "%s: empty recipient", name);
		/* One address per line, like amavisd's ",\n" join: long lists
		   stay within the line length limits of mail software. */
		if (i > 0) {
			mavis_buf_putc(out, ',');
			mavis_buf_puts(out, eol);
			mavis_buf_putc(out, '\t');
		} else {
			mavis_buf_putc(out, ' ');
		}
		mavis_buf_putc(out, '<');
		mavis_buf_puts(out, addrs[i]);
		mavis_buf_putc(out, '>');
		if (out->len > MAVIS_QUARANTINE_PREFIX_MAX)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "envelope prefix over %u bytes",
					       MAVIS_QUARANTINE_PREFIX_MAX);
	}
	mavis_buf_puts(out, eol);
	return 0;
}

/* Which prefix field a line starting at p (n bytes, no line end) opens, or -1. */
static int
field_which(const char *p, size_t n)
{
	for (int f = 0; f < F_COUNT; f++) {
		size_t l = strlen(field_names[f]);

		if (n > l && p[l] == ':' && strncasecmp(p, field_names[f], l) == 0)
			return f;
	}
	return -1;
}

/* Append one extra field, checked, with its line ends made eol. */
static int
put_extra_field(struct mavis_buf *out, const char *field, const char *eol,
		struct mavis_error *err)
{
	size_t n = strnlen(field, MAVIS_QUARANTINE_PREFIX_MAX + 1), name_len = 0;

	if (n > MAVIS_QUARANTINE_PREFIX_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "extra field over %u bytes",
				       MAVIS_QUARANTINE_PREFIX_MAX);
	while (name_len < n && field[name_len] != ':') {
		unsigned char c = (unsigned char)field[name_len];

		if (c <= 0x20 || c >= 0x7f)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "extra field: bad field name");
		name_len++;
	}
	if (name_len == 0 || name_len == n)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "extra field: no \"Name:\"");
	/* An envelope field here would be taken for the real one on reading. */
	if (field_which(field, n) >= 0)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "extra field: %.*s is reserved",
				       (int)name_len, field);
	for (size_t i = 0; i < n; i++) {
		char c = field[i];

		if (c == '\r' && i + 1 < n && field[i + 1] == '\n')
			continue;	/* the '\n' ends the line */
		if (c == '\r')
			return mavis_error_set(err, MAVIS_ERR_PARSE, "extra field: bare CR");
		if (c == '\n') {
			/* A line end must start a continuation line, or the rest
			   would become a field (or the body) of its own. */
			if (i + 1 >= n || (field[i + 1] != ' ' && field[i + 1] != '\t'))
				return mavis_error_set(err, MAVIS_ERR_PARSE,
						       "extra field: line end not followed by white space");
			mavis_buf_puts(out, eol);
			continue;
		}
		mavis_buf_putc(out, c);
	}
	mavis_buf_puts(out, eol);
	return 0;
}

int
store_prefix_build(const struct mavis_quarantine_in *in, const char *eol, struct mavis_buf *out,
		   struct mavis_error *err)
{
	int rc;

	if (!mavis_quarantine_valid_id(in->mail_id))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "invalid mail_id");
	if (in->sender == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "no sender");
	rc = mavis_quarantine_check_addr(in->sender, err);
	if (rc < 0) {
		mavis_error_prefix(err, "sender: ");
		return rc;
	}
	mavis_buf_puts(out, field_names[F_FROM]);
	mavis_buf_puts(out, ": <");
	mavis_buf_puts(out, in->sender);
	mavis_buf_putc(out, '>');
	mavis_buf_puts(out, eol);
	rc = put_addr_list(out, field_names[F_TO], in->rcpts, in->nrcpts, eol, err);
	if (rc < 0)
		return rc;
	rc = put_addr_list(out, field_names[F_BLOCKED], in->blocked, in->nblocked, eol, err);
	if (rc < 0)
		return rc;
	mavis_buf_puts(out, field_names[F_QID]);
	mavis_buf_puts(out, ": <");
	mavis_buf_puts(out, in->mail_id);
	mavis_buf_putc(out, '>');
	mavis_buf_puts(out, eol);
	if (in->nextra > EXTRA_FIELDS_MAX || (in->nextra > 0 && in->extra_fields == NULL))
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "bad extra field list (%zu)",
				       in->nextra);
	for (size_t i = 0; i < in->nextra; i++) {
		rc = put_extra_field(out, in->extra_fields[i], eol, err);
		if (rc < 0)
			return rc;
		if (out->len > MAVIS_QUARANTINE_PREFIX_MAX)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "envelope prefix over %u bytes",
					       MAVIS_QUARANTINE_PREFIX_MAX);
	}
	return 0;
}

/* ---- parsing ---- */

/*
 * Split a field value into addresses: "<a>, <b>" (amavisd and we write every
 * address in angle brackets; a bare word is taken too). A '>' inside a quoted
 * local part does not end the address. With out == NULL only counts.
 * Returns the count or a negative status.
 */
static long
split_addrs(struct mavis_arena *arena, const char *v, const char *vend, const char **out,
	    bool allow_empty, struct mavis_error *err)
{
	long n = 0;
	const char *p = v;

	while (p < vend) {
		const char *start, *end;

		while (p < vend && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ','))
			p++;
		if (p >= vend)
			break;
		if (*p == '<') {
			bool quoted = false;

			start = ++p;
			while (p < vend) {
				if (quoted && *p == '\\' && p + 1 < vend)
					p++;
				else if (*p == '"')
					quoted = !quoted;
				else if (!quoted && *p == '>')
					break;
				p++;
			}
			if (p >= vend)
				return mavis_error_set(err, MAVIS_ERR_PARSE, "address without '>'");
			end = p++;
		} else {
			start = p;
			while (p < vend && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' &&
			       *p != ',')
				p++;
			end = p;
		}
		int rc = check_addr_n(start, (size_t)(end - start), err);
		if (rc < 0)
			return rc;
		if (end == start && !allow_empty)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "empty address");
		if (n >= MAVIS_QUARANTINE_RCPTS_MAX)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "more than %d addresses",
					       MAVIS_QUARANTINE_RCPTS_MAX);
		if (out != NULL)
			out[n] = mavis_arena_strndup(arena, start, (size_t)(end - start));
		n++;
	}
	return n;
}

static int
parse_addr_list(struct mavis_arena *arena, const char *v, const char *vend, const char ***list,
		size_t *n, struct mavis_error *err)
{
	long count = split_addrs(arena, v, vend, NULL, false, err);

	if (count < 0)
		return (int)count;
	*list = mavis_arena_calloc(arena, (size_t)count + 1, sizeof(**list));
	*n = (size_t)split_addrs(arena, v, vend, *list, false, err);
	return 0;
}

static int
parse_field(struct mavis_arena *arena, int which, const char *v, const char *vend,
	    struct mavis_quarantine_entry *e, struct mavis_error *err)
{
	const char *one[1];
	long n;

	switch (which) {
	case F_FROM:
		n = split_addrs(arena, v, vend, NULL, true, err);
		if (n < 0)
			return (int)n;
		if (n != 1)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "%ld addresses, want one", n);
		split_addrs(arena, v, vend, one, true, err);
		e->sender = one[0];
		return 0;
	case F_TO:
		return parse_addr_list(arena, v, vend, &e->rcpts, &e->nrcpts, err);
	case F_BLOCKED:
		e->has_blocked = true;
		return parse_addr_list(arena, v, vend, &e->blocked, &e->nblocked, err);
	default: {
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r' ||
				    vend[-1] == '\n'))
			vend--;
		if (vend - v >= 2 && *v == '<' && vend[-1] == '>') {
			v++;
			vend--;
		}
		if (vend - v > MAVIS_QUARANTINE_ID_MAX)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "mail_id too long");
		const char *id = mavis_arena_strndup(arena, v, (size_t)(vend - v));
		if (strlen(id) != (size_t)(vend - v) || !mavis_quarantine_valid_id(id))
			return mavis_error_set(err, MAVIS_ERR_PARSE, "invalid mail_id");
		e->mail_id = id;
		return 0;
	}
	}
}

int
store_prefix_parse(const char *data, size_t len, struct mavis_arena *arena,
		   struct mavis_quarantine_entry *e, struct mavis_error *err)
{
	size_t pos = 0, bound = len < MAVIS_QUARANTINE_PREFIX_MAX ? len : MAVIS_QUARANTINE_PREFIX_MAX;
	bool seen[F_COUNT] = { false };

	while (pos < len) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', bound - pos < 256 ? bound - pos : 256);
		size_t head = nl ? (size_t)(nl - line) : (bound - pos < 256 ? bound - pos : 256);
		int which = field_which(line, head);
		size_t end = pos;

		if (which < 0)
			break;	/* the message starts here */
		/* The field runs to the end of its last continuation line; every
		   search stays within the prefix bound. */
		for (;;) {
			const char *lf = memchr(data + end, '\n', bound - end);

			if (lf == NULL) {
				if (bound < len)
					return mavis_error_set(err, MAVIS_ERR_LIMIT,
							       "envelope prefix over %u bytes",
							       MAVIS_QUARANTINE_PREFIX_MAX);
				return mavis_error_set(err, MAVIS_ERR_PARSE, "%s: no line end",
						       field_names[which]);
			}
			end = (size_t)(lf - data) + 1;
			if (end >= len || (data[end] != ' ' && data[end] != '\t'))
				break;
			if (end >= bound)
				return mavis_error_set(err, MAVIS_ERR_LIMIT,
						       "envelope prefix over %u bytes",
						       MAVIS_QUARANTINE_PREFIX_MAX);
		}
		if (seen[which])
			return mavis_error_set(err, MAVIS_ERR_PARSE, "%s: more than once",
					       field_names[which]);
		seen[which] = true;
		int rc = parse_field(arena, which, line + strlen(field_names[which]) + 1, data + end,
				     e, err);
		if (rc < 0) {
			mavis_error_prefix(err, "%s: ", field_names[which]);
			return rc;
		}
		pos = end;
	}
	for (int f = 0; f < F_COUNT; f++)
		if (!seen[f] && f != F_BLOCKED)
			return mavis_error_set(err, MAVIS_ERR_PARSE,
					       "no %s field: not a quarantine file", field_names[f]);
	if (!seen[F_BLOCKED])
		e->blocked = mavis_arena_calloc(arena, 1, sizeof(*e->blocked));
	e->prefix_len = pos;
	e->message = data + pos;
	e->message_len = len - pos;
	return 0;
}
