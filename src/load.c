/*
 * load.c
 *		Set-oriented reads of a clinic's service item associations.
 *
 * One query per table, whatever the number of items: the live items in
 * display order, the clinic's active practitioners, then the assignments,
 * billing scenarios, resource types, resource requirements and follow-up
 * messages of the clinic (or of the requested items).  Rows go straight
 * from the executor to a DestReceiver here (no SPI tuple table is built).
 * The section queries have no ORDER BY: each row finds its item by binary
 * search over the items sorted by id, and once a section is read its rows
 * are grouped by item (a counting sort) and ordered within each item in C.
 * So no plan needs a Sort node, and the planner is free to read each table
 * the cheapest way.  Nothing here writes or knows about JSON; json_out.c
 * turns the result into text.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "load.h"
#include "numeric.h"
#include "plans.h"

/*
 * A DestReceiver that hands each row of one load query to a handler, which
 * appends it to the result and notes which item it belongs to.
 */
typedef struct LoadReceiver
{
	DestReceiver pub;
	SiAssociations *result;
	int		   *by_id;			/* item indexes in ascending id order */
	int			capacity;		/* of the section array being filled */
	int		   *row_items;		/* item index of each row of the section */
	int			row_capacity;
	void		(*handle) (struct LoadReceiver *self, Datum *values, bool *nulls);
} LoadReceiver;

static int
compare_item_ids(const void *a, const void *b, void *arg)
{
	const SiItem *items = (const SiItem *) arg;
	int64		ida = items[*(const int *) a].id;
	int64		idb = items[*(const int *) b].id;

	return (ida > idb) - (ida < idb);
}

/*
 * item_index returns the index of the loaded item a row of
 * appointment_type_id belongs to, or -1 when that item was not loaded
 * (deleted, or not requested).
 */
