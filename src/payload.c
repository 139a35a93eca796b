/*
 * payload.c
 *		A save payload (jsonb) parsed into C structs, and the error list.
 *
 * The payload is walked once with jsonb iterators.  Every rule that needs no
 * database state is checked here (unknown keys, JSON types, malformed keys,
 * required fields, ranges, formats, duplicates within a list, sizes); each
 * error gets a SQL/JSON path, built only when an error is reported.  A null
 * member counts as absent, so a loaded object can be sent back as it is.
 * Nothing here calls SPI.
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/numeric.h"

#include "numeric.h"
#include "payload.h"

const char *const si_section_names[SI_NUM_PLACES] = {
	"practitioner_assignments",
	"billing_scenarios",
	"resource_requirements",
	"follow_up_messages",
	"expected_versions",
	"service_type_groups",
	"service_items"
};

#define MAX_NAME_CHARS 255
#define MAX_TEMPLATE_CHARS 5000
#define MAX_AMOUNT_CENTS INT64CONST(9999999999)

/* members written unquoted in paths; anything else is quoted */
static const char *const plain_members[] = {
	"id", "name", "amount", "revenue_share", "is_default", "resource_type_id",
	"resource_type_name", "quantity", "timing_mode", "hours_after",
	"days_after", "time_of_day", "message_template", "is_enabled",
	"display_order", "key", "duration_minutes", "service_type_group_id",
	"associations", NULL
};

/* ---------------------------------------------------------------------
 * Errors and paths
 * ---------------------------------------------------------------------
 */

static bool
is_plain_member(const char *member)
{
	for (int i = 0; plain_members[i] != NULL; i++)
		if (strcmp(plain_members[i], member) == 0)
			return true;
	return false;
}

/* append_member appends .name, or ."name" when it needs quoting. */
static void
append_member(StringInfo path, const char *member, bool plain)
{
	appendStringInfoChar(path, '.');
	if (plain)
		appendStringInfoString(path, member);
	else
		escape_json(path, member);
}

static char *
build_path(const SiErrors *errors, const SiPlace *place)
{
	StringInfoData path;

	initStringInfo(&path);
	appendStringInfoString(&path, errors->prefix ? errors->prefix : "$");
	append_member(&path, si_section_names[place->section], true);
	if (place->key != NULL)
		append_member(&path, place->key, false);
	if (place->index >= 0)
		appendStringInfo(&path, "[%d]", place->index);
	if (place->field != NULL)
		append_member(&path, place->field, is_plain_member(place->field));
	return path.data;
}

static void
add_error(SiErrors *errors, char *path, const char *code, char *message)
{
	errors->count++;
	if (errors->kept < SI_MAX_REPORTED_ERRORS)
	{
		SiError    *e = &errors->items[errors->kept++];

		e->path = path;
		e->code = code;
		e->message = message;
	}
}

/* format_message formats an error message (printf style). */
static char *format_message(const char *fmt, va_list args) pg_attribute_printf(1, 0);

static char *
format_message(const char *fmt, va_list args)
{
	StringInfoData message;

	initStringInfo(&message);
	for (;;)
	{
		va_list		copy;
		int			needed;

		va_copy(copy, args);
		needed = appendStringInfoVA(&message, fmt, copy);
		va_end(copy);
		if (needed == 0)
			break;
		enlargeStringInfo(&message, needed);
	}
	return message.data;
}

/* si_error records an error at a place of the payload. */
void
si_error(SiErrors *errors, const SiPlace *place, const char *code,
		 const char *fmt,...)
{
	va_list		args;
	char	   *message;

	if (errors->kept >= SI_MAX_REPORTED_ERRORS)
	{
		errors->count++;		/* counted, not kept */
		return;
	}
	va_start(args, fmt);
	message = format_message(fmt, args);
	va_end(args);
	add_error(errors, build_path(errors, place), code, message);
}

/* si_error_at_root records an error at a top-level member, or at $. */
void
si_error_at_root(SiErrors *errors, const char *member, const char *code,
				 const char *fmt,...)
{
	va_list		args;
	char	   *message;
	StringInfoData path;

	if (errors->kept >= SI_MAX_REPORTED_ERRORS)
	{
		errors->count++;		/* counted, not kept */
		return;
	}
	initStringInfo(&path);
	appendStringInfoString(&path, errors->prefix ? errors->prefix : "$");
	if (member != NULL)
		append_member(&path, member, false);
	va_start(args, fmt);
	message = format_message(fmt, args);
	va_end(args);
	add_error(errors, path.data, code, message);
}

/* si_errors_to_json writes the kept errors as a JSON array. */
void
si_errors_to_json(StringInfo buf, const SiErrors *errors)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < errors->kept; i++)
	{
		const SiError *e = &errors->items[i];

		if (i > 0)
			appendStringInfoString(buf, ", ");
		appendStringInfoString(buf, "{\"path\": ");
		escape_json(buf, e->path);
		appendStringInfoString(buf, ", \"code\": ");
		escape_json(buf, e->code);
		appendStringInfoString(buf, ", \"message\": ");
		escape_json(buf, e->message);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
}

/* ---------------------------------------------------------------------
 * Reading jsonb
 * ---------------------------------------------------------------------
 */

/* An object's members, read with skipNested so nested values stay binary. */
typedef struct Member
{
	char	   *key;
	JsonbValue	value;
} Member;

/*
 * read_members returns the members of an object container in key order
 * (jsonb's own order: shorter keys first, then bytewise).
 */
static Member *
read_members(JsonbContainer *container, int *count)
{
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbValue	v;
	JsonbIteratorToken token;
	Member	   *members;
	int			n = 0;

	members = palloc(sizeof(Member) * Max(JsonContainerSize(container), 1));
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (token == WJB_KEY)
		{
			members[n].key = pnstrdup(v.val.string.val, v.val.string.len);
			token = JsonbIteratorNext(&it, &members[n].value, true);
			Assert(token == WJB_VALUE);
			n++;
		}
	}
	*count = n;
	return members;
}

