/*-------------------------------------------------------------------------
 *
 * selector.c
 *	  Warp 10 selectors: class{label=value,label~regex,...}, several
 *	  separated by whitespace, parsed as EgressFetchHandler and
 *	  GTSHelper.parseLabelsSelectors parse them.
 *
 *	  A selector's class part is everything before the first '{', and its
 *	  label part everything between that '{' and the selector's last
 *	  character, which must be '}'.  The class part is percent-decoded, then
 *	  '=' means exact, '~' a regex, anything else exact.  The label part is
 *	  split on every ',', each piece trimmed (empty ones skipped): one with
 *	  a '=' is exact, else one with a '~' a regex, else an error; the piece
 *	  is split on every '=' (or '~') and only the first two parts count
 *	  (a=b=c selects a = b); name and value are percent-decoded after the
 *	  split.  A label named twice keeps its last selector.  Selectors on the
 *	  hidden labels .owner, .producer and .app are dropped: the token's
 *	  tenant stands for them.
 *
 *-------------------------------------------------------------------------
 */
#include "warp10/warp10.h"

/* Java's \s: the separators of several selectors */
static bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char *
Decode(const char *s, int len, const char *what, const char *sel, int sqlstate)
{
	const char *err;
	char	   *out = w10_decode(s, len, &err);

	if (out == NULL)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s in selector \"%s\"", what, sel),
				 errdetail("%s.", err),
				 errhint("A literal %% is written %%25.")));
	return out;
}

/* ParseLabels fills sel's labels from the text between the braces */
static void
ParseLabels(W10Selector *sel, const char *text, int len, const char *whole, int sqlstate)
{
	int			cap = 4;
	int			pos = 0;

	sel->labels = palloc(sizeof(W10LabelSel) * cap);
	sel->nlabels = 0;
	while (pos <= len)
	{
		int			end = pos;
		int			a,
					b;
		const char *tok;
		int			toklen;
		char		sep;
		const char *s1;
		const char *s2;
		int			namelen;
		int			vallen;
		char	   *name;
		char	   *value;
		int			i;

		while (end < len && text[end] != ',')
			end++;
		/* trimmed as Java's String.trim: every character up to U+0020 */
		a = pos;
		b = end;
		while (a < b && (unsigned char) text[a] <= ' ')
			a++;
		while (b > a && (unsigned char) text[b - 1] <= ' ')
			b--;
		pos = end + 1;
		if (a == b)
			continue;
		tok = text + a;
		toklen = b - a;
		if (memchr(tok, '=', toklen) != NULL)
			sep = '=';
		else if (memchr(tok, '~', toklen) != NULL)
			sep = '~';
		else
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("invalid label selector \"%.*s\" in selector \"%s\"", toklen, tok, whole),
					 errdetail("A label selector is name=value (exact) or name~regex.")));
		/* split on every separator, keep the first two parts */
		/* cppcheck-suppress legacyUninitvar ; set above, or ereport(ERROR) did not return */
		s1 = memchr(tok, sep, toklen);
		namelen = s1 - tok;
		s1++;
		s2 = memchr(s1, sep, toklen - (s1 - tok));
		vallen = (s2 != NULL ? s2 : tok + toklen) - s1;
		name = Decode(tok, namelen, "label name", whole, sqlstate);
		value = Decode(s1, vallen, "label value", whole, sqlstate);

		if (strcmp(name, ".owner") == 0 || strcmp(name, ".producer") == 0 ||
			strcmp(name, ".app") == 0)
			continue;
		for (i = 0; i < sel->nlabels; i++)
			if (strcmp(sel->labels[i].name, name) == 0)
				break;
		if (i == sel->nlabels)
		{
			if (sel->nlabels == cap)
			{
				cap *= 2;
				sel->labels = repalloc(sel->labels, sizeof(W10LabelSel) * cap);
			}
			sel->nlabels++;
		}
		sel->labels[i].name = name;
		sel->labels[i].regex = sep == '~';
		sel->labels[i].value = value;
	}
}

/*
 * w10_parse_selectors parses whitespace-separated selectors; an error is
 * raised with the SQLSTATE sqlstate.
 */
W10Selector *
w10_parse_selectors(const char *text, int *nsel, int sqlstate)
{
	int			cap = 2;
	W10Selector *sels = palloc(sizeof(W10Selector) * cap);
	const char *p = text;

	*nsel = 0;
	for (;;)
	{
		const char *start;
		const char *brace;
		int			len;
		char	   *whole;
		char	   *cls;
		W10Selector *sel;

		while (IsSpace(*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && !IsSpace(*p))
			p++;
		len = p - start;
		whole = pnstrdup(start, len);
		brace = memchr(start, '{', len);
		if (brace == NULL || brace == start || start[len - 1] != '}')
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("invalid selector \"%s\"", whole),
					 errdetail("A selector is class{labels}: a class (=exact, ~regex, or exact) and label selectors in braces."),
					 errhint("Encode spaces and the characters ,={}~ in names and values as %%20 %%2C %%3D %%7B %%7D %%7E.")));
		if (*nsel == cap)
		{
			cap *= 2;
			sels = repalloc(sels, sizeof(W10Selector) * cap);
		}
		sel = &sels[(*nsel)++];
		cls = Decode(start, brace - start, "class", whole, sqlstate);
		if (cls[0] == '=' || cls[0] == '~')
		{
			sel->class_regex = cls[0] == '~';
			sel->cls = cls + 1;
		}
		else
		{
			sel->class_regex = false;
			sel->cls = cls;
		}
		ParseLabels(sel, brace + 1, (start + len - 1) - (brace + 1), whole, sqlstate);
	}
	if (*nsel == 0)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("Missing 'selector' parameter."),
				 errdetail("A selector is class{labels}, e.g. ~.*{} for every series.")));
	return sels;
}
