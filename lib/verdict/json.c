/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.c - print a verdict as JSON (mavisctl scan --json) or as text */

#include <mavis/config.h>
#include <mavis/verdict.h>

static void
json_kv_str(struct mavis_buf *out, const char *key, const char *value, bool comma)
{
	mavis_buf_json_str(out, key);
	mavis_buf_putc(out, ':');
	if (value == NULL)
		mavis_buf_puts(out, "null");
	else
		mavis_buf_json_str(out, value);
	if (comma)
		mavis_buf_putc(out, ',');
}

static void
json_edits(struct mavis_buf *out, const struct mavis_edit *edits, size_t n)
{
	mavis_buf_putc(out, '[');
	for (size_t i = 0; i < n; i++) {
		const struct mavis_edit *e = &edits[i];

		if (i)
			mavis_buf_putc(out, ',');
		mavis_buf_putc(out, '{');
		json_kv_str(out, "op", mavis_edit_op_name(e->op), true);
		json_kv_str(out, "name", e->name, true);
		json_kv_str(out, "value", e->value, true);
		mavis_buf_printf(out, "\"index\":%d,", e->index);
		json_kv_str(out, "rcpt", e->rcpt, false);
		mavis_buf_putc(out, '}');
	}
	mavis_buf_putc(out, ']');
}

void
mavis_verdict_to_json(const struct mavis_verdict *v, struct mavis_buf *out)
{
	mavis_buf_putc(out, '{');
	json_kv_str(out, "action", mavis_action_name(v->action), true);
	struct mavis_buf reply = { 0 };
	mavis_buf_printf(&reply, "%s %s %s", v->rcode, v->xcode, v->text);
	json_kv_str(out, "smtp_reply", mavis_buf_str(&reply), true);
	mavis_buf_free(&reply);
	json_kv_str(out, "mail_id", v->mail_id, true);
	json_kv_str(out, "reason", v->reason, true);
	mavis_buf_printf(out, "\"virus_scanned\":%s,", v->virus_scanned ? "true" : "false");
	if (v->spam_scored) {
		mavis_buf_printf(out, "\"spam_score\":%.3f,", v->spam_score);
		json_kv_str(out, "spam_scanner", v->spam_scanner, true);
		mavis_buf_puts(out, "\"spam_tests\":[");
		for (size_t i = 0; i < v->n_spam_tests; i++) {
			mavis_buf_puts(out, i ? ",{" : "{");
			json_kv_str(out, "name", v->spam_tests[i].name, true);
			mavis_buf_printf(out, "\"score\":%.3f}", v->spam_tests[i].score);
		}
		mavis_buf_puts(out, "],");
	} else {
		mavis_buf_puts(out, "\"spam_score\":null,\"spam_scanner\":null,\"spam_tests\":[],");
	}
	mavis_buf_puts(out, "\"recipients\":[");
	for (size_t i = 0; i < v->nrcpts; i++) {
		const struct mavis_rcpt_verdict *r = &v->rcpts[i];

		if (i)
			mavis_buf_putc(out, ',');
		mavis_buf_putc(out, '{');
		json_kv_str(out, "address", r->address, true);
		json_kv_str(out, "ccat", mavis_ccat_short_name(r->ccat.major, r->ccat.minor), true);
		mavis_buf_printf(out, "\"ccat_major\":%d,\"ccat_minor\":%d,", r->ccat.major,
				 r->ccat.minor);
		json_kv_str(out, "ccat_name", mavis_ccat_display_name(r->ccat.major, r->ccat.minor), true);
		json_kv_str(out, "blocking_ccat", r->blocking.major < 0 ? NULL :
			    mavis_ccat_short_name(r->blocking.major, r->blocking.minor), true);
		json_kv_str(out, "destiny", mavis_destiny_name(r->destiny), true);
		mavis_buf_printf(out, "\"local\":%s,\"delivery\":%d,", r->local ? "true" : "false",
				 r->delivery);
		if (r->spam_scored)
			mavis_buf_printf(out, "\"spam_level\":%.3f,", r->spam_level);
		else
			mavis_buf_puts(out, "\"spam_level\":null,");
		if (r->reply.rcode != NULL) {
			struct mavis_buf rr = { 0 };

			mavis_reply_format(&r->reply, &rr);
			json_kv_str(out, "smtp_reply", mavis_buf_str(&rr), false);
			mavis_buf_free(&rr);
		} else {
			json_kv_str(out, "smtp_reply", NULL, false);
		}
		mavis_buf_putc(out, '}');
	}
	mavis_buf_puts(out, "],\"edits\":");
	json_edits(out, v->edits, v->nedits);
	mavis_buf_printf(out, ",\"merged_deliveries\":%s,\"deliveries\":[",
			 v->merged_deliveries ? "true" : "false");
	for (size_t d = 0; d < v->ndeliveries; d++) {
		const struct mavis_delivery *dl = &v->deliveries[d];

		mavis_buf_puts(out, d ? ",{\"recipients\":[" : "{\"recipients\":[");
		for (size_t i = 0; i < dl->nrcpts; i++) {
			if (i)
				mavis_buf_putc(out, ',');
			mavis_buf_json_str(out, v->rcpts[dl->rcpts[i]].address);
		}
		mavis_buf_puts(out, "],\"edits\":");
		json_edits(out, dl->edits, dl->nedits);
		mavis_buf_putc(out, '}');
	}
	mavis_buf_puts(out, "],\"timing\":{");
	for (size_t i = 0; i < v->ntiming; i++)
		mavis_buf_printf(out, "%s\"%s\":%lu", i ? "," : "", v->timing[i].stage,
				 v->timing[i].usec);
	mavis_buf_puts(out, "}}");
}

void
mavis_verdict_to_text(const struct mavis_verdict *v, struct mavis_buf *out)
{
	mavis_buf_printf(out, "action: %s\nsmtp_reply: %s %s %s\nmail_id: %s\nreason: %s\n",
			 mavis_action_name(v->action), v->rcode, v->xcode, v->text, v->mail_id,
			 v->reason);
	for (size_t i = 0; i < v->nrcpts; i++) {
		const struct mavis_rcpt_verdict *r = &v->rcpts[i];

		mavis_buf_printf(out, "recipient: %s ccat=%s destiny=%s", r->address,
				 mavis_ccat_short_name(r->ccat.major, r->ccat.minor),
				 mavis_destiny_name(r->destiny));
		if (r->reply.rcode != NULL) {
			mavis_buf_puts(out, " reply=");
			mavis_reply_format(&r->reply, out);
		}
		mavis_buf_putc(out, '\n');
	}
	for (size_t i = 0; i < v->nedits; i++) {
		const struct mavis_edit *e = &v->edits[i];

		mavis_buf_printf(out, "edit: %s", mavis_edit_op_name(e->op));
		if (e->name)
			mavis_buf_printf(out, " %s", e->name);
		if (e->index >= 0)
			mavis_buf_printf(out, " [%d]", e->index);
		if (e->value)
			mavis_buf_printf(out, ":%s", e->value);
		if (e->rcpt)
			mavis_buf_printf(out, " <%s>", e->rcpt);
		mavis_buf_putc(out, '\n');
	}
}
