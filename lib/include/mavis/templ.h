/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_TEMPL_H
#define MAVIS_TEMPL_H

#include <mavis/api.h>

/*
 * log_templ: the main log line per message as a template, in the subset of
 * amavisd-new's template language that its default $log_templ needs:
 *
 *   %X            a one-letter macro (amavisd's letters, see below); %% is %
 *   [:name]       a named macro
 *   [?C|a|b]      C expanded and trimmed: empty selects a, anything else b
 *                 (a missing alternative is empty)
 *   \c            the character c itself (\[ \] \| \% \\)
 *
 * Macros (amavisd's meaning; values from mail are sanitised by the log):
 *   %n log id      %i mail_id         %s sender <a@b>   %R recipients <a>, <b>
 *   %p bank path   %a client IP       %l Y if originating (amavisd "local")
 *   %Q queue id    %m Message-ID      %z size in bytes  %y elapsed ms
 *   %c spam score (empty when no scanner gave one)      %h myhostname
 *   [:actions_performed]  RelayedInbound, DiscardedOutbound, ...
 *   [:ccat]       the main category with its detail: CLEAN, INFECTED (Eicar-...)
 *   [:status]     Passed, Blocked, Passed/Blocked, Held
 *   [:internal_error]  Y when the verdict comes from a failure, not content
 *   [:reply]      the SMTP reply: 451 4.7.1 ...
 * Anything else - another letter, another name, amavisd's [~ ...] or list
 * iteration [%R|...] - is refused when the configuration is loaded.
 */

enum mavis_templ_macro {
	MAVIS_TM_LOG_ID,
	MAVIS_TM_MAIL_ID,
	MAVIS_TM_SENDER,
	MAVIS_TM_RCPTS,
	MAVIS_TM_BANK_PATH,
	MAVIS_TM_CLIENT_ADDR,
	MAVIS_TM_LOCAL,
	MAVIS_TM_QUEUE_ID,
	MAVIS_TM_MESSAGE_ID,
	MAVIS_TM_SIZE,
	MAVIS_TM_ELAPSED,
	MAVIS_TM_SCORE,
	MAVIS_TM_MYHOSTNAME,
	MAVIS_TM_ACTIONS,
	MAVIS_TM_CCAT,
	MAVIS_TM_STATUS,
	MAVIS_TM_INTERNAL_ERROR,
	MAVIS_TM_REPLY,
	MAVIS_TM_COUNT
};

struct mavis_buf;
struct mavis_error;

/* Append the value of macro m for the message in ctx to out. */
typedef void (*mavis_templ_value_fn)(void *ctx, enum mavis_templ_macro m, struct mavis_buf *out);

/* Check a template: 0, or MAVIS_ERR_CONFIG with the reason and its
   position in err ("unknown macro %X at character 12 (known: ...)"). */
MAVIS_API int mavis_templ_check(const char *templ, struct mavis_error *err);

/* Expand a template that passed mavis_templ_check, appending to out; value
   is called once per macro occurrence that is expanded. A template that
   did not pass is expanded up to its first error. Output is bounded by
   limit bytes (more is cut off). */
MAVIS_API void mavis_templ_expand(const char *templ, mavis_templ_value_fn value, void *ctx,
				  size_t limit, struct mavis_buf *out);

#endif
