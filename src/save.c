/*
 * save.c
 *		Saving a clinic's associations: locks, current state, diff, writes.
 *
 * A save locks the appointment_types rows of every item the payload names,
 * FOR NO KEY UPDATE and in ascending id order, before it reads anything, so
 * concurrent saves queue instead of deadlocking or losing updates.  It then
 * reads the current associations through load.c's queries, and after
 * validation writes only the difference: for each kind of row, one statement
 * with parallel array parameters for all deletes, one for all updates and one
 * for all inserts, whatever the number of items.  Rows whose values do not
 * change are not written.  Each item that changed gets its
 * associations_version incremented once, and the save gets one audit row.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "authz.h"
#include "plans.h"
#include "save.h"

/* ---------------------------------------------------------------------
 * Batches: the rows of one write statement, as parallel arrays
 * ---------------------------------------------------------------------
 */

typedef struct Batch
{
	SiPlanId	plan;
	int			ncols;
	int			nrows;
	Oid			types[SI_MAX_PLAN_ARGS];
	ArrayBuildState *cols[SI_MAX_PLAN_ARGS];
} Batch;

/* batch_init prepares a batch for a statement taking ncols arrays after $1. */
static void
batch_init(Batch *batch, SiPlanId plan, int ncols, const Oid *types)
{
	batch->plan = plan;
	batch->ncols = ncols;
	batch->nrows = 0;
	for (int i = 0; i < ncols; i++)
	{
		batch->types[i] = types[i];
		batch->cols[i] = initArrayResult(types[i], CurrentMemoryContext, false);
	}
}

static void
batch_set(Batch *batch, int col, Datum value, bool isnull)
{
	accumArrayResult(batch->cols[col], value, isnull, batch->types[col],
					 CurrentMemoryContext);
}

/* batch_run executes the batch's statement once, if it holds any row. */
static void
batch_run(Batch *batch, int64 clinic_id, int expected)
{
	Datum		values[SI_MAX_PLAN_ARGS];

	if (batch->nrows == 0)
		return;
	values[0] = Int64GetDatum(clinic_id);
	for (int i = 0; i < batch->ncols; i++)
		values[i + 1] = makeArrayResult(batch->cols[i], CurrentMemoryContext);
	si_execute(batch->plan, values, NULL, false, expected);
}

static const Oid ids_only[] = {INT8OID};
static const Oid item_practitioner[] = {INT8OID, INT8OID};
static const Oid billing_update[] = {INT8OID, TEXTOID, NUMERICOID, NUMERICOID, BOOLOID};
static const Oid billing_insert[] = {INT8OID, INT8OID, TEXTOID, NUMERICOID, NUMERICOID, BOOLOID};
static const Oid resource_row[] = {INT8OID, INT8OID, INT4OID};
static const Oid follow_up_row[] = {INT8OID, TEXTOID, INT4OID, INT4OID, TIMEOID, TEXTOID,
BOOLOID, INT4OID};

/* ---------------------------------------------------------------------
 * Reading the state
 * ---------------------------------------------------------------------
 */

/* sorted_unique sorts values in place and drops repeats; returns the count. */
static int
sorted_unique(int64 *values, int count)
{
	int			n = 0;

	qsort(values, count, sizeof(int64), si_compare_int64);
	for (int i = 0; i < count; i++)
		if (n == 0 || values[n - 1] != values[i])
			values[n++] = values[i];
	return n;
}

