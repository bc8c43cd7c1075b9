/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_meta.c - meta rule expressions: compiled once to a postfix program, run per message */

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sa_int.h"

#define META_MAX_TOKENS 4096
#define META_MAX_DEPTH 256
#define META_MAX_RULES_EXACT 64	/* sa_meta_eval: tests with few rules */

/* Perl's precedence of the operators meta rules may use. */
static int
prec(enum sa_meta_op op)
{
	switch (op) {
	case SA_M_NOT: case SA_M_NEG: return 10;
	case SA_M_MUL: case SA_M_DIV: return 8;
	case SA_M_ADD: case SA_M_SUB: return 7;
	case SA_M_LT: case SA_M_GT: case SA_M_LE: case SA_M_GE: return 6;
	case SA_M_EQ: case SA_M_NE: return 5;
	case SA_M_AND: return 4;
	case SA_M_OR: return 3;
	default: return 0;
	}
}

static bool
is_unary(enum sa_meta_op op)
{
	return op == SA_M_NOT || op == SA_M_NEG;
}

#define OP_LPAREN ((enum sa_meta_op)100)

int
sa_meta_compile(const char *expr, sa_meta_resolve_fn resolve, void *ctx, struct mavis_arena *a,
		struct sa_meta *out, struct mavis_error *err)
{
	size_t len = strlen(expr);
	size_t cap = len + 1 < META_MAX_TOKENS ? len + 1 : META_MAX_TOKENS;
	struct sa_meta_ins *prog = mavis_arena_calloc(a, cap, sizeof(*prog));
	enum sa_meta_op stack[META_MAX_DEPTH];
	size_t n = 0, sp = 0;
	int depth = 0;	/* operand stack depth the program reaches */
	bool want_operand = true;
	const char *p = expr;

#define EMIT(ins)                                                               \
	do {                                                                    \
		if (n == cap)                                                   \
			return mavis_error_set(err, MAVIS_ERR_PARSE, "meta expression too long"); \
		prog[n++] = (ins);                                              \
	} while (0)

	while (*p != '\0') {
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (want_operand) {
			if (*p == '(' || *p == '!' || *p == '-') {
				enum sa_meta_op op = *p == '(' ? OP_LPAREN
						     : *p == '!' ? SA_M_NOT : SA_M_NEG;

				if (sp == META_MAX_DEPTH)
					return mavis_error_set(err, MAVIS_ERR_PARSE,
							       "meta expression nested too deep");
				stack[sp++] = op;
				p++;
				continue;
			}
			if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
				char *end;
				struct sa_meta_ins ins = { .op = SA_M_NUM, .num = strtod(p, &end) };

				p = end;
				EMIT(ins);
			} else if (isalpha((unsigned char)*p) || *p == '_') {
				const char *s = p;

				while (isalnum((unsigned char)*p) || *p == '_')
					p++;
				int idx = resolve(ctx, s, (size_t)(p - s));
				struct sa_meta_ins ins = { .op = idx < 0 ? SA_M_NUM : SA_M_RULE,
							   .rule = idx < 0 ? 0 : (unsigned)idx };

				EMIT(ins);
			} else {
				return mavis_error_set(err, MAVIS_ERR_PARSE,
						       "meta expression: operand expected at \"%.20s\"", p);
			}
			want_operand = false;
			continue;
		}
		/* an operator or ")" */
		enum sa_meta_op op;
		size_t w = 2;

		if (*p == ')') {
			while (sp > 0 && stack[sp - 1] != OP_LPAREN)
				EMIT(((struct sa_meta_ins){ .op = stack[--sp] }));
			if (sp == 0)
				return mavis_error_set(err, MAVIS_ERR_PARSE, "meta expression: unbalanced )");
			sp--;
			p++;
			continue;
		}
		if (strncmp(p, "&&", 2) == 0) op = SA_M_AND;
		else if (strncmp(p, "||", 2) == 0) op = SA_M_OR;
		else if (strncmp(p, "<=", 2) == 0) op = SA_M_LE;
		else if (strncmp(p, ">=", 2) == 0) op = SA_M_GE;
		else if (strncmp(p, "==", 2) == 0) op = SA_M_EQ;
		else if (strncmp(p, "!=", 2) == 0) op = SA_M_NE;
		else {
			w = 1;
			switch (*p) {
			case '<': op = SA_M_LT; break;
			case '>': op = SA_M_GT; break;
			case '+': op = SA_M_ADD; break;
			case '-': op = SA_M_SUB; break;
			case '*': op = SA_M_MUL; break;
			case '/': op = SA_M_DIV; break;
			default:
				return mavis_error_set(err, MAVIS_ERR_PARSE,
						       "meta expression: operator expected at \"%.20s\"", p);
			}
		}
		while (sp > 0 && stack[sp - 1] != OP_LPAREN &&
		       (is_unary(stack[sp - 1]) || prec(stack[sp - 1]) >= prec(op)))
			EMIT(((struct sa_meta_ins){ .op = stack[--sp] }));
		if (sp == META_MAX_DEPTH)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "meta expression nested too deep");
		stack[sp++] = op;
		p += w;
		want_operand = true;
	}
	if (want_operand)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "meta expression ends early");
	while (sp > 0) {
		if (stack[sp - 1] == OP_LPAREN)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "meta expression: unbalanced (");
		EMIT(((struct sa_meta_ins){ .op = stack[--sp] }));
	}
	/* The program must leave exactly one value and never underflow. */
	for (size_t i = 0; i < n; i++) {
		if (prog[i].op == SA_M_NUM || prog[i].op == SA_M_RULE)
			depth++;
		else if (!is_unary(prog[i].op))
			depth--;
		if (depth < 1 || depth > META_MAX_DEPTH)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "meta expression malformed");
	}
	if (depth != 1)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "meta expression malformed");