static int
item_index(LoadReceiver *self, int64 appointment_type_id)
{
	const SiItem *items = self->result->items;
	int			lo = 0;
	int			hi = self->result->nitems - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int64		id = items[self->by_id[mid]].id;

		if (id == appointment_type_id)
			return self->by_id[mid];
		if (id < appointment_type_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* note_row records that row pos of the section belongs to item index. */
static void
note_row(LoadReceiver *self, int pos, int index)
{
	if (pos >= self->row_capacity)
	{
		self->row_capacity = Max(self->row_capacity * 2, 64);
		self->row_items = repalloc_huge(self->row_items,
										(Size) self->row_capacity * sizeof(int));
	}
	self->row_items[pos] = index;
}

/*
 * group_by_item reorders a section's rows (count of them, size bytes each)
 * so that each item's rows are contiguous, sets each item's range (the
 * SiRange at range_offset in SiItem), sorts each item's rows with compare,
 * and returns the new array.
 */
static void *
group_by_item(LoadReceiver *self, void *rows, int count, size_t size,
			  size_t range_offset, int (*compare) (const void *, const void *))
{
	SiAssociations *result = self->result;
	int			nitems = result->nitems;
	int		   *start = palloc0(sizeof(int) * (nitems + 1));
	char	   *grouped = palloc_extended(Max(size * count, size), MCXT_ALLOC_HUGE);

	for (int i = 0; i < count; i++)
		start[self->row_items[i] + 1]++;
	for (int k = 0; k < nitems; k++)
	{
		SiRange    *range = (SiRange *) ((char *) &result->items[k] + range_offset);

		start[k + 1] += start[k];
		range->first = start[k];
		range->count = 0;
	}
	for (int i = 0; i < count; i++)
	{
		SiRange    *range = (SiRange *) ((char *) &result->items[self->row_items[i]] +
										 range_offset);

		memcpy(grouped + (size_t) (range->first + range->count++) * size,
			   (char *) rows + (size_t) i * size, size);
	}
	for (int k = 0; k < nitems; k++)
	{
		SiRange    *range = (SiRange *) ((char *) &result->items[k] + range_offset);

		CHECK_FOR_INTERRUPTS();
		if (range->count > 1)
			qsort(grouped + (size_t) range->first * size, range->count, size, compare);
	}
	pfree(start);
	pfree(rows);
	return grouped;
}

/* The orders within an item: SPEC §4. */

/* si_compare_int64 orders bigints ascending (qsort). */
int
si_compare_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static int
compare_billing(const void *a, const void *b)
{
	const SiBilling *x = (const SiBilling *) a;
	const SiBilling *y = (const SiBilling *) b;

	if (x->practitioner_id != y->practitioner_id)
		return (x->practitioner_id > y->practitioner_id) ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

static int
compare_resources(const void *a, const void *b)
{
	const SiResource *x = (const SiResource *) a;
	const SiResource *y = (const SiResource *) b;

	return (x->id > y->id) - (x->id < y->id);
}

static int
compare_follow_ups(const void *a, const void *b)
{
	const SiFollowUp *x = (const SiFollowUp *) a;
	const SiFollowUp *y = (const SiFollowUp *) b;

	if (x->display_order != y->display_order)
		return (x->display_order > y->display_order) ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

/*
 * make_room returns array, grown (doubled) if needed to hold one more
 * element after count of them.
 */
static void *
make_room(LoadReceiver *self, void *array, int count, size_t size)
{
	if (count < self->capacity)
		return array;
	self->capacity = Max(self->capacity * 2, 64);
	return repalloc_huge(array, (Size) self->capacity * size);
}

/* store_text copies a text value into the result's arena. */
static SiText
store_text(SiAssociations *result, Datum value)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(value);
	struct varlena *plain = pg_detoast_datum_packed(raw);
	SiText		text;

	text.offset = result->text.len;
	text.len = VARSIZE_ANY_EXHDR(plain);
	appendBinaryStringInfo(&result->text, VARDATA_ANY(plain), text.len);
	appendStringInfoChar(&result->text, '\0');
	if (plain != raw)
		pfree(plain);
	return text;
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

/* numeric_to_cents converts a numeric(10,2) amount to whole cents. */
static int64
numeric_to_cents(Datum value)
{
	int64		cents;

	/* not DatumGetNumeric: that would copy every short-header value */
	if (si_numeric_scaled((Numeric) DatumGetPointer(value), 2, &cents))
		return cents;
	return numeric_slow_cents(value);
}

/* Row handlers: one per query, each appending one row to the result. */

static void
item_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;
	SiItem	   *item;

	result->items = make_room(self, result->items, result->nitems, sizeof(SiItem));
	item = &result->items[result->nitems++];
	memset(item, 0, sizeof(*item));
	item->id = DatumGetInt64(values[0]);
	item->version = DatumGetInt64(values[1]);
	if (result->request->details)
	{
		item->has_group = !nulls[2];
		item->group_id = nulls[2] ? 0 : DatumGetInt64(values[2]);
		item->duration_minutes = DatumGetInt32(values[3]);
		item->display_order = DatumGetInt32(values[4]);
		item->name = store_text(result, values[5]);
	}
}

static void
clinic_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;

	result->has_clinic = true;
	result->clinic_name = store_text(result, values[0]);
}

static void
group_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;
	int			n = result->ngroups;

	if (n >= self->capacity)
	{
		result->group_ids = make_room(self, result->group_ids, n, sizeof(int64));
		result->group_orders = repalloc(result->group_orders,
										self->capacity * sizeof(int32));
		result->group_names = repalloc(result->group_names,
									   self->capacity * sizeof(SiText));
	}
	result->group_ids[n] = DatumGetInt64(values[0]);
	result->group_orders[n] = DatumGetInt32(values[1]);
	result->group_names[n] = store_text(result, values[2]);
	result->ngroups++;
}

/* si_sorted_find returns the position of value in a sorted array, or -1. */
int
si_sorted_find(const int64 *values, int count, int64 value)
{
	int			lo = 0;
	int			hi = count - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (values[mid] == value)
			return mid;
		if (values[mid] < value)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static void
practitioner_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;

	int			n = result->npractitioners;

	if (n >= self->capacity && result->request->details)
		result->practitioner_names = repalloc(result->practitioner_names,
											  Max(self->capacity * 2, 64) * sizeof(SiText));
	result->practitioners = make_room(self, result->practitioners, n,
									  sizeof(int64));
	result->practitioners[n] = DatumGetInt64(values[0]);
	if (result->request->details)
		result->practitioner_names[n] = store_text(result, values[1]);
	result->npractitioners++;
}

/* Assignments of members who are not active practitioners are not shown. */
static void
assignment_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;
	int			index = item_index(self, DatumGetInt64(values[0]));

	if (index < 0 ||
		si_sorted_find(result->practitioners, result->npractitioners,
					DatumGetInt64(values[1])) < 0)
		return;
	result->assignments = make_room(self, result->assignments,
									result->nassignments, sizeof(int64));
	result->assignments[result->nassignments] = DatumGetInt64(values[1]);
	note_row(self, result->nassignments++, index);
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
	return si_sorted_find(result->assignments + item->assignments.first,
					   item->assignments.count, practitioner_id) >= 0;
}