static ArrayType *
int64_array(const int64 *values, int count)
{
	Datum	   *datums = palloc(sizeof(Datum) * Max(count, 1));

	for (int i = 0; i < count; i++)
		datums[i] = Int64GetDatum(values[i]);
	return construct_array(datums, count, INT8OID, sizeof(int64),
						   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/*
 * si_named_items returns the ids of every service item the payload names
 * (in any section, billing keys and expected_versions included), ascending
 * and without repeats: the order in which a save locks them.
 */
ArrayType *
si_named_items(const SiPayload *payload)
{
	int			max = payload->nassignments + payload->nbilling +
		payload->nresources + payload->nfollow_ups + payload->nversions;
	int64	   *ids = palloc(sizeof(int64) * Max(max, 1));
	int			n = 0;

	for (int i = 0; i < payload->nassignments; i++)
		ids[n++] = payload->assignments[i].item_id;
	for (int i = 0; i < payload->nbilling; i++)
		ids[n++] = payload->billing[i].item_id;
	for (int i = 0; i < payload->nresources; i++)
		ids[n++] = payload->resources[i].item_id;
	for (int i = 0; i < payload->nfollow_ups; i++)
		ids[n++] = payload->follow_ups[i].item_id;
	for (int i = 0; i < payload->nversions; i++)
		ids[n++] = payload->versions[i].item_id;
	return int64_array(ids, sorted_unique(ids, n));
}

/*
 * si_read_state reads what validation and the diff need: the current
 * associations of the named items, with the clinic's active practitioners
 * and resource types.  When lock is true it first locks the items' rows in
 * ascending id order; the reads after it then see every save that committed
 * while this one waited.
 */
void
si_read_state(int64 clinic_id, ArrayType *item_ids, bool lock, SiState *state)
{
	memset(state, 0, sizeof(*state));
	if (lock)
	{
		Datum		values[2];

		values[0] = Int64GetDatum(clinic_id);
		values[1] = PointerGetDatum(item_ids);
		si_execute(SI_PLAN_LOCK_ITEMS, values, NULL, false, SPI_OK_SELECT);
		SPI_freetuptable(SPI_tuptable);
	}

	state->request.clinic_id = clinic_id;
	state->request.item_ids = item_ids;
	state->request.billing = true;
	state->request.resources = true;
	state->request.follow_ups = true;
	state->request.show_revenue_share = true;
	state->request.read_only = !lock;
	state->request.lookups = true;
	si_load_associations(&state->request, &state->current);
	si_state_index(state);
}

/* ---------------------------------------------------------------------
 * Applying the payload
 * ---------------------------------------------------------------------
 */

/* What applying needs besides the payload: state, batches, bookkeeping. */
typedef struct Apply
{
	const SiPayload *payload;
	const SiState *state;
	SiChanges  *changes;
	bool	   *item_changed;	/* by index into state->current.items */
	Batch		billing_soft_delete;
} Apply;

static void
mark_changed(Apply *apply, const SiItem *item)
{
	apply->item_changed[item - apply->state->current.items] = true;
}

/* text_equals compares a loaded text value with a payload string. */
/*
 * remove_row adds one current row (by id) to a section's delete batch,
 * counts it and marks its item changed.
 */
static void
remove_row(Apply *apply, Batch *deletes, SiCounts *counts, const SiItem *item,
		   int64 id)
{
	batch_set(deletes, 0, Int64GetDatum(id), false);
	deletes->nrows++;
	counts->deleted++;
	mark_changed(apply, item);
}

/* run_section_batches runs a section's deletes, then updates, then inserts. */
static void
run_section_batches(int64 clinic_id, Batch *deletes, Batch *updates,
					Batch *inserts)
{
	batch_run(deletes, clinic_id, SPI_OK_DELETE);
	batch_run(updates, clinic_id, SPI_OK_UPDATE);
	batch_run(inserts, clinic_id, SPI_OK_INSERT);
}

static bool
text_equals(const SiAssociations *assoc, SiText stored, const char *value)
{
	return stored.len == (int) strlen(value) &&
		memcmp(si_text_data(assoc, stored), value, stored.len) == 0;
}

static Datum
cents_datum(int64 cents)
{
	return NumericGetDatum(int64_div_fast_to_numeric(cents, 2));
}

/*
 * apply_assignments replaces the practitioner set of each listed item; a
 * practitioner taken off an item takes the pair's live billing scenarios
 * with it (soft-deleted with the billing section's other removals).
 */
static void
apply_assignments(Apply *apply, int64 clinic_id)
{
	const SiState *state = apply->state;
	SiCounts   *counts = &apply->changes->sections[SI_SECTION_ASSIGNMENTS];
	SiCounts   *billing = &apply->changes->sections[SI_SECTION_BILLING];
	Batch		deletes;
	Batch		inserts;

	batch_init(&deletes, SI_PLAN_ASSIGNMENTS_DELETE, 2, item_practitioner);
	batch_init(&inserts, SI_PLAN_ASSIGNMENTS_INSERT, 2, item_practitioner);
	for (int i = 0; i < apply->payload->nassignments; i++)
	{
		const SiAssignmentList *list = &apply->payload->assignments[i];
		SiItem	   *item = si_state_item(state, list->item_id);
		const int64 *current = state->current.assignments + item->assignments.first;
		int			ncurrent = item->assignments.count;

		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < list->count; j++)
		{
			if (si_sorted_find(current, ncurrent, list->practitioner_ids[j]) >= 0)
			{
				counts->unchanged++;
				continue;
			}
			batch_set(&inserts, 0, Int64GetDatum(item->id), false);
			batch_set(&inserts, 1, Int64GetDatum(list->practitioner_ids[j]), false);
			inserts.nrows++;
			counts->inserted++;
			mark_changed(apply, item);
		}
		for (int c = 0; c < ncurrent; c++)
		{
			bool		kept = false;
			const SiBilling *rows = state->current.billing + item->billing.first;

			for (int j = 0; j < list->count && !kept; j++)
				kept = list->practitioner_ids[j] == current[c];
			if (kept)
				continue;
			batch_set(&deletes, 0, Int64GetDatum(item->id), false);
			batch_set(&deletes, 1, Int64GetDatum(current[c]), false);
			deletes.nrows++;
			counts->deleted++;
			mark_changed(apply, item);
			for (int b = 0; b < item->billing.count; b++)
			{
				if (rows[b].practitioner_id == current[c])
					remove_row(apply, &apply->billing_soft_delete, billing, item, rows[b].id);
			}
		}
	}
	batch_run(&deletes, clinic_id, SPI_OK_DELETE);
	batch_run(&inserts, clinic_id, SPI_OK_INSERT);
}

/*
 * apply_billing replaces the scenarios of each listed pair: by id an update
 * (when something differs), without id an insert, and the pair's current
 * scenarios not listed are soft-deleted.  Soft-deletes run first, then
 * updates, then inserts, so that a name or the default can move from a
 * removed row to a new one.
 */
static void
apply_billing(Apply *apply, int64 clinic_id)
{
	const SiState *state = apply->state;
	SiCounts   *counts = &apply->changes->sections[SI_SECTION_BILLING];
	bool	   *claimed = palloc0(sizeof(bool) * Max(state->current.nbilling, 1));
	Batch		updates;
	Batch		inserts;

	batch_init(&updates, SI_PLAN_BILLING_UPDATE, 5, billing_update);
	batch_init(&inserts, SI_PLAN_BILLING_INSERT, 6, billing_insert);
	for (int i = 0; i < apply->payload->nbilling; i++)
	{
		const SiBillingList *list = &apply->payload->billing[i];
		SiItem	   *item = si_state_item(state, list->item_id);
		int			first = item->billing.first;

		CHECK_FOR_INTERRUPTS();
		/* an empty list for a pair being unassigned: the removal clears it */
		if (list->count == 0 &&
			!si_assigned_after(apply->payload, state, item, list->practitioner_id))
			continue;
		for (int j = 0; j < list->count; j++)
		{
			const SiBillingEntry *e = &list->entries[j];

			if (e->has_id)
			{
				int			k = first;
				const SiBilling *row;

				while (k < first + item->billing.count &&
					   state->current.billing[k].id != e->id)
					k++;
				if (k == first + item->billing.count)
					elog(ERROR, "service_items: billing scenario " INT64_FORMAT " vanished after validation", e->id);
				row = &state->current.billing[k];
				claimed[k] = true;
				if (text_equals(&state->current, row->name, e->name) &&
					row->amount_cents == e->amount_cents &&
					row->share_cents == e->share_cents &&
					row->is_default == e->is_default)
				{
					counts->unchanged++;
					continue;
				}
				batch_set(&updates, 0, Int64GetDatum(e->id), false);
				batch_set(&updates, 1, CStringGetTextDatum(e->name), false);
				batch_set(&updates, 2, cents_datum(e->amount_cents), false);
				batch_set(&updates, 3, cents_datum(e->share_cents), false);
				batch_set(&updates, 4, BoolGetDatum(e->is_default), false);
				updates.nrows++;
				counts->updated++;
			}
			else
			{
				batch_set(&inserts, 0, Int64GetDatum(item->id), false);
				batch_set(&inserts, 1, Int64GetDatum(list->practitioner_id), false);
				batch_set(&inserts, 2, CStringGetTextDatum(e->name), false);
				batch_set(&inserts, 3, cents_datum(e->amount_cents), false);
				batch_set(&inserts, 4, cents_datum(e->share_cents), false);
				batch_set(&inserts, 5, BoolGetDatum(e->is_default), false);
				inserts.nrows++;
				counts->inserted++;
			}
			mark_changed(apply, item);
		}
		for (int k = first; k < first + item->billing.count; k++)
		{
			if (!claimed[k] && state->current.billing[k].practitioner_id == list->practitioner_id)
				remove_row(apply, &apply->billing_soft_delete, counts, item,
						   state->current.billing[k].id);
		}
	}
	batch_run(&apply->billing_soft_delete, clinic_id, SPI_OK_UPDATE);
	batch_run(&updates, clinic_id, SPI_OK_UPDATE);
	batch_run(&inserts, clinic_id, SPI_OK_INSERT);
}

/*
 * apply_resources replaces the requirements of each listed item.  An entry
 * with id updates that row; one without id takes over the current row of the
 * same resource type, if any, else is inserted.
 */
static void
apply_resources(Apply *apply, int64 clinic_id)
{
	const SiState *state = apply->state;
	SiCounts   *counts = &apply->changes->sections[SI_SECTION_RESOURCES];
	bool	   *claimed = palloc0(sizeof(bool) * Max(state->current.nresources, 1));
	Batch		deletes;
	Batch		updates;
	Batch		inserts;

	batch_init(&deletes, SI_PLAN_RESOURCES_DELETE, 1, ids_only);
	batch_init(&updates, SI_PLAN_RESOURCES_UPDATE, 3, resource_row);
	batch_init(&inserts, SI_PLAN_RESOURCES_INSERT, 3, resource_row);
	for (int i = 0; i < apply->payload->nresources; i++)
	{
		const SiResourceList *list = &apply->payload->resources[i];
		SiItem	   *item = si_state_item(state, list->item_id);
		int			first = item->resources.first;
		int			last = first + item->resources.count;
		int		   *match = palloc(sizeof(int) * Max(list->count, 1));

		CHECK_FOR_INTERRUPTS();
		/* ids first, so that a type match never takes a row named by id */
		for (int j = 0; j < list->count; j++)
		{
			match[j] = -1;
			for (int k = first; k < last && list->entries[j].has_id; k++)
				if (state->current.resources[k].id == list->entries[j].id)
					match[j] = k;
			if (match[j] >= 0)
				claimed[match[j]] = true;
		}
		for (int j = 0; j < list->count; j++)
		{
			for (int k = first; k < last && match[j] < 0 && !list->entries[j].has_id; k++)
				if (!claimed[k] &&
					state->current.resources[k].resource_type_id == list->entries[j].resource_type_id)
				{
					match[j] = k;
					claimed[k] = true;
				}
		}
		for (int j = 0; j < list->count; j++)
		{
			const SiResourceEntry *e = &list->entries[j];

			if (match[j] >= 0)
			{
				const SiResource *row = &state->current.resources[match[j]];

				if (row->resource_type_id == e->resource_type_id &&
					row->quantity == e->quantity)
				{
					counts->unchanged++;
					continue;
				}
				batch_set(&updates, 0, Int64GetDatum(row->id), false);
				updates.nrows++;
				counts->updated++;
				batch_set(&updates, 1, Int64GetDatum(e->resource_type_id), false);
				batch_set(&updates, 2, Int32GetDatum(e->quantity), false);
			}
			else
			{
				batch_set(&inserts, 0, Int64GetDatum(item->id), false);
				batch_set(&inserts, 1, Int64GetDatum(e->resource_type_id), false);
				batch_set(&inserts, 2, Int32GetDatum(e->quantity), false);
				inserts.nrows++;
				counts->inserted++;
			}
			mark_changed(apply, item);
		}
		for (int k = first; k < last; k++)
			if (!claimed[k])
				remove_row(apply, &deletes, counts, item, state->current.resources[k].id);
	}
	run_section_batches(clinic_id, &deletes, &updates, &inserts);
}

static bool
follow_up_equals(const SiAssociations *assoc, const SiFollowUp *row,
				 const SiFollowUpEntry *e)
{
	if (row->specific_time != e->specific_time ||
		row->is_enabled != e->is_enabled ||
		row->display_order != e->display_order ||
		!text_equals(assoc, row->message_template, e->message_template))
		return false;
	if (e->specific_time)
		return row->days_after == e->days_after && row->time_of_day == e->time_of_day;
	return row->hours_after == e->hours_after;
}

/* follow_up_columns adds an entry's columns from timing_mode on (col 1..7). */
static void
follow_up_columns(Batch *batch, const SiFollowUpEntry *e)
{
	batch_set(batch, 1, CStringGetTextDatum(e->specific_time ? "specific_time" : "hours_after"), false);
	batch_set(batch, 2, Int32GetDatum(e->hours_after), e->specific_time);
	batch_set(batch, 3, Int32GetDatum(e->days_after), !e->specific_time);
	batch_set(batch, 4, TimeADTGetDatum(e->time_of_day), !e->specific_time);
	batch_set(batch, 5, CStringGetTextDatum(e->message_template), false);
	batch_set(batch, 6, BoolGetDatum(e->is_enabled), false);
	batch_set(batch, 7, Int32GetDatum(e->display_order), false);
	batch->nrows++;
}

/* apply_follow_ups replaces the follow-up messages of each listed item. */
static void
apply_follow_ups(Apply *apply, int64 clinic_id)
{
	const SiState *state = apply->state;
	SiCounts   *counts = &apply->changes->sections[SI_SECTION_FOLLOW_UPS];
	bool	   *claimed = palloc0(sizeof(bool) * Max(state->current.nfollow_ups, 1));
	Batch		deletes;
	Batch		updates;
	Batch		inserts;

	batch_init(&deletes, SI_PLAN_FOLLOW_UPS_DELETE, 1, ids_only);
	batch_init(&updates, SI_PLAN_FOLLOW_UPS_UPDATE, 8, follow_up_row);
	batch_init(&inserts, SI_PLAN_FOLLOW_UPS_INSERT, 8, follow_up_row);
	for (int i = 0; i < apply->payload->nfollow_ups; i++)
	{
		const SiFollowUpList *list = &apply->payload->follow_ups[i];
		SiItem	   *item = si_state_item(state, list->item_id);
		int			first = item->follow_ups.first;
		int			last = first + item->follow_ups.count;

		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < list->count; j++)
		{
			const SiFollowUpEntry *e = &list->entries[j];

			if (e->has_id)
			{
				int			k = first;

				while (k < last && state->current.follow_ups[k].id != e->id)
					k++;
				if (k == last)
					elog(ERROR, "service_items: follow-up message " INT64_FORMAT " vanished after validation", e->id);
				claimed[k] = true;
				if (follow_up_equals(&state->current, &state->current.follow_ups[k], e))
				{
					counts->unchanged++;
					continue;
				}
				batch_set(&updates, 0, Int64GetDatum(e->id), false);
				follow_up_columns(&updates, e);
				counts->updated++;
			}
			else
			{
				batch_set(&inserts, 0, Int64GetDatum(item->id), false);
				follow_up_columns(&inserts, e);
				counts->inserted++;
			}
			mark_changed(apply, item);
		}
		for (int k = first; k < last; k++)
			if (!claimed[k])
				remove_row(apply, &deletes, counts, item, state->current.follow_ups[k].id);
	}
	run_section_batches(clinic_id, &deletes, &updates, &inserts);
}

