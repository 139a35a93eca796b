/*
 * json_out.c
 *		The JSON text writer of service_items.
 *
 * Writes compact JSON text straight into one StringInfo: keys in the order
 * of SPEC §4, integers with pg_lltoa, amounts from whole cents, times as
 * "HH:MM", strings with escape_json's escapes.  No jsonb, no per-value
 * output functions, no allocation per row.
 *
 * A 1,000-item document is some 280,000 small appends, so they are inline
 * (append_bytes) rather than calls to appendBinaryStringInfo, which also
 * re-terminates the string each time; the public functions terminate it once
 * at the end.  Before PostgreSQL 17, escape_json appends character by
 * character; append_json_string copies the runs between escapes in one go,
 * as escape_json_with_len does from 17 on, which is then used instead.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"

#include "json_out.h"

/*
 * append_bytes appends n bytes without NUL-terminating; the public functions
 * below terminate once when done.
 */
static inline void
append_bytes(StringInfo buf, const char *data, int n)
{
	if (buf->len + n >= buf->maxlen)
		enlargeStringInfo(buf, n);
	memcpy(buf->data + buf->len, data, n);
	buf->len += n;
}

static inline void
append_char(StringInfo buf, char c)
{
	if (buf->len + 1 >= buf->maxlen)
		enlargeStringInfo(buf, 1);
	buf->data[buf->len++] = c;
}

/* terminate restores StringInfo's invariant: data[len] is a NUL. */
static inline void
terminate(StringInfo buf)
{
	buf->data[buf->len] = '\0';
}

/* append_literal appends a string constant without measuring it at run time. */
#define append_literal(buf, s) append_bytes((buf), (s), sizeof(s) - 1)

static inline void
append_int64(StringInfo buf, int64 value)
{
	char		digits[MAXINT8LEN + 1];
	int			len = pg_lltoa(value, digits);

	append_bytes(buf, digits, len);
}

static inline void
append_bool(StringInfo buf, bool value)
{
	if (value)
		append_literal(buf, "true");
	else
		append_literal(buf, "false");
}

/*
 * append_cents writes a numeric(10,2) value held as whole cents as a JSON
 * number without trailing zeros: 100000 -> 1000, 1250 -> 12.5, 5 -> 0.05.
 */
static void
append_cents(StringInfo buf, int64 cents)
{
	int64		whole = cents / 100;
	int			frac = (int) (cents % 100);

	if (frac < 0)
	{
		frac = -frac;
		if (whole == 0)
			append_char(buf, '-');
	}
	append_int64(buf, whole);
	if (frac != 0)
	{
		append_char(buf, '.');
		append_char(buf, (char) ('0' + frac / 10));
		if (frac % 10 != 0)
			append_char(buf, (char) ('0' + frac % 10));
	}
}

/* append_time_hhmm writes a time of day as the JSON string "HH:MM". */
static void
append_time_hhmm(StringInfo buf, TimeADT time)
{
	int			minutes = (int) (time / USECS_PER_MINUTE);
	int			hours = minutes / 60;
	char		text[8];

	minutes %= 60;
	text[0] = '"';
	text[1] = (char) ('0' + hours / 10);
	text[2] = (char) ('0' + hours % 10);
	text[3] = ':';
	text[4] = (char) ('0' + minutes / 10);
	text[5] = (char) ('0' + minutes % 10);
	text[6] = '"';
	append_bytes(buf, text, 7);
}

#if PG_VERSION_NUM < 170000
/*
 * append_json_string writes len bytes as a JSON string with escape_json's
 * escapes: \b \f \n \r \t \" \\ and \u00XX for other control characters.
 */