/* read_elements returns the elements of an array container. */
static JsonbValue *
read_elements(JsonbContainer *container, int *count)
{
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbValue	v;
	JsonbIteratorToken token;
	JsonbValue *elements;
	int			n = 0;

	elements = palloc(sizeof(JsonbValue) * Max(JsonContainerSize(container), 1));
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (token == WJB_ELEM)
			elements[n++] = v;
	}
	*count = n;
	return elements;
}

static bool
is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

static const char *
json_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a value";
	}
}

/* find_member returns a member of an entry, or NULL when absent or null. */
static JsonbValue *
find_member(Member *members, int count, const char *key)
{
	for (int i = 0; i < count; i++)
		if (strcmp(members[i].key, key) == 0)
			return members[i].value.type == jbvNull ? NULL : &members[i].value;
	return NULL;
}

/*
 * read_int reads an integer in [min, max]; it reports wrong_type for
 * anything but a JSON number with an integral value, out_of_range outside
 * the bounds.
 */
static bool
read_int(SiErrors *errors, const SiPlace *place, const char *what,
		 const JsonbValue *v, int64 min, int64 max, int64 *out)
{
	Numeric		n;
	Datum		d;

	if (v->type != jbvNumeric)
	{
		si_error(errors, place, "wrong_type", "%s must be a number, not %s",
				 what, json_type_name(v));
		return false;
	}
	n = v->val.numeric;
	if (si_numeric_scaled(n, 0, out) && *out >= min && *out <= max)
		return true;			/* the common case, without numeric calls */
	d = NumericGetDatum(n);
	if (numeric_is_nan(n) || numeric_is_inf(n) ||
		DatumGetInt32(DirectFunctionCall1(numeric_min_scale, d)) > 0)
	{
		si_error(errors, place, "wrong_type", "%s must be an integer", what);
		return false;
	}
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, d,
										  NumericGetDatum(int64_to_numeric(min)))) < 0 ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, d,
										  NumericGetDatum(int64_to_numeric(max)))) > 0)
	{
		si_error(errors, place, "out_of_range",
				 "%s must be between " INT64_FORMAT " and " INT64_FORMAT,
				 what, min, max);
		return false;
	}
	*out = DatumGetInt64(DirectFunctionCall1(numeric_int8, d));
	return true;
}

/*
 * read_cents reads an amount: a JSON number from 0 to 99999999.99 with at
 * most two decimals, returned as whole cents.
 */
static bool
read_cents(SiErrors *errors, const SiPlace *place, const char *what,
		   const JsonbValue *v, int64 *out)
{
	Numeric		n;
	Datum		cents;

	if (v->type != jbvNumeric)
	{
		si_error(errors, place, "wrong_type", "%s must be a number, not %s",
				 what, json_type_name(v));
		return false;
	}
	n = v->val.numeric;
	if (si_numeric_scaled(n, 2, out) && *out >= 0 && *out <= MAX_AMOUNT_CENTS)
		return true;			/* the common case, without numeric calls */
	if (numeric_is_nan(n) || numeric_is_inf(n) ||
		DatumGetInt32(DirectFunctionCall1(numeric_min_scale,
										  NumericGetDatum(n))) > 2)
	{
		si_error(errors, place, "out_of_range",
				 "%s must be a finite amount with at most 2 decimals", what);
		return false;
	}
	cents = NumericGetDatum(numeric_mul_opt_error(n, int64_to_numeric(100), NULL));
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, cents,
										  NumericGetDatum(int64_to_numeric(0)))) < 0 ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, cents,
										  NumericGetDatum(int64_to_numeric(MAX_AMOUNT_CENTS)))) > 0)
	{
		si_error(errors, place, "out_of_range",
				 "%s must be between 0 and 99999999.99", what);
		return false;
	}
	*out = DatumGetInt64(DirectFunctionCall1(numeric_int8, cents));
	return true;
}

static bool
read_bool(SiErrors *errors, const SiPlace *place, const char *what,
		  const JsonbValue *v, bool *out)
{
	if (v->type != jbvBool)
	{
		si_error(errors, place, "wrong_type", "%s must be a boolean, not %s",
				 what, json_type_name(v));
		return false;
	}
	*out = v->val.boolean;
	return true;
}

/*
 * read_text reads a name or template: a non-empty string of at most
 * max_chars characters with no control characters but tab and newline.
 */
static bool
read_text(SiErrors *errors, const SiPlace *place, const char *what,
		  const JsonbValue *v, int max_chars, char **out)
{
	const char *s;
	int			len;

	if (v->type != jbvString)
	{
		si_error(errors, place, "wrong_type", "%s must be a string, not %s",
				 what, json_type_name(v));
		return false;
	}
	s = v->val.string.val;
	len = v->val.string.len;
	if (len == 0)
	{
		si_error(errors, place, "required", "%s must not be empty", what);
		return false;
	}
	if (pg_mbstrlen_with_len(s, len) > max_chars)
	{
		si_error(errors, place, "too_long",
				 "%s is longer than %d characters", what, max_chars);
		return false;
	}
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		/* C0 but tab and newline, DEL, and C1 (U+0080-U+009F: C2 80-9F) */
		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F ||
			(c == 0xC2 && i + 1 < len &&
			 (unsigned char) s[i + 1] >= 0x80 && (unsigned char) s[i + 1] <= 0x9F))
		{
			si_error(errors, place, "invalid_characters",
					 "%s contains control characters other than tab and newline",
					 what);
			return false;
		}
	}
	*out = pnstrdup(s, len);
	return true;
}

/*
 * parse_id_key reads a key that must be a positive bigint written in
 * canonical decimal ("12", not "012" or "+12").
 */