static void
billing_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;
	int			index = item_index(self, DatumGetInt64(values[0]));
	int64		practitioner_id = DatumGetInt64(values[1]);
	SiBilling  *b;

	if (index < 0 || !is_assigned(result, &result->items[index], practitioner_id))
		return;
	result->billing = make_room(self, result->billing, result->nbilling,
								sizeof(SiBilling));
	b = &result->billing[result->nbilling];
	b->practitioner_id = practitioner_id;
	b->id = DatumGetInt64(values[2]);
	b->is_default = DatumGetBool(values[3]);
	b->amount_cents = numeric_to_cents(values[4]);
	b->share_cents = numeric_to_cents(values[5]);
	b->name = store_text(result, values[6]);
	note_row(self, result->nbilling++, index);
}

static void
resource_type_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;
	int			n = result->nresource_types;

	if (n >= self->capacity)
	{
		result->resource_type_ids = make_room(self, result->resource_type_ids,
											  n, sizeof(int64));
		result->resource_type_names = repalloc(result->resource_type_names,
											   self->capacity * sizeof(SiText));
	}
	result->resource_type_ids[n] = DatumGetInt64(values[0]);
	result->resource_type_names[n] = store_text(result, values[1]);
	result->nresource_types++;
}

/* The type's name comes from the clinic's resource types read before. */
static void
resource_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;
	int			index = item_index(self, DatumGetInt64(values[0]));
	int64		type_id = DatumGetInt64(values[2]);
	int			type;
	SiResource *r;

	if (index < 0)
		return;
	type = si_sorted_find(result->resource_type_ids, result->nresource_types, type_id);
	if (type < 0)
		return;					/* the foreign key makes this impossible */
	result->resources = make_room(self, result->resources, result->nresources,
								  sizeof(SiResource));
	r = &result->resources[result->nresources];
	r->id = DatumGetInt64(values[1]);
	r->resource_type_id = type_id;
	r->quantity = DatumGetInt32(values[3]);
	r->type_name = result->resource_type_names[type];
	note_row(self, result->nresources++, index);
}

static void
follow_up_row(LoadReceiver *self, Datum *values, bool *nulls)
{
	SiAssociations *result = self->result;
	int			index = item_index(self, DatumGetInt64(values[0]));
	SiFollowUp *f;

	if (index < 0)
		return;
	result->follow_ups = make_room(self, result->follow_ups, result->nfollow_ups,
								   sizeof(SiFollowUp));
	f = &result->follow_ups[result->nfollow_ups];
	f->id = DatumGetInt64(values[1]);
	f->display_order = DatumGetInt32(values[2]);
	f->is_enabled = DatumGetBool(values[3]);
	f->specific_time = DatumGetBool(values[4]);
	f->hours_after = nulls[5] ? 0 : DatumGetInt32(values[5]);
	f->days_after = nulls[6] ? 0 : DatumGetInt32(values[6]);
	f->time_of_day = nulls[7] ? 0 : DatumGetTimeADT(values[7]);
	f->message_template = store_text(result, values[8]);
	note_row(self, result->nfollow_ups++, index);
}

/* The DestReceiver callbacks. */

static bool
receive_row(TupleTableSlot *slot, DestReceiver *self)
{
	LoadReceiver *receiver = (LoadReceiver *) self;

	CHECK_FOR_INTERRUPTS();
	slot_getallattrs(slot);
	receiver->handle(receiver, slot->tts_values, slot->tts_isnull);
	return true;
}

static void
receive_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
receive_nothing(DestReceiver *self)
{
}

/*
 * run_section executes one load query into the result: the "all" variant
 * for a whole clinic, the "some" variant when the caller named items (the
 * two are the same statement for the clinic-wide lookups).
 */
static void
run_section(const SiLoadRequest *request, LoadReceiver *receiver,
			SiPlanId all, SiPlanId some,
			void (*handle) (LoadReceiver *, Datum *, bool *))
{
	Datum		values[2];

	receiver->handle = handle;
	receiver->capacity = 0;
	values[0] = Int64GetDatum(request->clinic_id);
	values[1] = PointerGetDatum(request->item_ids);
	si_execute_to(request->item_ids ? some : all, values, request->read_only,
				  &receiver->pub);
}

