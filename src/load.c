/*
 * load.c
 *		Set-oriented reads of a clinic's service item associations.
 *
 * One query per table, whatever the number of items: the live items in
 * display order, then the assignments, billing scenarios, resource
 * requirements and follow-up messages of the clinic (or of the requested
 * items), each ordered by service item.  The rows are merged by item in one
 * pass over each result, against the items sorted by id.  Nothing here writes
 * or knows about JSON; json_out.c turns the result into text.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "load.h"
#include "plans.h"

/* the widest row any load query returns */
#define MAX_LOAD_COLUMNS 9

/* A section being merged: the items sorted by id, and a cursor into them. */
typedef struct MergeCursor
{
	SiItem	   *items;
	int		   *by_id;			/* item indexes in ascending id order */
	int			nitems;
	int			next;			/* first by_id position not yet passed */
} MergeCursor;

static int
compare_item_ids(const void *a, const void *b, void *arg)
{
	const SiItem *items = (const SiItem *) arg;
	int64		ida = items[*(const int *) a].id;
	int64		idb = items[*(const int *) b].id;

	return (ida > idb) - (ida < idb);
}

/*
 * merge_find_item returns the item a row of appointment_type_id belongs to,
 * or NULL when that item was not loaded (deleted, or not requested).  Rows
 * must come in ascending appointment_type_id order.
 */
static SiItem *
merge_find_item(MergeCursor *cursor, int64 appointment_type_id)
{
	while (cursor->next < cursor->nitems &&
		   cursor->items[cursor->by_id[cursor->next]].id < appointment_type_id)
		cursor->next++;
	if (cursor->next < cursor->nitems &&
		cursor->items[cursor->by_id[cursor->next]].id == appointment_type_id)
		return &cursor->items[cursor->by_id[cursor->next]];
	return NULL;
}

/* merge_start rewinds a cursor for the next section. */
static void
merge_start(MergeCursor *cursor)
{
	cursor->next = 0;
}

/*
 * range_add appends position pos to an item's run of a section.  The rows of
 * one item arrive together, so the run stays contiguous.
 */
static inline void
range_add(SiRange *range, int pos)
{
	if (range->count == 0)
		range->first = pos;
	range->count++;
}

/* text_value returns a text column as an untoasted varlena. */
static inline struct varlena *
text_value(Datum value)
{
	return pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));
}

/*
 * numeric_slow_cents converts a numeric to whole cents with numeric
 * arithmetic; it rounds beyond two decimals.
 */
static int64
numeric_slow_cents(Datum value)
{
	Datum		hundred = DirectFunctionCall1(int8_numeric, Int64GetDatum(100));
	Datum		cents = DirectFunctionCall2(numeric_mul, value, hundred);

	return DatumGetInt64(DirectFunctionCall1(numeric_int8, cents));
}

/*
 * numeric_to_cents converts a numeric(10,2) amount to whole cents.
 *
 * Multiplying by 100 and casting to bigint in the query cost more than all
 * the rest of the billing section, so this reads the digits of PostgreSQL's
 * on-disk numeric format directly: a 16-bit header (short form: sign,
 * display scale and a 6-bit weight; long form: sign and scale, then a 16-bit
 * weight) followed by base-10000 digits, the first of weight "weight".  That
 * format is fixed by pg_upgrade's promise that data files stay readable.
 * Anything this does not expect (NaN, infinities, more than two decimals, a
 * value too large for cents in 64 bits) takes numeric_slow_cents instead.
 */
static int64
numeric_to_cents(Datum value)
{
	struct varlena *v = text_value(value);
	const char *data = VARDATA_ANY(v);
	int			nbytes = VARSIZE_ANY_EXHDR(v);
	uint16		header;
	int16		weight;
	int			first;
	bool		negative;
	int64		cents = 0;

	if (nbytes < (int) sizeof(uint16))
		return numeric_slow_cents(value);
	memcpy(&header, data, sizeof(uint16));
	if ((header & 0xC000) == 0xC000)
		return numeric_slow_cents(value);	/* NaN or infinity */
	if (header & 0x8000)
	{
		/* short form: sign 0x2000, weight sign 0x0040, weight 0x003F */
		negative = (header & 0x2000) != 0;
		weight = (int16) (header & 0x003F);
		if (header & 0x0040)
			weight = (int16) (weight | ~0x003F);
		first = sizeof(uint16);
	}
	else
	{
		/* long form: sign 0x4000, then the weight as its own int16 */
		if (nbytes < (int) (2 * sizeof(uint16)))
			return numeric_slow_cents(value);
		negative = (header & 0x4000) != 0;
		memcpy(&weight, data + sizeof(uint16), sizeof(int16));
		first = 2 * sizeof(uint16);
	}

	for (int i = 0; first + i * (int) sizeof(int16) < nbytes; i++)
	{
		int16		digit;
		int			exponent = weight - i;

		memcpy(&digit, data + first + i * sizeof(int16), sizeof(int16));
		if (exponent > 3 || digit < 0 || digit > 9999)
			return numeric_slow_cents(value);
		if (exponent >= 0)
		{
			int64		scale = 100;

			for (int e = 0; e < exponent; e++)
				scale *= 10000;
			cents += digit * scale;
		}
		else if (exponent == -1 && digit % 100 == 0)
			cents += digit / 100;
		else if (digit != 0)
			return numeric_slow_cents(value);
	}
	return negative ? -cents : cents;
}