static bool
parse_id_key(const char *s, int len, int64 *out)
{
	int64		value = 0;

	if (len <= 0 || len > 19 || s[0] < '1' || s[0] > '9')
		return false;
	for (int i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (value > (PG_INT64_MAX - (s[i] - '0')) / 10)
			return false;
		value = value * 10 + (s[i] - '0');
	}
	*out = value;
	return true;
}

/*
 * check_members reports every member of an entry that is not one of the
 * allowed keys.
 */
static void
check_members(SiErrors *errors, const SiPlace *entry, Member *members,
			  int count, const char *const *allowed)
{
	for (int i = 0; i < count; i++)
	{
		bool		known = false;

		for (int j = 0; allowed[j] != NULL && !known; j++)
			known = strcmp(members[i].key, allowed[j]) == 0;
		if (!known)
		{
			SiPlace		place = *entry;

			place.field = members[i].key;
			si_error(errors, &place, "unknown_key", "unknown key \"%s\"",
					 members[i].key);
		}
	}
}

/*
 * entry_members reads the members of list entry i, reporting wrong_type when
 * it is not an object.
 */
static Member *
entry_members(SiErrors *errors, const SiPlace *entry, const JsonbValue *v,
			  int *count)
{
	if (!is_object(v))
	{
		si_error(errors, entry, "wrong_type", "entry must be an object, not %s",
				 json_type_name(v));
		*count = 0;
		return NULL;
	}
	return read_members(v->val.binary.data, count);
}

/* field_place is the place of one member of an entry. */
static SiPlace
field_place(const SiPlace *entry, const char *field)
{
	SiPlace		place = *entry;

	place.field = field;
	return place;
}

/* ---------------------------------------------------------------------
 * Sections
 * ---------------------------------------------------------------------
 */

/*
 * list_elements reads a section member's value as a list: an array of at
 * most SI_MAX_LIST_ENTRIES.  Returns NULL (and reports) otherwise.
 */
static JsonbValue *
list_elements(SiErrors *errors, const SiPlace *list, const JsonbValue *v,
			  int *count)
{
	if (!is_array(v))
	{
		si_error(errors, list, "wrong_type", "value must be an array, not %s",
				 json_type_name(v));
		return NULL;
	}
	if (JsonContainerSize(v->val.binary.data) > SI_MAX_LIST_ENTRIES)
	{
		si_error(errors, list, "too_many", "more than %d entries in one list",
				 SI_MAX_LIST_ENTRIES);
		return NULL;
	}
	return read_elements(v->val.binary.data, count);
}

/*
 * resolve_item_key reads a service item key: an id, or one of the payload's
 * client keys when it may use them.
 */
static bool
resolve_item_key(const SiKeys *keys, const char *key, int len, int64 *item_id)
{
	if (parse_id_key(key, len, item_id))
		return true;
	for (int i = 0; keys != NULL && i < keys->count; i++)
		if ((int) strlen(keys->keys[i]) == len &&
			strncmp(keys->keys[i], key, len) == 0)
		{
			*item_id = keys->ids[i];
			return true;
		}
	return false;
}

/* read_item_key reads a section key naming a service item. */
static bool
read_item_key(SiErrors *errors, const SiKeys *keys, const SiPlace *list,
			  int64 *item_id)
{
	if (resolve_item_key(keys, list->key, strlen(list->key), item_id))
		return true;
	si_error(errors, list, "bad_key",
			 "key \"%s\" is not a service item id", list->key);
	return false;
}

/*
 * item_list reads a section member that is a service item's list: its key
 * (an item id, or a client key where allowed) and its array.  Returns the
 * elements, or NULL when the member is null (absent) or in error.
 */
static JsonbValue *
item_list(SiErrors *errors, const SiPayload *result, SiSection section,
		  const Member *member, int64 *item_id, int *count)
{
	SiPlace		list = {section, member->key, -1, NULL};

	if (member->value.type == jbvNull)
		return NULL;
	if (!read_item_key(errors, result->keys, &list, item_id))
		return NULL;
	return list_elements(errors, &list, &member->value, count);
}

static void
parse_assignments(SiErrors *errors, Member *members, int count,
				  SiPayload *result)
{
	result->assignments = palloc0(sizeof(SiAssignmentList) * Max(count, 1));
	for (int m = 0; m < count; m++)
	{
		SiAssignmentList *out = &result->assignments[result->nassignments];
		JsonbValue *elements;
		int			n;
		int64		item_id;

		elements = item_list(errors, result, SI_SECTION_ASSIGNMENTS, &members[m],
							 &item_id, &n);
		if (elements == NULL)
			continue;

		out->key = members[m].key;
		out->item_id = item_id;
		out->practitioner_ids = palloc(sizeof(int64) * Max(n, 1));
		out->positions = palloc(sizeof(int) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			SiPlace		place = {SI_SECTION_ASSIGNMENTS, members[m].key, i, NULL};
			int64		id;
			bool		duplicate = false;

			CHECK_FOR_INTERRUPTS();
			if (!read_int(errors, &place, "practitioner id", &elements[i],
						  1, PG_INT64_MAX, &id))
				continue;
			for (int j = 0; j < out->count && !duplicate; j++)
				duplicate = out->practitioner_ids[j] == id;
			if (duplicate)
			{
				si_error(errors, &place, "duplicate",
						 "practitioner " INT64_FORMAT " is listed twice", id);
				continue;
			}
			out->positions[out->count] = i;
			out->practitioner_ids[out->count++] = id;
		}
		result->nassignments++;
	}
}

static const char *const billing_members[] = {
	"id", "name", "amount", "revenue_share", "is_default", NULL
};

