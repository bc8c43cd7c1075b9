/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rcpt.c - findings and header fields collected on a recipient record */

#include <string.h>

#include "verdict/rcpt.h"

void
mavis_rcpt_add_finding(struct mavis_rcpt *r, const struct mavis_finding *f)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++) {
		const struct mavis_finding *o = &r->findings[i];

		if (o->major == f->major && o->minor == f->minor)
			return;
		if (o->major < f->major || (o->major == f->major && o->minor < f->minor))
			break;
	}
	if (i >= MAVIS_RCPT_MAX_FINDINGS)
		return;
	if (r->nfindings == MAVIS_RCPT_MAX_FINDINGS)
		r->nfindings--;
	memmove(&r->findings[i + 1], &r->findings[i], (r->nfindings - i) * sizeof(r->findings[0]));
	r->findings[i] = *f;
	r->nfindings++;
}

const struct mavis_finding *
mavis_rcpt_finding(const struct mavis_rcpt *r, int major, int minor)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].major == major && r->findings[i].minor == minor)
			return &r->findings[i];
	return NULL;
}

static void
push_header(struct mavis_rcpt *r, struct mavis_arena *a, const struct mavis_rcpt_header *h)
{
	if (r->nheaders == r->capheaders) {
		size_t cap = r->capheaders ? r->capheaders * 2 : 4;
		struct mavis_rcpt_header *nh = mavis_arena_calloc(a, cap, sizeof(*nh));

		if (r->nheaders)
			memcpy(nh, r->headers, r->nheaders * sizeof(*nh));
		r->headers = nh;
		r->capheaders = cap;
	}
	r->headers[r->nheaders++] = *h;
}

void
mavis_rcpt_add_header(struct mavis_rcpt *r, struct mavis_arena *a, const char *name,
		      const char *value)
{
	push_header(r, a, &(struct mavis_rcpt_header){ MAVIS_EDIT_INSERT_HEADER, name, value, 0 });
}

void
mavis_rcpt_delete_header(struct mavis_rcpt *r, struct mavis_arena *a, const char *name, int index)
{
	push_header(r, a, &(struct mavis_rcpt_header){ MAVIS_EDIT_DELETE_HEADER, name, NULL, index });
}
