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
		mavis_buf_printf(out, "\"local\":%s,", r->local ? "true" : "false");
		json_kv_str(out, "smtp_reply", r->smtp_reply, false);
		mavis_buf_putc(out, '}');
	}
	mavis_buf_puts(out, "],\"edits\":[");
	for (size_t i = 0; i < v->nedits; i++) {
		const struct mavis_edit *e = &v->edits[i];

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
	mavis_buf_puts(out, "]}");
}

void
mavis_verdict_to_text(const struct mavis_verdict *v, struct mavis_buf *out)
{
	mavis_buf_printf(out, "action: %s\nsmtp_reply: %s %s %s\nmail_id: %s\nreason: %s\n",
			 mavis_action_name(v->action), v->rcode, v->xcode, v->text, v->mail_id,
			 v->reason);
	for (size_t i = 0; i < v->nrcpts; i++) {
		const struct mavis_rcpt_verdict *r = &v->rcpts[i];

		mavis_buf_printf(out, "recipient: %s ccat=%s destiny=%s%s%s\n", r->address,
				 mavis_ccat_short_name(r->ccat.major, r->ccat.minor),
				 mavis_destiny_name(r->destiny),
				 r->smtp_reply ? " reply=" : "", r->smtp_reply ? r->smtp_reply : "");
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