/* parse_billing_entry reads one scenario; returns false on any error. */
static bool
parse_billing_entry(SiErrors *errors, const SiPlace *entry,
					const JsonbValue *v, SiBillingEntry *out)
{
	Member	   *members;
	int			n;
	int			before = errors->count;
	JsonbValue *f;
	SiPlace		place;
	bool		amount_ok = false;

	members = entry_members(errors, entry, v, &n);
	if (members == NULL)
		return false;
	check_members(errors, entry, members, n, billing_members);

	if ((f = find_member(members, n, "id")) != NULL)
	{
		place = field_place(entry, "id");
		out->has_id = read_int(errors, &place, "id", f, 1, PG_INT64_MAX, &out->id);
	}

	place = field_place(entry, "name");
	if ((f = find_member(members, n, "name")) == NULL)
		si_error(errors, &place, "required", "name is required");
	else
		read_text(errors, &place, "name", f, MAX_NAME_CHARS, &out->name);

	place = field_place(entry, "amount");
	if ((f = find_member(members, n, "amount")) == NULL)
		si_error(errors, &place, "required", "amount is required");
	else
		amount_ok = read_cents(errors, &place, "amount", f, &out->amount_cents);

	place = field_place(entry, "revenue_share");
	if ((f = find_member(members, n, "revenue_share")) == NULL)
		si_error(errors, &place, "required", "revenue_share is required");
	else if (read_cents(errors, &place, "revenue_share", f, &out->share_cents) &&
			 amount_ok && out->share_cents > out->amount_cents)
		si_error(errors, &place, "revenue_share_exceeds_amount",
				 "revenue_share %s exceeds amount %s",
				 numeric_normalize(int64_div_fast_to_numeric(out->share_cents, 2)),
				 numeric_normalize(int64_div_fast_to_numeric(out->amount_cents, 2)));

	out->is_default = false;
	if ((f = find_member(members, n, "is_default")) != NULL)
	{
		place = field_place(entry, "is_default");
		read_bool(errors, &place, "is_default", f, &out->is_default);
	}
	return errors->count == before;
}

/*
 * parse_billing_key reads "<service_item_id>-<practitioner_id>" (the item may
 * be a client key, which may hold dashes: the last dash splits).
 */
static bool
parse_billing_key(const SiKeys *keys, const char *key, int64 *item_id,
				  int64 *practitioner_id)
{
	const char *dash = strrchr(key, '-');

	return dash != NULL &&
		resolve_item_key(keys, key, dash - key, item_id) &&
		parse_id_key(dash + 1, strlen(dash + 1), practitioner_id);
}

static void
parse_billing(SiErrors *errors, Member *members, int count, SiPayload *result)
{
	result->billing = palloc0(sizeof(SiBillingList) * Max(count, 1));
	for (int m = 0; m < count; m++)
	{
		SiPlace		list = {SI_SECTION_BILLING, members[m].key, -1, NULL};
		SiBillingList *out = &result->billing[result->nbilling];
		JsonbValue *elements;
		int			n;
		int			defaults = 0;

		if (members[m].value.type == jbvNull)
			continue;
		if (!parse_billing_key(result->keys, members[m].key, &out->item_id, &out->practitioner_id))
		{
			si_error(errors, &list, "bad_key",
					 "key \"%s\" is not \"<service_item_id>-<practitioner_id>\"",
					 members[m].key);
			continue;
		}
		elements = list_elements(errors, &list, &members[m].value, &n);
		if (elements == NULL)
			continue;

		out->key = members[m].key;
		out->entries = palloc0(sizeof(SiBillingEntry) * Max(n, 1));
		out->count = n;
		for (int i = 0; i < n; i++)
		{
			SiPlace		entry = {SI_SECTION_BILLING, members[m].key, i, NULL};
			SiBillingEntry *e = &out->entries[i];

			CHECK_FOR_INTERRUPTS();
			parse_billing_entry(errors, &entry, &elements[i], e);
			for (int j = 0; j < i; j++)
			{
				SiBillingEntry *other = &out->entries[j];
				SiPlace		place;

				if (e->has_id && other->has_id && e->id == other->id)
				{
					place = field_place(&entry, "id");
					si_error(errors, &place, "duplicate",
							 "id " INT64_FORMAT " is listed twice", e->id);
				}
				if (e->name != NULL && other->name != NULL &&
					strcmp(e->name, other->name) == 0)
				{
					place = field_place(&entry, "name");
					si_error(errors, &place, "duplicate",
							 "name \"%s\" is listed twice", e->name);
				}
			}
			if (e->is_default && ++defaults == 2)
			{
				SiPlace		place = field_place(&entry, "is_default");

				si_error(errors, &place, "multiple_defaults",
						 "more than one scenario of this pair is the default");
			}
		}
		result->nbilling++;
	}
}

static const char *const resource_members[] = {
	"id", "resource_type_id", "resource_type_name", "quantity", NULL
};

static void
parse_resource_entry(SiErrors *errors, const SiPlace *entry,
					 const JsonbValue *v, SiResourceEntry *out)
{
	Member	   *members;
	int			n;
	JsonbValue *f;
	SiPlace		place;
	int64		value;

	members = entry_members(errors, entry, v, &n);
	if (members == NULL)
		return;
	check_members(errors, entry, members, n, resource_members);

	if ((f = find_member(members, n, "id")) != NULL)
	{
		place = field_place(entry, "id");
		out->has_id = read_int(errors, &place, "id", f, 1, PG_INT64_MAX, &out->id);
	}
	place = field_place(entry, "resource_type_id");
	if ((f = find_member(members, n, "resource_type_id")) == NULL)
		si_error(errors, &place, "required", "resource_type_id is required");
	else
		read_int(errors, &place, "resource_type_id", f, 1, PG_INT64_MAX,
				 &out->resource_type_id);
	place = field_place(entry, "quantity");
	if ((f = find_member(members, n, "quantity")) == NULL)
		si_error(errors, &place, "required", "quantity is required");
	else if (read_int(errors, &place, "quantity", f, 1, 1000, &value))
		out->quantity = (int32) value;
}