/* counts_to_json writes "name": {"inserted": .., ...} (after a comma unless first). */
static void
counts_to_json(StringInfo buf, const char *name, const SiCounts *c, bool first)
{
	appendStringInfo(buf,
					 "%s\"%s\":{\"inserted\":" INT64_FORMAT
					 ",\"updated\":" INT64_FORMAT
					 ",\"deleted\":" INT64_FORMAT
					 ",\"unchanged\":" INT64_FORMAT "}",
					 first ? "" : ",", name,
					 c->inserted, c->updated, c->deleted, c->unchanged);
}

/*
 * si_changes_to_json writes the per-section counts:
 * {"practitioner_assignments": {"inserted": 0, ...}, ...}, with the groups
 * and items first for a settings save.
 */
void
si_changes_to_json(StringInfo buf, const SiChanges *changes)
{
	appendStringInfoChar(buf, '{');
	if (changes->settings)
	{
		counts_to_json(buf, si_section_names[SI_SECTION_GROUPS], &changes->groups, true);
		counts_to_json(buf, si_section_names[SI_SECTION_ITEMS], &changes->items, false);
	}
	for (int s = 0; s < SI_SECTION_VERSIONS; s++)
		counts_to_json(buf, si_section_names[s], &changes->sections[s],
					   s == 0 && !changes->settings);
	appendStringInfoChar(buf, '}');
}

