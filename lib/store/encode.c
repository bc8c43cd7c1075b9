/* SPDX-License-Identifier: GPL-2.0-or-later */
/* encode.c - what the two submission paths share: message encoding for SMTP
   DATA or a pipe, and recipient results */

#include <stdio.h>
#include <string.h>

#include <mavis/buf.h>
#include <mavis/submit.h>

#include "store_int.h"

#define ENC_FLUSH (64u * 1024)	/* bytes staged before they go to the sink */

void
store_rcpt_verdict(struct mavis_submit_rcpt *r, size_t n, enum store_which which, int code,
		   const char *reply)
{
	for (size_t i = 0; i < n; i++) {
		if (which == STORE_RCPT_UNSET && r[i].code != 0)
			continue;
		if (which == STORE_RCPT_ACCEPTED && (r[i].code < 200 || r[i].code > 299))
			continue;
		r[i].code = code;
		snprintf(r[i].reply, sizeof(r[i].reply), "%s", reply);
	}
}

/* ---- encoding ---- */

struct enc {
	struct mavis_buf out;
	store_sink_fn sink;
	void *ctx;
	struct mavis_error *err;
	int rc;
};

static void
enc_put(struct enc *e, const char *p, size_t n)
{
	if (e->rc < 0)
		return;
	mavis_buf_append(&e->out, p, n);
	if (e->out.len >= ENC_FLUSH) {
		e->rc = e->sink(e->ctx, e->out.data, e->out.len, e->err);
		mavis_buf_reset(&e->out);
	}
}

int
store_encode(const struct mavis_submit_part *parts, size_t nparts, enum store_enc enc,
	     store_sink_fn sink, void *ctx, struct mavis_error *err)
{
	struct enc e = { .sink = sink, .ctx = ctx, .err = err };
	const char *eol = enc == STORE_ENC_SMTP ? "\r\n" : "\n";
	size_t eol_len = strlen(eol);
	/* State across parts: at the beginning of a line; a CR seen last. */
	bool bol = true, cr = false;

	for (size_t i = 0; i < nparts && e.rc == 0; i++) {
		const char *p = parts[i].data, *end = p + parts[i].len;

		while (p < end && e.rc == 0) {
			if (cr) {
				cr = false;
				if (*p == '\n') {
					enc_put(&e, eol, eol_len);
					bol = true;
					p++;
					continue;
				}
				if (enc == STORE_ENC_SMTP) {
					/* RFC 5321 2.3.8: no bare CR in DATA. Servers
					   differ on what one means, and that difference
					   is what "<CR>.<CR>" smuggling plays on: end
					   the line here, so that a dot after it is
					   stuffed like any other. */
					enc_put(&e, eol, eol_len);
					bol = true;
				} else {
					enc_put(&e, "\r", 1);	/* sendmail -i: data */
					bol = false;
				}
			}
			/* RFC 5321 4.5.2: a line starting with "." gets another one. */
			if (bol && *p == '.' && enc == STORE_ENC_SMTP)
				enc_put(&e, ".", 1);
			const char *q = p;
			while (q < end && *q != '\r' && *q != '\n')
				q++;
			if (q > p) {
				enc_put(&e, p, (size_t)(q - p));
				bol = false;
				p = q;
			}
			if (p >= end)
				break;
			if (*p == '\n') {
				enc_put(&e, eol, eol_len);
				bol = true;
			} else {
				cr = true;
			}
			p++;
		}
	}
	if (cr) {
		enc_put(&e, eol, eol_len);
		bol = true;
	}
	if (!bol)
		enc_put(&e, eol, eol_len);
	if (enc == STORE_ENC_SMTP)
		enc_put(&e, ".\r\n", 3);
	if (e.rc == 0 && e.out.len > 0)
		e.rc = sink(ctx, e.out.data, e.out.len, err);
	mavis_buf_free(&e.out);
	return e.rc;
}