/*
 * run_section executes one load query: the "all" variant for a whole clinic,
 * the "some" variant when the caller named items.
 */
static uint64
run_section(const SiLoadRequest *request, SiPlanId all, SiPlanId some)
{
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	values[0] = Int64GetDatum(request->clinic_id);
	if (request->item_ids == NULL)
		return si_execute(all, values, nulls, request->read_only,
						  SPI_OK_SELECT);
	values[1] = PointerGetDatum(request->item_ids);
	return si_execute(some, values, nulls, request->read_only, SPI_OK_SELECT);
}

/*
 * deform_row reads row i of the last SPI result into values/nulls.
 */
static inline void
deform_row(uint64 i, Datum *values, bool *nulls)
{
	heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
					  values, nulls);
}

static void
load_items(const SiLoadRequest *request, SiAssociations *result)
{
	uint64		n;
	Datum		values[MAX_LOAD_COLUMNS];
	bool		nulls[MAX_LOAD_COLUMNS];

	n = run_section(request, SI_PLAN_ITEMS_ALL, SI_PLAN_ITEMS_SOME);
	result->nitems = (int) n;
	result->items = palloc0(sizeof(SiItem) * (n > 0 ? n : 1));
	for (uint64 i = 0; i < n; i++)
	{
		SiItem	   *item = &result->items[i];

		CHECK_FOR_INTERRUPTS();
		deform_row(i, values, nulls);
		item->id = DatumGetInt64(values[0]);
		item->version = DatumGetInt64(values[1]);
	}
	SPI_freetuptable(SPI_tuptable);
}

static void
load_assignments(const SiLoadRequest *request, SiAssociations *result,
				 MergeCursor *cursor)
{
	uint64		n;
	int			pos = 0;
	Datum		values[MAX_LOAD_COLUMNS];
	bool		nulls[MAX_LOAD_COLUMNS];

	n = run_section(request, SI_PLAN_ASSIGNMENTS_ALL, SI_PLAN_ASSIGNMENTS_SOME);
	result->assignments = palloc(sizeof(int64) * (n > 0 ? n : 1));
	merge_start(cursor);
	for (uint64 i = 0; i < n; i++)
	{
		SiItem	   *item;

		CHECK_FOR_INTERRUPTS();
		deform_row(i, values, nulls);
		item = merge_find_item(cursor, DatumGetInt64(values[0]));
		if (item == NULL)
			continue;
		result->assignments[pos] = DatumGetInt64(values[1]);
		range_add(&item->assignments, pos++);
	}
	result->nassignments = pos;
	result->total_rows += pos;
	SPI_freetuptable(SPI_tuptable);
}

/*
 * is_assigned tells whether a practitioner is in an item's (sorted)
 * assignments.  Billing scenarios are shown only for assigned practitioners:
 * the save keeps that true, but rows written around it might not.
 */
