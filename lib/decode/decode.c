/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decode.c - message decoding driver: limits, expanding parts level by level */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/log.h>

#include "decode/decode_int.h"

void
mavis_decode_limits_default(struct mavis_decode_limits *lim)
{
	lim->max_levels = 14;
	lim->max_files = 1500;
	lim->min_expansion_quota = 100 * 1024;
	lim->max_expansion_quota = 300 * 1024 * 1024;
	lim->min_expansion_factor = 5;
	lim->max_expansion_factor = 500;
	lim->memory_limit = 512ull * 1024 * 1024;
	lim->filetypes = NULL;
}

static uint64_t
mul_sat(uint64_t a, uint64_t b)
{
	if (a != 0 && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

uint64_t
mavis_decode_quota(const struct mavis_decode_limits *lim, uint64_t msg_size)
{
	uint64_t q = lim->min_expansion_quota;
	uint64_t lo = mul_sat(msg_size, lim->min_expansion_factor);
	uint64_t hi = mul_sat(msg_size, lim->max_expansion_factor);

	if (hi > lim->max_expansion_quota)
		hi = lim->max_expansion_quota;
	if (lo > q)
		q = lo;
	if (hi > q)
		q = hi;
	return q;
}

static int
expand(struct mavis_dec *d, struct mavis_dec_part *p)
{
	switch (p->kind) {
	case MAVIS_DEC_CONTAINER:
		return 0;
	case MAVIS_DEC_MESSAGE:
		return mavis_dec_mime_walk_message(d, p->gobj, p, p->pub.level + 1);
	case MAVIS_DEC_MESSAGE_RAW: {
		int rc = mavis_dec_mime_parse(d, p->pub.data, p->pub.len, p,
					      p->pub.level + 1, false);

		if (rc == 0)
			p->retained = true;	/* not a message: scan it as is */
		return rc < 0 ? rc : 0;
	}
	case MAVIS_DEC_PLAIN:
	case MAVIS_DEC_PSEUDO:
		if (p->pub.data == NULL || p->pub.nshort_types == 0)
			return 0;
		return mavis_dec_archive(d, p) < 0 ? d->fatal : 0;
	}
	return 0;
}

static void
finish(struct mavis_dec *d)
{
	struct mavis_decoded *out = d->out;
	unsigned u = 0;

	for (size_t i = 0; i < out->nparts; i++) {
		struct mavis_dec_part *p = mavis_dec_cast(out->parts[i]);

		p->pub.is_leaf = p->pub.nchildren == 0;
		p->pub.scan = p->pub.data != NULL && (p->pub.is_leaf || p->retained);
		if (p->pub.attrs & MAVIS_PART_UNDECIPHERABLE)
			u |= MAVIS_UNCHECKED_BIT(0);
		if (p->pub.attrs & MAVIS_PART_ENCRYPTED)
			u |= MAVIS_UNCHECKED_BIT(0) | MAVIS_UNCHECKED_BIT(1);
		if (p->pub.attrs & MAVIS_PART_AMBIGUOUS)
			u |= MAVIS_UNCHECKED_BIT(0) | MAVIS_UNCHECKED_BIT(3);
	}
	if (out->hold != NULL)
		u |= MAVIS_UNCHECKED_BIT(0) | MAVIS_UNCHECKED_BIT(2);
	out->unchecked = u;
	out->unchecked_minor = -1;
	for (int m = 3; m >= 0; m--)
		if (u & MAVIS_UNCHECKED_BIT(m)) {
			out->unchecked_minor = m;
			break;
		}
	if (d->mime_err.len) {
		const char *s = mavis_buf_str(&d->mime_err);

		if (d->mime_err.len > MAVIS_DEC_MIME_ERROR_MAX)
			out->mime_error = mavis_arena_printf(d->arena, "%.*s[...]",
							     MAVIS_DEC_MIME_ERROR_MAX, s);
		else
			out->mime_error = mavis_arena_strdup(d->arena, s);
	}
}

int
mavis_decode_init(struct mavis_error *err)
{
	mavis_dec_gmime_init();
	return mavis_filetype_init(err);
}

void
mavis_decode_thread_done(void)
{
	mavis_filetype_default_free();
}

int
mavis_decode_message(const void *msg, size_t len, const struct mavis_decode_limits *lim,
		     struct mavis_arena *arena, struct mavis_decoded **out,
		     struct mavis_error *err)
{
	struct mavis_dec d;
	int rc;

	*out = NULL;
	rc = mavis_decode_init(err);
	if (rc < 0)
		return rc;
	memset(&d, 0, sizeof(d));
	if (lim != NULL)
		d.lim = *lim;
	else
		mavis_decode_limits_default(&d.lim);
	if (d.lim.max_levels == 0 || d.lim.max_levels > MAVIS_DECODE_LEVELS_CAP)
		d.lim.max_levels = MAVIS_DECODE_LEVELS_CAP;
	if (d.lim.max_files == 0 || d.lim.max_files > MAVIS_DECODE_FILES_CAP)
		d.lim.max_files = MAVIS_DECODE_FILES_CAP;
	d.arena = arena;
	d.err = err;
	d.out = mavis_arena_alloc(arena, sizeof(*d.out));
	d.out->unchecked_minor = -1;
	d.quota = mavis_decode_quota(&d.lim, len);
	d.out->quota = d.quota;
	d.level_count = mavis_arena_calloc(arena, d.lim.max_levels + 2,
					   sizeof(*d.level_count));

	if (len == 0) {
		/* MIME::Parser makes one empty text/plain body of an empty mail. */
		struct mavis_dec_part *p = mavis_dec_part_new(&d, 1, MAVIS_DEC_PLAIN);

		if (p == NULL)
			return mavis_error_set(err, MAVIS_ERR_INTERNAL, "no part record");
		p->pub.placement = "1";
		p->pub.mime_type = "text/plain";
		rc = mavis_dec_set_data(&d, p, "", 0);
	} else {
		rc = mavis_dec_mime_parse(&d, msg, len, NULL, 1, true);
		if (rc == 0) {
			/* GMime found no message at all (no header section).
			   Keep every byte as one part so that scanners still
			   see it; amavisd would have no parts here. */
			struct mavis_dec_part *p = mavis_dec_part_new(&d, 1, MAVIS_DEC_PSEUDO);

			if (p == NULL)
				return mavis_error_set(err, MAVIS_ERR_INTERNAL, "no part record");
			mavis_dec_mime_error(&d, "Unable to parse, no MIME structure found");
			p->pub.placement = "1";
			mavis_dec_charge(&d, len, true, "mime_decode");
			rc = mavis_dec_set_data(&d, p, msg, len);
		}
	}
	/* Tiers: parts are numbered tier by tier, so walking the array in order
	   is amavisd's breadth-first decompose_mail loop. */
	for (size_t i = 0; rc >= 0 && !d.stopped && i < d.out->nparts; i++)
		rc = expand(&d, mavis_dec_cast(d.out->parts[i]));
	if (rc >= 0 && d.fatal < 0)
		rc = d.fatal;
	if (rc >= 0) {
		finish(&d);
		*out = d.out;
		rc = 0;
	}
	mavis_dec_unref_all(&d);
	free(d.gobjs);
	mavis_buf_free(&d.mime_err);
	return rc;
}
