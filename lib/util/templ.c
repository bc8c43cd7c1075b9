/* SPDX-License-Identifier: GPL-2.0-or-later */
/* templ.c - the log_templ language: amavisd's %X, [:name] and [?C|a|b] */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mavis/buf.h>
#include <mavis/error.h>
#include <mavis/templ.h>

static const struct {
	char letter;
	enum mavis_templ_macro macro;
} letters[] = {
	{ 'n', MAVIS_TM_LOG_ID },	{ 'i', MAVIS_TM_MAIL_ID },     { 's', MAVIS_TM_SENDER },
	{ 'R', MAVIS_TM_RCPTS },	{ 'p', MAVIS_TM_BANK_PATH },   { 'a', MAVIS_TM_CLIENT_ADDR },
	{ 'l', MAVIS_TM_LOCAL },	{ 'Q', MAVIS_TM_QUEUE_ID },    { 'm', MAVIS_TM_MESSAGE_ID },
	{ 'z', MAVIS_TM_SIZE },		{ 'y', MAVIS_TM_ELAPSED },     { 'c', MAVIS_TM_SCORE },
	{ 'h', MAVIS_TM_MYHOSTNAME },
};

static const struct {
	const char *name;
	enum mavis_templ_macro macro;
} names[] = {
	{ "actions_performed", MAVIS_TM_ACTIONS },
	{ "ccat", MAVIS_TM_CCAT },
	{ "status", MAVIS_TM_STATUS },
	{ "internal_error", MAVIS_TM_INTERNAL_ERROR },
	{ "reply", MAVIS_TM_REPLY },
};

#define KNOWN "%a %c %h %i %l %m %n %p %Q %R %s %y %z [:actions_performed] [:ccat] " \
	      "[:internal_error] [:reply] [:status]"

/* Conditionals nest by recursion: a bound keeps a hostile or mistyped
   template from exhausting the stack. */
#define MAX_DEPTH 16

struct tp {
	const char *start, *p;
	mavis_templ_value_fn value;	/* NULL: check only */
	void *ctx;
	size_t limit;
	int depth;
	struct mavis_error *err;
	bool failed;
};

static void MAVIS_PRINTF(2, 3)
fail(struct tp *t, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (t->failed)
		return;
	t->failed = true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	mavis_error_set(t->err, MAVIS_ERR_CONFIG, "%s at character %zu (known: %s)", what,
			(size_t)(t->p - t->start) + 1, KNOWN);
}

static void
put(struct tp *t, struct mavis_buf *out, const char *s, size_t n)
{
	if (out == NULL || out->len >= t->limit)
		return;
	if (n > t->limit - out->len)
		n = t->limit - out->len;
	mavis_buf_append(out, s, n);
}

static void
put_macro(struct tp *t, struct mavis_buf *out, enum mavis_templ_macro m)
{
	if (out == NULL || t->value == NULL || out->len >= t->limit)
		return;
	t->value(t->ctx, m, out);
	if (out->len > t->limit) {
		out->len = t->limit;
		out->data[out->len] = '\0';
	}
}

static void seq(struct tp *t, const char *stops, struct mavis_buf *out);

/* [:name] - t->p is on the name. */
static void
named(struct tp *t, struct mavis_buf *out)
{
	const char *name = t->p;
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz_");

	t->p += n;
	if (*t->p != ']') {
		fail(t, "%s", *t->p == '|' ? "[:name|...] takes no arguments here" : "unterminated [:name]");
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && memcmp(names[i].name, name, n) == 0) {
			t->p++;
			put_macro(t, out, names[i].macro);
			return;
		}
	t->p = name - 2;
	fail(t, "unknown macro [:%.*s]", (int)(n > 40 ? 40 : n), name);
}

/* [?C|a|b] - t->p is just after the '?'. */
static void
cond(struct tp *t, struct mavis_buf *out)
{
	struct mavis_buf c = { 0 };
	size_t sel = 0, idx = 0;

	if (++t->depth > MAX_DEPTH) {
		fail(t, "[? ...] nested too deep");
		return;
	}
	seq(t, "|]", out ? &c : NULL);
	if (out) {
		const char *v = mavis_buf_str(&c);

		v += strspn(v, " \t");
		sel = *v != '\0';
	}
	mavis_buf_free(&c);
	while (!t->failed && *t->p == '|') {
		t->p++;
		seq(t, "|]", idx == sel ? out : NULL);
		idx++;
	}
	if (t->failed)
		return;
	if (*t->p != ']') {
		fail(t, "unterminated [?");
		return;
	}
	t->p++;
	t->depth--;
}

/* Text up to the end or one of stops (not consumed). out NULL: skip. */
static void
seq(struct tp *t, const char *stops, struct mavis_buf *out)
{
	while (!t->failed && *t->p != '\0' && (stops == NULL || strchr(stops, *t->p) == NULL)) {
		char c = *t->p;

		if (c == '\\') {
			if (t->p[1] == '\0') {
				fail(t, "a backslash at the end");
				return;
			}
			put(t, out, t->p + 1, 1);
			t->p += 2;
		} else if (c == '%') {
			char l = t->p[1];
			size_t i;

			if (l == '%') {
				put(t, out, "%", 1);
				t->p += 2;
				continue;
			}
			for (i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
				if (letters[i].letter == l)
					break;
			if (l == '\0' || i == sizeof(letters) / sizeof(letters[0])) {
				if (l == '\0')
					fail(t, "a %% at the end");
				else
					fail(t, "unknown macro %%%c", l);
				return;
			}
			t->p += 2;
			put_macro(t, out, letters[i].macro);
		} else if (c == '[') {
			if (t->p[1] == ':') {
				t->p += 2;
				named(t, out);
			} else if (t->p[1] == '?') {
				t->p += 2;
				cond(t, out);
			} else {
				fail(t, "%s", "[ starts [:name] or [?cond|a|b] (write \\[ for the character)");
				return;
			}
		} else {
			put(t, out, t->p, 1);
			t->p++;
		}
	}
}

int
mavis_templ_check(const char *templ, struct mavis_error *err)
{
	struct tp t = { .start = templ, .p = templ, .limit = 0, .err = err };

	seq(&t, NULL, NULL);
	return t.failed ? MAVIS_ERR_CONFIG : 0;
}

void
mavis_templ_expand(const char *templ, mavis_templ_value_fn value, void *ctx, size_t limit,
		   struct mavis_buf *out)
{
	struct tp t = { .start = templ, .p = templ, .value = value, .ctx = ctx, .limit = limit };

	seq(&t, NULL, out);
}