static void
parse_resources(SiErrors *errors, Member *members, int count, SiPayload *result)
{
	result->resources = palloc0(sizeof(SiResourceList) * Max(count, 1));
	for (int m = 0; m < count; m++)
	{
		SiResourceList *out = &result->resources[result->nresources];
		JsonbValue *elements;
		int			n;

		elements = item_list(errors, result, SI_SECTION_RESOURCES, &members[m],
							 &out->item_id, &n);
		if (elements == NULL)
			continue;

		out->key = members[m].key;
		out->entries = palloc0(sizeof(SiResourceEntry) * Max(n, 1));
		out->count = n;
		for (int i = 0; i < n; i++)
		{
			SiPlace		entry = {SI_SECTION_RESOURCES, members[m].key, i, NULL};
			SiResourceEntry *e = &out->entries[i];

			CHECK_FOR_INTERRUPTS();
			parse_resource_entry(errors, &entry, &elements[i], e);
			for (int j = 0; j < i; j++)
			{
				SiResourceEntry *other = &out->entries[j];
				SiPlace		place;

				if (e->has_id && other->has_id && e->id == other->id)
				{
					place = field_place(&entry, "id");
					si_error(errors, &place, "duplicate",
							 "id " INT64_FORMAT " is listed twice", e->id);
				}
				if (e->resource_type_id != 0 &&
					e->resource_type_id == other->resource_type_id)
				{
					place = field_place(&entry, "resource_type_id");
					si_error(errors, &place, "duplicate",
							 "resource type " INT64_FORMAT " is listed twice",
							 e->resource_type_id);
				}
			}
		}
		result->nresources++;
	}
}

static const char *const follow_up_members[] = {
	"id", "timing_mode", "hours_after", "days_after", "time_of_day",
	"message_template", "is_enabled", "display_order", NULL
};

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* read_time_of_day reads "HH:MM" (00:00 to 23:59). */
static bool
read_time_of_day(SiErrors *errors, const SiPlace *place, const JsonbValue *v,
				 TimeADT *out)
{
	const char *s;
	int			hours;
	int			minutes;

	if (v->type != jbvString)
	{
		si_error(errors, place, "wrong_type",
				 "time_of_day must be a string, not %s", json_type_name(v));
		return false;
	}
	s = v->val.string.val;
	if (v->val.string.len != 5 || s[2] != ':' ||
		!is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[3]) || !is_digit(s[4]) ||
		(hours = (s[0] - '0') * 10 + (s[1] - '0')) > 23 ||
		(minutes = (s[3] - '0') * 10 + (s[4] - '0')) > 59)
	{
		si_error(errors, place, "invalid_value",
				 "time_of_day must be \"HH:MM\" between 00:00 and 23:59");
		return false;
	}
	*out = ((TimeADT) hours * 60 + minutes) * USECS_PER_MINUTE;
	return true;
}

static void
parse_follow_up_entry(SiErrors *errors, const SiPlace *entry,
					  const JsonbValue *v, SiFollowUpEntry *out)
{
	Member	   *members;
	int			n;
	JsonbValue *f;
	JsonbValue *hours;
	JsonbValue *days;
	JsonbValue *time;
	SiPlace		place;
	int64		value;
	bool		mode_known = false;

	members = entry_members(errors, entry, v, &n);
	if (members == NULL)
		return;
	check_members(errors, entry, members, n, follow_up_members);

	if ((f = find_member(members, n, "id")) != NULL)
	{
		place = field_place(entry, "id");
		out->has_id = read_int(errors, &place, "id", f, 1, PG_INT64_MAX, &out->id);
	}

	place = field_place(entry, "timing_mode");
	if ((f = find_member(members, n, "timing_mode")) == NULL)
		si_error(errors, &place, "required", "timing_mode is required");
	else if (f->type != jbvString)
		si_error(errors, &place, "wrong_type", "timing_mode must be a string, not %s",
				 json_type_name(f));
	else if (f->val.string.len == 11 && strncmp(f->val.string.val, "hours_after", 11) == 0)
		mode_known = true;
	else if (f->val.string.len == 13 && strncmp(f->val.string.val, "specific_time", 13) == 0)
		mode_known = out->specific_time = true;
	else
		si_error(errors, &place, "invalid_value",
				 "timing_mode must be \"hours_after\" or \"specific_time\"");

	hours = find_member(members, n, "hours_after");
	days = find_member(members, n, "days_after");
	time = find_member(members, n, "time_of_day");
	if (mode_known && !out->specific_time)
	{
		place = field_place(entry, "hours_after");
		if (hours == NULL)
			si_error(errors, &place, "required",
					 "hours_after is required when timing_mode is \"hours_after\"");
		else if (read_int(errors, &place, "hours_after", hours, 0, 8760, &value))
			out->hours_after = (int32) value;
		if (days != NULL)
		{
			place = field_place(entry, "days_after");
			si_error(errors, &place, "invalid_value",
					 "days_after must not be set when timing_mode is \"hours_after\"");
		}
		if (time != NULL)
		{
			place = field_place(entry, "time_of_day");
			si_error(errors, &place, "invalid_value",
					 "time_of_day must not be set when timing_mode is \"hours_after\"");
		}
	}
	else if (mode_known)
	{
		place = field_place(entry, "days_after");
		if (days == NULL)
			si_error(errors, &place, "required",
					 "days_after is required when timing_mode is \"specific_time\"");
		else if (read_int(errors, &place, "days_after", days, 0, 365, &value))
			out->days_after = (int32) value;
		place = field_place(entry, "time_of_day");
		if (time == NULL)
			si_error(errors, &place, "required",
					 "time_of_day is required when timing_mode is \"specific_time\"");
		else
			read_time_of_day(errors, &place, time, &out->time_of_day);
		if (hours != NULL)
		{
			place = field_place(entry, "hours_after");
			si_error(errors, &place, "invalid_value",
					 "hours_after must not be set when timing_mode is \"specific_time\"");
		}
	}

	place = field_place(entry, "message_template");
	if ((f = find_member(members, n, "message_template")) == NULL)
		si_error(errors, &place, "required", "message_template is required");
	else
		read_text(errors, &place, "message_template", f, MAX_TEMPLATE_CHARS,
				  &out->message_template);

	out->is_enabled = true;
	if ((f = find_member(members, n, "is_enabled")) != NULL)
	{
		place = field_place(entry, "is_enabled");
		read_bool(errors, &place, "is_enabled", f, &out->is_enabled);
	}

	place = field_place(entry, "display_order");
	if ((f = find_member(members, n, "display_order")) == NULL)
		si_error(errors, &place, "required", "display_order is required");
	else if (read_int(errors, &place, "display_order", f, PG_INT32_MIN,
					  PG_INT32_MAX, &value))
	{
		out->display_order = (int32) value;
		out->has_display_order = true;
	}
}