/*
 * finish_save increments associations_version of every item that changed
 * and writes the audit row; a save that changed nothing writes neither.
 */
static void
finish_save(Apply *apply, int64 clinic_id)
{
	const SiState *state = apply->state;
	int64	   *ids = palloc(sizeof(int64) * Max(state->current.nitems, 1));
	int			n = 0;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	StringInfoData changes_json;
	char	   *sub;
	const SiChanges *changes = apply->changes;
	int64	   *audited;
	int			naudited;

	for (int i = 0; i < state->current.nitems; i++)
		if (apply->item_changed[i])
			ids[n++] = state->current.items[i].id;
	apply->changes->nchanged_items = n;
	n = sorted_unique(ids, n);

	values[0] = Int64GetDatum(clinic_id);
	if (n > 0)
	{
		values[1] = PointerGetDatum(int64_array(ids, n));
		si_execute(SI_PLAN_BUMP_VERSIONS, values, NULL, false, SPI_OK_UPDATE);
	}

	/* the audit names every item whose associations or settings changed */
	audited = palloc(sizeof(int64) * Max(n + changes->nsettings_items, 1));
	memcpy(audited, ids, sizeof(int64) * n);
	if (changes->nsettings_items > 0)
		memcpy(audited + n, changes->settings_items,
			   sizeof(int64) * changes->nsettings_items);
	naudited = sorted_unique(audited, n + changes->nsettings_items);
	if (naudited == 0 &&
		changes->groups.inserted + changes->groups.updated + changes->groups.deleted == 0)
		return;

	initStringInfo(&changes_json);
	si_changes_to_json(&changes_json, apply->changes);
	sub = si_claims_sub();
	values[1] = sub ? CStringGetTextDatum(sub) : (Datum) 0;
	nulls[1] = sub ? ' ' : 'n';
	values[2] = PointerGetDatum(int64_array(audited, naudited));
	values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(changes_json.data));
	si_execute(SI_PLAN_AUDIT, values, nulls, false, SPI_OK_INSERT);
}

