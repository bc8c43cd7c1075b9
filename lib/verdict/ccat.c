/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ccat.c - content category names, as amavisd displays and logs them */

#include <stdio.h>

#include <mavis/verdict.h>

const char *
mavis_ccat_display_name(int major, int minor)
{
	static const char *const badh[] = { "BadHdr", "BadHdrMime", "BadHdr8bit", "BadHdrChar",
					    "BadHdrSpace", "BadHdrLong", "BadHdrSyntax",
					    "BadHdrMissing", "BadHdrDupl" };

	switch (major) {
	case MAVIS_CC_CATCHALL: return "CatchAll";
	case MAVIS_CC_CLEAN: return minor ? "CleanTag" : "Clean";
	case MAVIS_CC_MTA: return minor == 1 ? "MtaTempFailed" : minor == 2 ? "MtaRejected" : "MtaFailed";
	case MAVIS_CC_OVERSIZED: return "Oversized";
	case MAVIS_CC_BADH: return (minor >= 0 && minor <= 8) ? badh[minor] : "BadHdr";
	case MAVIS_CC_SPAMMY: return minor ? "Spammy3" : "Spammy";
	case MAVIS_CC_SPAM: return "Spam";
	case MAVIS_CC_UNCHECKED:
		switch (minor) {
		case MAVIS_UNCHECKED_ENCRYPTED: return "UncheckedEncrypted";
		case MAVIS_UNCHECKED_OVER_LIMITS: return "UncheckedOverLimits";
		case MAVIS_UNCHECKED_AMBIGUOUS: return "UncheckedAmbiguousContent";
		default: return "Unchecked";
		}
	case MAVIS_CC_BANNED: return "Banned";
	case MAVIS_CC_VIRUS: return "Virus";
	}
	return "Other";
}

const char *
mavis_ccat_log_name(int major, int minor)
{
	static const char *const badh[] = { "BAD-HEADER-0", "BAD-HEADER-1", "BAD-HEADER-2",
					    "BAD-HEADER-3", "BAD-HEADER-4", "BAD-HEADER-5",
					    "BAD-HEADER-6", "BAD-HEADER-7", "BAD-HEADER-8" };

	switch (major) {
	case MAVIS_CC_CLEAN: return "CLEAN";
	case MAVIS_CC_MTA: return "MTA-BLOCKED";
	case MAVIS_CC_OVERSIZED: return "OVERSIZED";
	case MAVIS_CC_BADH: return (minor >= 0 && minor <= 8) ? badh[minor] : "BAD-HEADER";
	case MAVIS_CC_SPAMMY: return "SPAMMY";
	case MAVIS_CC_SPAM: return "SPAM";
	case MAVIS_CC_UNCHECKED:
		return minor == MAVIS_UNCHECKED_ENCRYPTED ? "UNCHECKED-ENCRYPTED" : "UNCHECKED";
	case MAVIS_CC_BANNED: return "BANNED";
	case MAVIS_CC_VIRUS: return "INFECTED";
	}
	return "OTHER";
}

const char *
mavis_ccat_short_name(int major, int minor)
{
	switch (major) {
	case MAVIS_CC_CLEAN: return minor ? "CLEAN+tag" : "CLEAN";
	case MAVIS_CC_MTA: return "MTA";
	case MAVIS_CC_OVERSIZED: return "OVERSIZED";
	case MAVIS_CC_BADH: return "BADH";
	case MAVIS_CC_SPAMMY: return "SPAMMY";
	case MAVIS_CC_SPAM: return "SPAM";
	case MAVIS_CC_UNCHECKED: return "UNCHECKED";
	case MAVIS_CC_BANNED: return "BANNED";
	case MAVIS_CC_VIRUS: return "VIRUS";
	}
	return "CATCHALL";
}

const char *
mavis_action_name(enum mavis_action action)
{
	switch (action) {
	case MAVIS_ACTION_ACCEPT: return "accept";
	case MAVIS_ACTION_REJECT: return "reject";
	case MAVIS_ACTION_TEMPFAIL: return "tempfail";
	case MAVIS_ACTION_DISCARD: return "discard";
	case MAVIS_ACTION_HOLD: return "hold";
	}
	return "?";
}

const char *
mavis_edit_op_name(enum mavis_edit_op op)
{
	switch (op) {
	case MAVIS_EDIT_ADD_HEADER: return "add_header";
	case MAVIS_EDIT_INSERT_HEADER: return "insert_header";
	case MAVIS_EDIT_CHANGE_HEADER: return "change_header";
	case MAVIS_EDIT_DELETE_HEADER: return "delete_header";
	case MAVIS_EDIT_DELETE_RCPT: return "delete_rcpt";
	case MAVIS_EDIT_ADD_RCPT: return "add_rcpt";
	case MAVIS_EDIT_QUARANTINE: return "quarantine";
	}
	return "?";
}