static void
parse_follow_ups(SiErrors *errors, Member *members, int count, SiPayload *result)
{
	result->follow_ups = palloc0(sizeof(SiFollowUpList) * Max(count, 1));
	for (int m = 0; m < count; m++)
	{
		SiFollowUpList *out = &result->follow_ups[result->nfollow_ups];
		JsonbValue *elements;
		int			n;

		elements = item_list(errors, result, SI_SECTION_FOLLOW_UPS, &members[m],
							 &out->item_id, &n);
		if (elements == NULL)
			continue;

		out->key = members[m].key;
		out->entries = palloc0(sizeof(SiFollowUpEntry) * Max(n, 1));
		out->count = n;
		for (int i = 0; i < n; i++)
		{
			SiPlace		entry = {SI_SECTION_FOLLOW_UPS, members[m].key, i, NULL};
			SiFollowUpEntry *e = &out->entries[i];

			CHECK_FOR_INTERRUPTS();
			parse_follow_up_entry(errors, &entry, &elements[i], e);
			for (int j = 0; j < i; j++)
			{
				SiFollowUpEntry *other = &out->entries[j];
				SiPlace		place;

				if (e->has_id && other->has_id && e->id == other->id)
				{
					place = field_place(&entry, "id");
					si_error(errors, &place, "duplicate",
							 "id " INT64_FORMAT " is listed twice", e->id);
				}
				if (e->has_display_order && other->has_display_order &&
					e->display_order == other->display_order)
				{
					place = field_place(&entry, "display_order");
					si_error(errors, &place, "duplicate",
							 "display_order %d is listed twice", e->display_order);
				}
			}
		}
		result->nfollow_ups++;
	}
}

static void
parse_versions(SiErrors *errors, Member *members, int count, SiPayload *result)
{
	result->versions = palloc0(sizeof(SiVersion) * Max(count, 1));
	for (int m = 0; m < count; m++)
	{
		SiPlace		place = {SI_SECTION_VERSIONS, members[m].key, -1, NULL};
		SiVersion  *out = &result->versions[result->nversions];

		CHECK_FOR_INTERRUPTS();
		if (members[m].value.type == jbvNull)
			continue;
		if (!read_item_key(errors, result->keys, &place, &out->item_id))
			continue;
		if (!read_int(errors, &place, "expected version", &members[m].value,
					  1, PG_INT64_MAX, &out->expected))
			continue;
		out->key = members[m].key;
		result->nversions++;
	}
}

/*
 * count_entries counts the entries a section holds (list elements, or
 * members for expected_versions) without reading them.
 */
static int64
count_entries(Member *members, int count, bool lists)
{
	int64		total = 0;

	for (int m = 0; m < count; m++)
	{
		if (!lists)
			total++;
		else if (is_array(&members[m].value))
			total += JsonContainerSize(members[m].value.val.binary.data);
	}
	return total;
}

/*
 * si_parse_payload reads a payload into result, reporting into errors every
 * problem that needs no database state.  The payload must be a JSON object
 * (the caller checks).  A payload of more than SI_MAX_PAYLOAD_ENTRIES
 * entries is refused whole, before its entries are read.
 */
void
si_parse_payload(JsonbContainer *payload, const SiKeys *keys,
				 SiPayload *result, SiErrors *errors)
{
	Member	   *top;
	int			ntop;
	Member	   *sections[SI_NUM_SECTIONS] = {NULL};
	int			counts[SI_NUM_SECTIONS] = {0};
	int64		total = 0;

	memset(result, 0, sizeof(*result));
	result->keys = keys;
	top = read_members(payload, &ntop);
	for (int i = 0; i < ntop; i++)
	{
		int			s;

		for (s = 0; s < SI_NUM_SECTIONS; s++)
			if (strcmp(top[i].key, si_section_names[s]) == 0)
				break;
		if (s == SI_NUM_SECTIONS)
		{
			si_error_at_root(errors, top[i].key, "unknown_key",
							 "unknown key \"%s\"", top[i].key);
			continue;
		}
		if (top[i].value.type == jbvNull)
			continue;
		if (!is_object(&top[i].value))
		{
			si_error_at_root(errors, top[i].key, "wrong_type",
							 "%s must be an object, not %s", top[i].key,
							 json_type_name(&top[i].value));
			continue;
		}
		sections[s] = read_members(top[i].value.val.binary.data, &counts[s]);
		total += count_entries(sections[s], counts[s], s != SI_SECTION_VERSIONS);
	}

	if (total > SI_MAX_PAYLOAD_ENTRIES)
	{
		si_error_at_root(errors, NULL, "too_many",
						 "more than %d entries in the payload (" INT64_FORMAT ")",
						 SI_MAX_PAYLOAD_ENTRIES, total);
		return;
	}

	if (sections[SI_SECTION_ASSIGNMENTS])
		parse_assignments(errors, sections[SI_SECTION_ASSIGNMENTS],
						  counts[SI_SECTION_ASSIGNMENTS], result);
	if (sections[SI_SECTION_BILLING])
		parse_billing(errors, sections[SI_SECTION_BILLING],
					  counts[SI_SECTION_BILLING], result);
	if (sections[SI_SECTION_RESOURCES])
		parse_resources(errors, sections[SI_SECTION_RESOURCES],
						counts[SI_SECTION_RESOURCES], result);
	if (sections[SI_SECTION_FOLLOW_UPS])
		parse_follow_ups(errors, sections[SI_SECTION_FOLLOW_UPS],
						 counts[SI_SECTION_FOLLOW_UPS], result);
	if (sections[SI_SECTION_VERSIONS])
		parse_versions(errors, sections[SI_SECTION_VERSIONS],
					   counts[SI_SECTION_VERSIONS], result);
}