/*
 * si_apply writes a validated payload over the state read under lock, and
 * fills changes (whose settings part the caller has set: zeroed, or filled
 * by si_apply_settings).  The payload must have passed si_parse_payload and
 * si_validate without errors: ids are known to be rows of their lists.
 */
void
si_apply(int64 clinic_id, const SiPayload *payload, const SiState *state,
		 SiChanges *changes)
{
	Apply		apply;

	memset(changes->sections, 0, sizeof(changes->sections));
	changes->nchanged_items = 0;
	apply.payload = payload;
	apply.state = state;
	apply.changes = changes;
	apply.item_changed = palloc0(sizeof(bool) * Max(state->current.nitems, 1));
	batch_init(&apply.billing_soft_delete, SI_PLAN_BILLING_SOFT_DELETE, 1, ids_only);

	apply_assignments(&apply, clinic_id);
	apply_billing(&apply, clinic_id);
	apply_resources(&apply, clinic_id);
	apply_follow_ups(&apply, clinic_id);
	finish_save(&apply, clinic_id);
}

/* ---------------------------------------------------------------------
 * The settings page: groups and service items
 * ---------------------------------------------------------------------
 */

static const Oid group_insert[] = {TEXTOID, INT4OID};
static const Oid group_update[] = {INT8OID, TEXTOID, INT4OID};
static const Oid item_insert[] = {INT8OID, TEXTOID, INT4OID, INT4OID};
static const Oid item_update[] = {INT8OID, INT8OID, TEXTOID, INT4OID, INT4OID};