#undef EMIT
	out->prog = prog;
	out->n = n;
	return 0;
}

/* Values are intervals [lo, hi]: a rule SpamAssassin runs but this engine
   cannot is [0, 1], "hit or not", and the operators keep what is certain
   about the result. With every operand exact the interval is one point and
   the result is Perl's value. */
struct iv {
	double lo, hi;
	bool z;		/* may be 0: what the truth of the value depends on
			   (|| of an unknown and a true value is never 0, though
			   its bounds include 0) */
};

static struct iv
iv_make(double lo, double hi)
{
	return (struct iv){ lo, hi, lo <= 0 && hi >= 0 };
}

static bool
iv_true(struct iv v)
{
	return !v.z;
}

static bool
iv_false(struct iv v)
{
	return v.lo == 0 && v.hi == 0;
}

static struct iv
iv_hull(struct iv a, struct iv b)
{
	return (struct iv){ fmin(a.lo, b.lo), fmax(a.hi, b.hi), a.z || b.z };
}

static struct iv
iv_bool(bool yes, bool no)
{
	return yes ? iv_make(1, 1) : no ? iv_make(0, 0) : iv_make(0, 1);
}

static struct iv
iv_mul(struct iv a, struct iv b)
{
	double p[4] = { a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi };
	double lo = p[0], hi = p[0];

	for (int i = 0; i < 4; i++) {
		if (isnan(p[i]))
			return iv_make(-INFINITY, INFINITY);
		lo = fmin(lo, p[i]);
		hi = fmax(hi, p[i]);
	}
	return iv_make(lo, hi);
}

int
sa_meta_eval_iv(const struct sa_meta *m, const double *lo, const double *hi, double *rlo,
		double *rhi)
{
	struct iv st[META_MAX_DEPTH + 1];
	size_t sp = 0;

	*rlo = *rhi = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct sa_meta_ins *in = &m->prog[i];
		struct iv l, r;

		switch (in->op) {
		case SA_M_NUM: st[sp++] = iv_make(in->num, in->num); continue;
		case SA_M_RULE: st[sp++] = iv_make(lo[in->rule], hi[in->rule]); continue;
		case SA_M_NOT: st[sp - 1] = iv_bool(iv_false(st[sp - 1]), iv_true(st[sp - 1])); continue;
		case SA_M_NEG:
			st[sp - 1] = (struct iv){ -st[sp - 1].hi, -st[sp - 1].lo, st[sp - 1].z };
			continue;
		default: break;
		}
		r = st[--sp];
		l = st[sp - 1];
		switch (in->op) {
		/* Perl: && gives the left operand when it is false, else the
		   right one; || the left one when true, else the right one. */
		case SA_M_AND:
			l = iv_false(l) ? l : iv_true(l) ? r : iv_hull(iv_make(0, 0), r);
			break;
		case SA_M_OR:
			if (!iv_true(l) && !iv_false(l)) {
				/* l when l is nonzero, else r */
				bool z = r.z;

				l = iv_hull(l, r);
				l.z = z;
			} else if (iv_false(l)) {
				l = r;
			}
			break;
		case SA_M_ADD: l = iv_make(l.lo + r.lo, l.hi + r.hi); break;
		case SA_M_SUB: l = iv_make(l.lo - r.hi, l.hi - r.lo); break;
		case SA_M_MUL: l = iv_mul(l, r); break;
		case SA_M_DIV:
			if (iv_false(r))
				return 0;	/* Perl dies: the rule does not hit */
			if (r.lo <= 0 && r.hi >= 0)
				l = iv_make(-INFINITY, INFINITY);
			else
				l = iv_mul(l, iv_make(1 / r.hi, 1 / r.lo));
			break;
		case SA_M_LT: l = iv_bool(l.hi < r.lo, l.lo >= r.hi); break;
		case SA_M_GT: l = iv_bool(l.lo > r.hi, l.hi <= r.lo); break;
		case SA_M_LE: l = iv_bool(l.hi <= r.lo, l.lo > r.hi); break;
		case SA_M_GE: l = iv_bool(l.lo >= r.hi, l.hi < r.lo); break;
		case SA_M_EQ:
		case SA_M_NE: {
			bool same = l.lo == l.hi && r.lo == r.hi && l.lo == r.lo;
			bool apart = l.hi < r.lo || r.hi < l.lo;

			l = in->op == SA_M_EQ ? iv_bool(same, apart) : iv_bool(apart, same);
			break;
		}
		default: break;
		}
		st[sp - 1] = l;
	}
	if (sp != 1)
		return 0;
	*rlo = st[0].lo;
	*rhi = st[0].hi;
	return iv_true(st[0]) ? 1 : iv_false(st[0]) ? 0 : -1;
}

double
sa_meta_eval(const struct sa_meta *m, const unsigned *hits)
{
	double lo[META_MAX_RULES_EXACT], rlo, rhi;
	size_t top = 0;

	/* exact values: each rule's interval is one point */
	for (size_t i = 0; i < m->n; i++)
		if (m->prog[i].op == SA_M_RULE && m->prog[i].rule + 1 > top)
			top = m->prog[i].rule + 1;
	if (top > META_MAX_RULES_EXACT)
		return 0;
	for (size_t i = 0; i < top; i++)
		lo[i] = hits[i];
	(void)sa_meta_eval_iv(m, lo, lo, &rlo, &rhi);
	return rlo;
}