static void
append_json_string(StringInfo buf, const char *s, int len)
{
	const char *run = s;
	const char *end = s + len;

	append_char(buf, '"');
	for (const char *p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;
		char		escape[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		append_bytes(buf, run, p - run);
		run = p + 1;
		switch (c)
		{
			case '\b':
				append_literal(buf, "\\b");
				break;
			case '\f':
				append_literal(buf, "\\f");
				break;
			case '\n':
				append_literal(buf, "\\n");
				break;
			case '\r':
				append_literal(buf, "\\r");
				break;
			case '\t':
				append_literal(buf, "\\t");
				break;
			case '"':
				append_literal(buf, "\\\"");
				break;
			case '\\':
				append_literal(buf, "\\\\");
				break;
			default:
				snprintf(escape, sizeof(escape), "\\u%04x", c);
				append_bytes(buf, escape, 6);
				break;
		}
	}
	append_bytes(buf, run, end - run);
	append_char(buf, '"');
}
#endif

/* append_text writes a loaded text value as a JSON string. */
static inline void
append_text(SiJsonWriter *writer, const SiAssociations *assoc, SiText text)
{
#if PG_VERSION_NUM >= 170000
	escape_json_with_len(writer->buf, si_text_data(assoc, text), text.len);
#else
	append_json_string(writer->buf, si_text_data(assoc, text), text.len);
#endif
}

static void
write_assignments(StringInfo buf, const SiAssociations *assoc,
				  const SiItem *item)
{
	const int64 *ids = assoc->assignments + item->assignments.first;

	append_literal(buf, ",\"practitioner_assignments\":[");
	for (int i = 0; i < item->assignments.count; i++)
	{
		if (i > 0)
			append_char(buf, ',');
		append_int64(buf, ids[i]);
	}
	append_char(buf, ']');
}

/*
 * write_billing writes {"<practitioner id>": [scenario, ...], ...}; the rows
 * come ordered by practitioner, then id.
 */
static void
write_billing(SiJsonWriter *writer, const SiAssociations *assoc,
			  const SiItem *item)
{
	StringInfo	buf = writer->buf;
	const SiBilling *rows = assoc->billing + item->billing.first;
	bool		show_share = assoc->request->show_revenue_share;

	append_literal(buf, ",\"billing_scenarios\":{");
	for (int i = 0; i < item->billing.count; i++)
	{
		const SiBilling *b = &rows[i];

		if (i == 0 || b->practitioner_id != rows[i - 1].practitioner_id)
		{
			if (i > 0)
				append_literal(buf, "],");
			append_char(buf, '"');
			append_int64(buf, b->practitioner_id);
			append_literal(buf, "\":[");
		}
		else
			append_char(buf, ',');

		append_literal(buf, "{\"id\":");
		append_int64(buf, b->id);
		append_literal(buf, ",\"name\":");
		append_text(writer, assoc, b->name);
		append_literal(buf, ",\"amount\":");
		append_cents(buf, b->amount_cents);
		append_literal(buf, ",\"revenue_share\":");
		if (show_share)
			append_cents(buf, b->share_cents);
		else
			append_literal(buf, "null");
		append_literal(buf, ",\"is_default\":");
		append_bool(buf, b->is_default);
		append_char(buf, '}');
	}
	if (item->billing.count > 0)
		append_char(buf, ']');
	append_char(buf, '}');
}

static void
write_resources(SiJsonWriter *writer, const SiAssociations *assoc,
				const SiItem *item)
{
	StringInfo	buf = writer->buf;
	const SiResource *rows = assoc->resources + item->resources.first;

	append_literal(buf, ",\"resource_requirements\":[");
	for (int i = 0; i < item->resources.count; i++)
	{
		const SiResource *r = &rows[i];

		if (i > 0)
			append_char(buf, ',');
		append_literal(buf, "{\"id\":");
		append_int64(buf, r->id);
		append_literal(buf, ",\"resource_type_id\":");
		append_int64(buf, r->resource_type_id);
		append_literal(buf, ",\"resource_type_name\":");
		append_text(writer, assoc, r->type_name);
		append_literal(buf, ",\"quantity\":");
		append_int64(buf, r->quantity);
		append_char(buf, '}');
	}
	append_char(buf, ']');
}

static void
write_follow_ups(SiJsonWriter *writer, const SiAssociations *assoc,
				 const SiItem *item)
{
	StringInfo	buf = writer->buf;
	const SiFollowUp *rows = assoc->follow_ups + item->follow_ups.first;

	append_literal(buf, ",\"follow_up_messages\":[");
	for (int i = 0; i < item->follow_ups.count; i++)
	{
		const SiFollowUp *f = &rows[i];

		if (i > 0)
			append_char(buf, ',');
		append_literal(buf, "{\"id\":");
		append_int64(buf, f->id);
		if (f->specific_time)
		{
			append_literal(buf, ",\"timing_mode\":\"specific_time\""
						   ",\"hours_after\":null,\"days_after\":");
			append_int64(buf, f->days_after);
			append_literal(buf, ",\"time_of_day\":");
			append_time_hhmm(buf, f->time_of_day);
		}
		else
		{
			append_literal(buf, ",\"timing_mode\":\"hours_after\""
						   ",\"hours_after\":");
			append_int64(buf, f->hours_after);
			append_literal(buf, ",\"days_after\":null,\"time_of_day\":null");
		}
		append_literal(buf, ",\"message_template\":");
		append_text(writer, assoc, f->message_template);
		append_literal(buf, ",\"is_enabled\":");
		append_bool(buf, f->is_enabled);
		append_literal(buf, ",\"display_order\":");
		append_int64(buf, f->display_order);
		append_char(buf, '}');
	}
	append_char(buf, ']');
}

/* si_json_init prepares a writer that appends to buf. */
void
si_json_init(SiJsonWriter *writer, StringInfo buf)
{
	writer->buf = buf;
}

/*
 * si_json_item writes one service item's object: id, version, assignments,
 * and each section the request included (an excluded section's key is
 * absent; an included one is present even when empty).
 */
void
si_json_item(SiJsonWriter *writer, const SiAssociations *assoc,
			 const SiItem *item)
{
	StringInfo	buf = writer->buf;
	const SiLoadRequest *request = assoc->request;

	append_literal(buf, "{\"service_item_id\":");
	append_int64(buf, item->id);
	append_literal(buf, ",\"version\":");
	append_int64(buf, item->version);
	write_assignments(buf, assoc, item);
	if (request->billing)
		write_billing(writer, assoc, item);
	if (request->resources)
		write_resources(writer, assoc, item);
	if (request->follow_ups)
		write_follow_ups(writer, assoc, item);
	append_char(buf, '}');
	terminate(buf);
}

/* si_json_associations writes the member "associations": [item, ...]. */
void
si_json_associations(SiJsonWriter *writer, const SiAssociations *assoc)
{
	StringInfo	buf = writer->buf;

	append_literal(buf, "\"associations\":[");
	for (int i = 0; i < assoc->nitems; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (i > 0)
			append_char(buf, ',');
		si_json_item(writer, assoc, &assoc->items[i]);
	}
	append_char(buf, ']');
	terminate(buf);
}

/* si_json_document writes {"associations": [item, ...]}. */
void
si_json_document(SiJsonWriter *writer, const SiAssociations *assoc)
{
	append_char(writer->buf, '{');
	si_json_associations(writer, assoc);
	append_char(writer->buf, '}');
	terminate(writer->buf);
}

/*
 * si_json_estimate guesses the document's size from its row count, so the
 * output buffer is allocated once instead of doubled many times.
 */
size_t
si_json_estimate(const SiAssociations *assoc)
{
	return 64 + (size_t) (assoc->total_rows + assoc->ngroups +
						  assoc->npractitioners + assoc->nresource_types) * 96;
}

/* write_id_name_list writes [{"id": .., "name": ..}, ...]. */
static void
write_id_name_list(SiJsonWriter *writer, const SiAssociations *assoc,
				   const int64 *ids, const SiText *names, int count)
{
	StringInfo	buf = writer->buf;

	append_char(buf, '[');
	for (int i = 0; i < count; i++)
	{
		if (i > 0)
			append_char(buf, ',');
		append_literal(buf, "{\"id\":");
		append_int64(buf, ids[i]);
		append_literal(buf, ",\"name\":");
		append_text(writer, assoc, names[i]);
		append_char(buf, '}');
	}
	append_char(buf, ']');
}

/*
 * si_json_settings writes the settings page's document: the clinic, its
 * service type groups, service items, active practitioners, resource types
 * and the associations (as bulk_load_associations writes them).  The
 * associations must have been loaded with details.
 */
void
si_json_settings(SiJsonWriter *writer, const SiAssociations *assoc)
{
	StringInfo	buf = writer->buf;

	append_literal(buf, "{\"clinic\":");
	if (assoc->has_clinic)
	{
		append_literal(buf, "{\"id\":");
		append_int64(buf, assoc->request->clinic_id);
		append_literal(buf, ",\"name\":");
		append_text(writer, assoc, assoc->clinic_name);
		append_char(buf, '}');
	}
	else
		append_literal(buf, "null");

	append_literal(buf, ",\"service_type_groups\":[");
	for (int i = 0; i < assoc->ngroups; i++)
	{
		if (i > 0)
			append_char(buf, ',');
		append_literal(buf, "{\"id\":");
		append_int64(buf, assoc->group_ids[i]);
		append_literal(buf, ",\"name\":");
		append_text(writer, assoc, assoc->group_names[i]);
		append_literal(buf, ",\"display_order\":");
		append_int64(buf, assoc->group_orders[i]);
		append_char(buf, '}');
	}

	append_literal(buf, "],\"service_items\":[");
	for (int i = 0; i < assoc->nitems; i++)
	{
		const SiItem *item = &assoc->items[i];

		CHECK_FOR_INTERRUPTS();
		if (i > 0)
			append_char(buf, ',');
		append_literal(buf, "{\"id\":");
		append_int64(buf, item->id);
		append_literal(buf, ",\"name\":");
		append_text(writer, assoc, item->name);
		append_literal(buf, ",\"service_type_group_id\":");
		if (item->has_group)
			append_int64(buf, item->group_id);
		else
			append_literal(buf, "null");
		append_literal(buf, ",\"duration_minutes\":");
		append_int64(buf, item->duration_minutes);
		append_literal(buf, ",\"display_order\":");
		append_int64(buf, item->display_order);
		append_literal(buf, ",\"version\":");
		append_int64(buf, item->version);
		append_char(buf, '}');
	}

	append_literal(buf, "],\"practitioners\":");
	write_id_name_list(writer, assoc, assoc->practitioners,
					   assoc->practitioner_names, assoc->npractitioners);
	append_literal(buf, ",\"resource_types\":");
	write_id_name_list(writer, assoc, assoc->resource_type_ids,
					   assoc->resource_type_names, assoc->nresource_types);
	append_char(buf, ',');
	si_json_associations(writer, assoc);
	append_char(buf, '}');
	terminate(buf);
}