/*
 * run_inserts executes an INSERT ... RETURNING id batch and returns the new
 * ids in ascending order, which is the order of the batch's rows.
 */
static int64 *
run_inserts(Batch *batch, int64 clinic_id)
{
	int64	   *ids = palloc(sizeof(int64) * Max(batch->nrows, 1));

	if (batch->nrows == 0)
		return ids;
	batch_run(batch, clinic_id, SPI_OK_INSERT_RETURNING);
	if (SPI_processed != (uint64) batch->nrows)
		elog(ERROR, "service_items: inserted " UINT64_FORMAT " rows, expected %d",
			 SPI_processed, batch->nrows);
	for (int i = 0; i < batch->nrows; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	qsort(ids, batch->nrows, sizeof(int64), si_compare_int64);
	return ids;
}

static void
note_settings_item(SiChanges *changes, int64 id)
{
	changes->settings_items[changes->nsettings_items++] = id;
}

/* group_id_of returns the group an item entry is to be in, or 0 for none. */
static int64
group_id_of(const SiSettingsPayload *payload, const SiItemEntry *item)
{
	if (item->group_ref == SI_GROUP_ID)
		return item->group_id;
	if (item->group_ref == SI_GROUP_KEY)
		for (int g = 0; g < payload->ngroups; g++)
			if (payload->groups[g].key != NULL &&
				strcmp(payload->groups[g].key, item->group_key) == 0)
				return payload->groups[g].new_id;
	return 0;
}

static void
apply_groups(int64 clinic_id, SiSettingsPayload *payload,
			 const SiAssociations *current, SiCounts *counts)
{
	Batch		inserts;
	Batch		updates;
	int64	   *new_ids;
	int			next = 0;

	batch_init(&inserts, SI_PLAN_GROUPS_INSERT, 2, group_insert);
	batch_init(&updates, SI_PLAN_GROUPS_UPDATE, 3, group_update);
	for (int i = 0; i < payload->ngroups; i++)
	{
		const SiGroupEntry *g = &payload->groups[i];
		int			k = 0;

		if (!g->has_id)
		{
			batch_set(&inserts, 0, CStringGetTextDatum(g->name), false);
			batch_set(&inserts, 1, Int32GetDatum(g->display_order), false);
			inserts.nrows++;
			counts->inserted++;
			continue;
		}
		while (current->group_ids[k] != g->id)
			k++;				/* validated: the group exists */
		if (text_equals(current, current->group_names[k], g->name) &&
			current->group_orders[k] == g->display_order)
		{
			counts->unchanged++;
			continue;
		}
		batch_set(&updates, 0, Int64GetDatum(g->id), false);
		batch_set(&updates, 1, CStringGetTextDatum(g->name), false);
		batch_set(&updates, 2, Int32GetDatum(g->display_order), false);
		updates.nrows++;
		counts->updated++;
	}
	new_ids = run_inserts(&inserts, clinic_id);
	for (int i = 0; i < payload->ngroups; i++)
		if (!payload->groups[i].has_id)
			payload->groups[i].new_id = new_ids[next++];
	batch_run(&updates, clinic_id, SPI_OK_UPDATE);
}

/* delete_groups deletes the groups a full groups list leaves out. */
static void
delete_groups(int64 clinic_id, const SiSettingsPayload *payload,
			  const SiAssociations *current, SiCounts *counts)
{
	Batch		deletes;

	if (!payload->has_groups)
		return;
	batch_init(&deletes, SI_PLAN_GROUPS_DELETE, 1, ids_only);
	for (int k = 0; k < current->ngroups; k++)
	{
		bool		listed = false;

		for (int i = 0; i < payload->ngroups && !listed; i++)
			listed = payload->groups[i].has_id &&
				payload->groups[i].id == current->group_ids[k];
		if (listed)
			continue;
		batch_set(&deletes, 0, Int64GetDatum(current->group_ids[k]), false);
		deletes.nrows++;
		counts->deleted++;
	}
	batch_run(&deletes, clinic_id, SPI_OK_DELETE);
}

static void
apply_items(int64 clinic_id, SiSettingsPayload *payload, SiState *state,
			SiChanges *changes)
{
	const SiAssociations *current = &state->current;
	SiCounts   *counts = &changes->items;
	Batch		inserts;
	Batch		updates;
	Batch		deletes;
	int64	   *new_ids;
	int			next = 0;

	batch_init(&inserts, SI_PLAN_ITEMS_INSERT, 4, item_insert);
	batch_init(&updates, SI_PLAN_ITEMS_UPDATE, 5, item_update);
	batch_init(&deletes, SI_PLAN_ITEMS_SOFT_DELETE, 1, ids_only);
	for (int i = 0; i < payload->nitems; i++)
	{
		const SiItemEntry *e = &payload->items[i];
		int64		group = group_id_of(payload, e);
		const SiItem *row;

		CHECK_FOR_INTERRUPTS();
		if (!e->has_id)
		{
			batch_set(&inserts, 0, Int64GetDatum(group), group == 0);
			batch_set(&inserts, 1, CStringGetTextDatum(e->name), false);
			batch_set(&inserts, 2, Int32GetDatum(e->duration_minutes), false);
			batch_set(&inserts, 3, Int32GetDatum(e->display_order), false);
			inserts.nrows++;
			counts->inserted++;
			continue;
		}
		row = si_state_item(state, e->id);
		if (row == NULL)
			elog(ERROR, "service_items: service item " INT64_FORMAT " vanished after validation", e->id);
		if (text_equals(current, row->name, e->name) &&
			row->duration_minutes == e->duration_minutes &&
			row->display_order == e->display_order &&
			(row->has_group ? row->group_id : 0) == group)
		{
			counts->unchanged++;
			continue;
		}
		batch_set(&updates, 0, Int64GetDatum(e->id), false);
		batch_set(&updates, 1, Int64GetDatum(group), group == 0);
		batch_set(&updates, 2, CStringGetTextDatum(e->name), false);
		batch_set(&updates, 3, Int32GetDatum(e->duration_minutes), false);
		batch_set(&updates, 4, Int32GetDatum(e->display_order), false);
		updates.nrows++;
		counts->updated++;
		note_settings_item(changes, e->id);
	}
	for (int k = 0; k < state->ndropped; k++)
	{
		batch_set(&deletes, 0, Int64GetDatum(state->dropped_items[k]), false);
		deletes.nrows++;
		counts->deleted++;
		note_settings_item(changes, state->dropped_items[k]);
	}

	new_ids = run_inserts(&inserts, clinic_id);
	for (int i = 0; i < payload->nitems; i++)
		if (!payload->items[i].has_id)
		{
			payload->items[i].new_id = new_ids[next++];
			note_settings_item(changes, payload->items[i].new_id);
		}
	batch_run(&updates, clinic_id, SPI_OK_UPDATE);
	batch_run(&deletes, clinic_id, SPI_OK_UPDATE);
}

/*
 * real_item_id maps a placeholder id (negative: the n-th new item) to the id
 * the item was inserted with; real ids map to themselves.
 */
static int64
real_item_id(const SiSettingsPayload *payload, int64 id)
{
	const char *key;

	if (id > 0)
		return id;
	key = payload->item_keys.keys[-id - 1];
	for (int i = 0; i < payload->nitems; i++)
		if (payload->items[i].key != NULL && strcmp(payload->items[i].key, key) == 0)
			return payload->items[i].new_id;
	elog(ERROR, "service_items: no new item for key \"%s\"", key);
	return 0;					/* keep compiler quiet */
}

/*
 * si_apply_settings writes the groups and items of a validated settings
 * payload: new groups, changed groups, new items (in their groups, new ones
 * included), changed items, soft-deleted items, then deleted groups.  It
 * then gives the new items' real ids to the associations payload and to the
 * state (where they stood under placeholders), ready for si_apply.
 */
void
si_apply_settings(int64 clinic_id, SiSettingsPayload *payload, SiState *state,
				  SiChanges *changes)
{
	SiPayload  *assoc = &payload->associations;

	memset(changes, 0, sizeof(*changes));
	changes->settings = true;
	changes->settings_items = palloc(sizeof(int64) *
									 Max(payload->nitems + state->ndropped, 1));

	apply_groups(clinic_id, payload, &state->current, &changes->groups);
	apply_items(clinic_id, payload, state, changes);
	delete_groups(clinic_id, payload, &state->current, &changes->groups);

	for (int i = 0; i < assoc->nassignments; i++)
		assoc->assignments[i].item_id = real_item_id(payload, assoc->assignments[i].item_id);
	for (int i = 0; i < assoc->nbilling; i++)
		assoc->billing[i].item_id = real_item_id(payload, assoc->billing[i].item_id);
	for (int i = 0; i < assoc->nresources; i++)
		assoc->resources[i].item_id = real_item_id(payload, assoc->resources[i].item_id);
	for (int i = 0; i < assoc->nfollow_ups; i++)
		assoc->follow_ups[i].item_id = real_item_id(payload, assoc->follow_ups[i].item_id);
	for (int i = 0; i < assoc->nversions; i++)
		assoc->versions[i].item_id = real_item_id(payload, assoc->versions[i].item_id);
	for (int i = 0; i < state->current.nitems; i++)
		state->current.items[i].id = real_item_id(payload, state->current.items[i].id);
	si_state_index(state);
}