static bool
is_assigned(const SiAssociations *result, const SiItem *item,
			int64 practitioner_id)
{
	int			lo = item->assignments.first;
	int			hi = lo + item->assignments.count - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int64		p = result->assignments[mid];

		if (p == practitioner_id)
			return true;
		if (p < practitioner_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

static void
load_billing(const SiLoadRequest *request, SiAssociations *result,
			 MergeCursor *cursor)
{
	uint64		n;
	int			pos = 0;
	Datum		values[MAX_LOAD_COLUMNS];
	bool		nulls[MAX_LOAD_COLUMNS];

	n = run_section(request, SI_PLAN_BILLING_ALL, SI_PLAN_BILLING_SOME);
	result->billing = palloc(sizeof(SiBilling) * (n > 0 ? n : 1));
	merge_start(cursor);
	for (uint64 i = 0; i < n; i++)
	{
		SiItem	   *item;
		SiBilling  *b;
		int64		practitioner_id;

		CHECK_FOR_INTERRUPTS();
		deform_row(i, values, nulls);
		item = merge_find_item(cursor, DatumGetInt64(values[0]));
		if (item == NULL)
			continue;
		practitioner_id = DatumGetInt64(values[1]);
		if (!is_assigned(result, item, practitioner_id))
			continue;
		b = &result->billing[pos];
		b->practitioner_id = practitioner_id;
		b->id = DatumGetInt64(values[2]);
		b->is_default = DatumGetBool(values[3]);
		b->amount_cents = numeric_to_cents(values[4]);
		b->share_cents = numeric_to_cents(values[5]);
		b->name = text_value(values[6]);
		range_add(&item->billing, pos++);
	}
	result->nbilling = pos;
	result->total_rows += pos;
}

static void
load_resources(const SiLoadRequest *request, SiAssociations *result,
			   MergeCursor *cursor)
{
	uint64		n;
	int			pos = 0;
	Datum		values[MAX_LOAD_COLUMNS];
	bool		nulls[MAX_LOAD_COLUMNS];

	n = run_section(request, SI_PLAN_RESOURCES_ALL, SI_PLAN_RESOURCES_SOME);
	result->resources = palloc(sizeof(SiResource) * (n > 0 ? n : 1));
	merge_start(cursor);
	for (uint64 i = 0; i < n; i++)
	{
		SiItem	   *item;
		SiResource *r;

		CHECK_FOR_INTERRUPTS();
		deform_row(i, values, nulls);
		item = merge_find_item(cursor, DatumGetInt64(values[0]));
		if (item == NULL)
			continue;
		r = &result->resources[pos];
		r->id = DatumGetInt64(values[1]);
		r->resource_type_id = DatumGetInt64(values[2]);
		r->quantity = DatumGetInt32(values[3]);
		r->type_name = text_value(values[4]);
		range_add(&item->resources, pos++);
	}
	result->nresources = pos;
	result->total_rows += pos;
}

static void
load_follow_ups(const SiLoadRequest *request, SiAssociations *result,
				MergeCursor *cursor)
{
	uint64		n;
	int			pos = 0;
	Datum		values[MAX_LOAD_COLUMNS];
	bool		nulls[MAX_LOAD_COLUMNS];

	n = run_section(request, SI_PLAN_FOLLOW_UPS_ALL, SI_PLAN_FOLLOW_UPS_SOME);
	result->follow_ups = palloc(sizeof(SiFollowUp) * (n > 0 ? n : 1));
	merge_start(cursor);
	for (uint64 i = 0; i < n; i++)
	{
		SiItem	   *item;
		SiFollowUp *f;

		CHECK_FOR_INTERRUPTS();
		deform_row(i, values, nulls);
		item = merge_find_item(cursor, DatumGetInt64(values[0]));
		if (item == NULL)
			continue;
		f = &result->follow_ups[pos];
		f->id = DatumGetInt64(values[1]);
		f->display_order = DatumGetInt32(values[2]);
		f->is_enabled = DatumGetBool(values[3]);
		f->specific_time = DatumGetBool(values[4]);
		f->hours_after = nulls[5] ? 0 : DatumGetInt32(values[5]);
		f->days_after = nulls[6] ? 0 : DatumGetInt32(values[6]);
		f->time_of_day = nulls[7] ? 0 : DatumGetTimeADT(values[7]);
		f->message_template = text_value(values[8]);
		range_add(&item->follow_ups, pos++);
	}
	result->nfollow_ups = pos;
	result->total_rows += pos;
}

/*
 * si_load_associations reads the associations a request asks for into
 * result.  SPI must be connected; the result points into SPI tuple tables
 * and lives until SPI_finish.  It runs at most five queries.
 */
void
si_load_associations(const SiLoadRequest *request, SiAssociations *result)
{
	MergeCursor cursor;

	memset(result, 0, sizeof(*result));
	result->request = request;

	load_items(request, result);
	if (result->nitems == 0)
		return;					/* nothing to attach anything to */

	cursor.items = result->items;
	cursor.nitems = result->nitems;
	cursor.by_id = palloc(sizeof(int) * result->nitems);
	for (int i = 0; i < result->nitems; i++)
		cursor.by_id[i] = i;
	qsort_arg(cursor.by_id, result->nitems, sizeof(int), compare_item_ids,
			  result->items);

	load_assignments(request, result, &cursor);
	if (request->billing)
		load_billing(request, result, &cursor);
	if (request->resources)
		load_resources(request, result, &cursor);
	if (request->follow_ups)
		load_follow_ups(request, result, &cursor);
	result->total_rows += result->nitems;
}