/* run_lookup executes one of the clinic-wide lookups into the result. */
static void
run_lookup(const SiLoadRequest *request, LoadReceiver *receiver, SiPlanId plan,
		   void (*handle) (LoadReceiver *, Datum *, bool *))
{
	run_section(request, receiver, plan, plan, handle);
}

/*
 * si_load_associations reads the associations a request asks for into
 * result, in the current memory context.  SPI must be connected.  It runs
 * at most seven queries, one per table.
 */
void
si_load_associations(const SiLoadRequest *request, SiAssociations *result)
{
	LoadReceiver receiver;

	memset(result, 0, sizeof(*result));
	result->request = request;
	initStringInfo(&result->text);

	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = receive_row;
	receiver.pub.rStartup = receive_startup;
	receiver.pub.rShutdown = receive_nothing;
	receiver.pub.rDestroy = receive_nothing;
	/* any tag but DestNone and DestSPI makes SPI answer SPI_OK_SELECT */
	receiver.pub.mydest = DestTuplestore;
	receiver.result = result;

	if (request->details)
	{
		Assert(request->item_ids == NULL);
		run_lookup(request, &receiver, SI_PLAN_CLINIC, clinic_row);
		result->group_ids = palloc(sizeof(int64));
		result->group_orders = palloc(sizeof(int32));
		result->group_names = palloc(sizeof(SiText));
		run_lookup(request, &receiver, SI_PLAN_GROUPS, group_row);
	}
	result->items = palloc(sizeof(SiItem));
	run_section(request, &receiver,
				request->details ? SI_PLAN_ITEMS_DETAILED : SI_PLAN_ITEMS_ALL,
				SI_PLAN_ITEMS_SOME, item_row);
	if (result->nitems == 0 && !request->lookups && !request->details)
		return;					/* nothing to attach anything to */
	result->practitioners = palloc(sizeof(int64));
	result->practitioner_names = palloc(sizeof(SiText));
	run_lookup(request, &receiver,
			   request->details ? SI_PLAN_PRACTITIONERS_NAMED : SI_PLAN_PRACTITIONERS,
			   practitioner_row);
	if (request->resources)
	{
		result->resource_type_ids = palloc(sizeof(int64));
		result->resource_type_names = palloc(sizeof(SiText));
		run_lookup(request, &receiver, SI_PLAN_RESOURCE_TYPES, resource_type_row);
	}
	if (result->nitems == 0)
		return;					/* nothing to attach anything to */

	receiver.by_id = palloc(sizeof(int) * result->nitems);
	for (int i = 0; i < result->nitems; i++)
		receiver.by_id[i] = i;
	qsort_arg(receiver.by_id, result->nitems, sizeof(int), compare_item_ids,
			  result->items);

	receiver.row_items = palloc(sizeof(int));
	result->assignments = palloc(sizeof(int64));
	run_section(request, &receiver, SI_PLAN_ASSIGNMENTS_ALL,
				SI_PLAN_ASSIGNMENTS_SOME, assignment_row);
	result->assignments = group_by_item(&receiver, result->assignments,
										result->nassignments, sizeof(int64),
										offsetof(SiItem, assignments),
										si_compare_int64);
	if (request->billing)
	{
		result->billing = palloc(sizeof(SiBilling));
		run_section(request, &receiver, SI_PLAN_BILLING_ALL,
					SI_PLAN_BILLING_SOME, billing_row);
		result->billing = group_by_item(&receiver, result->billing,
										result->nbilling, sizeof(SiBilling),
										offsetof(SiItem, billing), compare_billing);
	}
	if (request->resources)
	{
		result->resources = palloc(sizeof(SiResource));
		run_section(request, &receiver, SI_PLAN_RESOURCES_ALL,
					SI_PLAN_RESOURCES_SOME, resource_row);
		result->resources = group_by_item(&receiver, result->resources,
										  result->nresources, sizeof(SiResource),
										  offsetof(SiItem, resources),
										  compare_resources);
	}
	if (request->follow_ups)
	{
		result->follow_ups = palloc(sizeof(SiFollowUp));
		run_section(request, &receiver, SI_PLAN_FOLLOW_UPS_ALL,
					SI_PLAN_FOLLOW_UPS_SOME, follow_up_row);
		result->follow_ups = group_by_item(&receiver, result->follow_ups,
										   result->nfollow_ups, sizeof(SiFollowUp),
										   offsetof(SiItem, follow_ups),
										   compare_follow_ups);
	}
	result->total_rows = result->nitems + result->nassignments +
		result->nbilling + result->nresources + result->nfollow_ups;
}