/* ---------------------------------------------------------------------
 * The settings page: groups, service items and their associations
 * ---------------------------------------------------------------------
 */

#define MAX_CLIENT_KEY 64
#define MAX_DURATION_MINUTES 1440

static const char *const group_members[] = {
	"id", "key", "name", "display_order", NULL
};

/* "version" is what load_service_settings shows; it is accepted and ignored */
static const char *const item_members[] = {
	"id", "key", "name", "duration_minutes", "display_order",
	"service_type_group_id", "version", NULL
};

/*
 * is_client_key tells whether s is a client key: "new:" and 1 to 64 letters,
 * digits, underscores or dashes.
 */
static bool
is_client_key(const char *s, int len)
{
	if (len <= 4 || len > 4 + MAX_CLIENT_KEY || strncmp(s, "new:", 4) != 0)
		return false;
	for (int i = 4; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			  is_digit(s[i]) || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/*
 * read_identity reads an entry's "id" (an existing row) or "key" (a new one):
 * exactly one of them.
 */
static void
read_identity(SiErrors *errors, const SiPlace *entry, Member *members, int n,
			  bool *has_id, int64 *id, const char **key)
{
	JsonbValue *f_id = find_member(members, n, "id");
	JsonbValue *f_key = find_member(members, n, "key");
	SiPlace		place;

	if (f_id != NULL && f_key != NULL)
	{
		place = field_place(entry, "key");
		si_error(errors, &place, "invalid_value",
				 "an entry has either an id (a row to update) or a key (a row to create), not both");
		return;
	}
	if (f_id == NULL && f_key == NULL)
	{
		place = field_place(entry, "id");
		si_error(errors, &place, "required",
				 "id (a row to update) or key (a row to create) is required");
		return;
	}
	if (f_id != NULL)
	{
		place = field_place(entry, "id");
		*has_id = read_int(errors, &place, "id", f_id, 1, PG_INT64_MAX, id);
		return;
	}
	place = field_place(entry, "key");
	if (f_key->type != jbvString)
		si_error(errors, &place, "wrong_type", "key must be a string, not %s",
				 json_type_name(f_key));
	else if (!is_client_key(f_key->val.string.val, f_key->val.string.len))
		si_error(errors, &place, "bad_key",
				 "key must be \"new:\" followed by 1 to %d letters, digits, underscores or dashes",
				 MAX_CLIENT_KEY);
	else
		*key = pnstrdup(f_key->val.string.val, f_key->val.string.len);
}

/* read_order reads a required display_order (any int4). */
static void
read_order(SiErrors *errors, const SiPlace *entry, Member *members, int n,
		   int32 *out)
{
	SiPlace		place = field_place(entry, "display_order");
	JsonbValue *f = find_member(members, n, "display_order");
	int64		value;

	if (f == NULL)
		si_error(errors, &place, "required", "display_order is required");
	else if (read_int(errors, &place, "display_order", f, PG_INT32_MIN,
					  PG_INT32_MAX, &value))
		*out = (int32) value;
}

/* read_name reads a required name. */
static void
read_name(SiErrors *errors, const SiPlace *entry, Member *members, int n,
		  char **out)
{
	SiPlace		place = field_place(entry, "name");
	JsonbValue *f = find_member(members, n, "name");

	if (f == NULL)
		si_error(errors, &place, "required", "name is required");
	else
		read_text(errors, &place, "name", f, MAX_NAME_CHARS, out);
}

/*
 * check_identities reports an id or key that two entries of a list share.
 */
static void
check_identities(SiErrors *errors, SiSection section, int i, bool has_id,
				 int64 id, const char *key, bool other_has_id, int64 other_id,
				 const char *other_key)
{
	SiPlace		place = {section, NULL, i, NULL};

	if (has_id && other_has_id && id == other_id)
	{
		place.field = "id";
		si_error(errors, &place, "duplicate", "id " INT64_FORMAT " is listed twice", id);
	}
	if (key != NULL && other_key != NULL && strcmp(key, other_key) == 0)
	{
		place.field = "key";
		si_error(errors, &place, "duplicate", "key \"%s\" is listed twice", key);
	}
}

static void
parse_groups(SiErrors *errors, const JsonbValue *v, SiSettingsPayload *result)
{
	JsonbValue *elements;
	int			n;

	elements = read_elements(v->val.binary.data, &n);
	result->groups = palloc0(sizeof(SiGroupEntry) * Max(n, 1));
	result->ngroups = n;
	for (int i = 0; i < n; i++)
	{
		SiPlace		entry = {SI_SECTION_GROUPS, NULL, i, NULL};
		SiGroupEntry *g = &result->groups[i];
		Member	   *members;
		int			nm;

		CHECK_FOR_INTERRUPTS();
		members = entry_members(errors, &entry, &elements[i], &nm);
		if (members == NULL)
			continue;
		check_members(errors, &entry, members, nm, group_members);
		read_identity(errors, &entry, members, nm, &g->has_id, &g->id, &g->key);
		read_name(errors, &entry, members, nm, &g->name);
		read_order(errors, &entry, members, nm, &g->display_order);
		for (int j = 0; j < i; j++)
			check_identities(errors, SI_SECTION_GROUPS, i, g->has_id, g->id, g->key,
							 result->groups[j].has_id, result->groups[j].id,
							 result->groups[j].key);
	}
}

static void
parse_items(SiErrors *errors, const JsonbValue *v, SiSettingsPayload *result)
{
	JsonbValue *elements;
	int			n;

	elements = read_elements(v->val.binary.data, &n);
	result->items = palloc0(sizeof(SiItemEntry) * Max(n, 1));
	result->nitems = n;
	for (int i = 0; i < n; i++)
	{
		SiPlace		entry = {SI_SECTION_ITEMS, NULL, i, NULL};
		SiItemEntry *item = &result->items[i];
		Member	   *members;
		int			nm;
		JsonbValue *f;
		SiPlace		place;
		int64		value;

		CHECK_FOR_INTERRUPTS();
		members = entry_members(errors, &entry, &elements[i], &nm);
		if (members == NULL)
			continue;
		check_members(errors, &entry, members, nm, item_members);
		read_identity(errors, &entry, members, nm, &item->has_id, &item->id,
					  &item->key);
		read_name(errors, &entry, members, nm, &item->name);
		read_order(errors, &entry, members, nm, &item->display_order);

		place = field_place(&entry, "duration_minutes");
		if ((f = find_member(members, nm, "duration_minutes")) == NULL)
			si_error(errors, &place, "required", "duration_minutes is required");
		else if (read_int(errors, &place, "duration_minutes", f, 1,
						  MAX_DURATION_MINUTES, &value))
			item->duration_minutes = (int32) value;

		place = field_place(&entry, "service_type_group_id");
		if ((f = find_member(members, nm, "service_type_group_id")) == NULL)
			item->group_ref = SI_GROUP_NONE;
		else if (f->type == jbvString)
		{
			if (is_client_key(f->val.string.val, f->val.string.len))
			{
				item->group_ref = SI_GROUP_KEY;
				item->group_key = pnstrdup(f->val.string.val, f->val.string.len);
			}
			else
				si_error(errors, &place, "bad_key",
						 "a new group is named by its key, \"new:...\"");
		}
		else if (read_int(errors, &place, "service_type_group_id", f, 1,
						  PG_INT64_MAX, &item->group_id))
			item->group_ref = SI_GROUP_ID;

		for (int j = 0; j < i; j++)
			check_identities(errors, SI_SECTION_ITEMS, i, item->has_id, item->id,
							 item->key, result->items[j].has_id, result->items[j].id,
							 result->items[j].key);
	}
}

/*
 * si_parse_settings reads a save_service_settings payload: the groups and
 * service items lists and the associations payload, in which new items may
 * be named by their client keys (each given a negative placeholder id until
 * it is inserted).  Association errors have paths under $.associations.
 */
void
si_parse_settings(Jsonb *payload, SiSettingsPayload *result, SiErrors *errors)
{
	Member	   *top;
	int			ntop;
	const JsonbValue *associations = NULL;
	int64		total = 0;

	memset(result, 0, sizeof(*result));
	top = read_members(&payload->root, &ntop);
	for (int i = 0; i < ntop; i++)
	{
		const JsonbValue *v = &top[i].value;
		bool		groups = strcmp(top[i].key, "service_type_groups") == 0;
		bool		items = strcmp(top[i].key, "service_items") == 0;

		if (!groups && !items && strcmp(top[i].key, "associations") != 0)
		{
			si_error_at_root(errors, top[i].key, "unknown_key",
							 "unknown key \"%s\"", top[i].key);
			continue;
		}
		if (v->type == jbvNull)
			continue;
		if ((groups || items) && !is_array(v))
		{
			si_error_at_root(errors, top[i].key, "wrong_type",
							 "%s must be an array, not %s", top[i].key,
							 json_type_name(v));
			continue;
		}
		if (!groups && !items && !is_object(v))
		{
			si_error_at_root(errors, top[i].key, "wrong_type",
							 "associations must be an object, not %s",
							 json_type_name(v));
			continue;
		}
		if (groups || items)
			total += JsonContainerSize(v->val.binary.data);
		if (groups)
			parse_groups(errors, v, result);
		else if (items)
			parse_items(errors, v, result);
		else
			associations = v;
		result->has_groups |= groups;
		result->has_items |= items;
	}
	if (total > SI_MAX_PAYLOAD_ENTRIES)
	{
		si_error_at_root(errors, NULL, "too_many",
						 "more than %d entries in the payload (" INT64_FORMAT ")",
						 SI_MAX_PAYLOAD_ENTRIES, total);
		return;
	}

	/* new items' keys, usable in the associations */
	result->item_keys.keys = palloc(sizeof(char *) * Max(result->nitems, 1));
	result->item_keys.ids = palloc(sizeof(int64) * Max(result->nitems, 1));
	for (int i = 0; i < result->nitems; i++)
	{
		SiItemEntry *item = &result->items[i];

		if (item->key == NULL)
			continue;
		item->new_id = -(int64) (result->item_keys.count + 1);
		result->item_keys.keys[result->item_keys.count] = item->key;
		result->item_keys.ids[result->item_keys.count++] = item->new_id;
	}

	if (associations != NULL)
	{
		errors->prefix = "$.associations";
		si_parse_payload(associations->val.binary.data, &result->item_keys,
						 &result->associations, errors);
		errors->prefix = NULL;
	}
	else
		result->associations.keys = &result->item_keys;
}
