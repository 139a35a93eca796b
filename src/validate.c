/*
 * validate.c
 *		The rules of a save that need the clinic's current rows.
 *
 * Given a parsed payload and the current state, reports unknown or deleted
 * service items, practitioners that are not active practitioners of the
 * clinic, resource types of no such kind, ids that are not rows of their
 * item or pair, billing for a practitioner not assigned after the save, and
 * stale expected_versions.  It reads and writes nothing; save.c reads the
 * state before and applies the payload after.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "validate.h"

static int
compare_items_by_id(const void *a, const void *b)
{
	int64		ida = (*(SiItem *const *) a)->id;
	int64		idb = (*(SiItem *const *) b)->id;

	return (ida > idb) - (ida < idb);
}

/* si_state_index sorts the current items by id for si_state_item. */
void
si_state_index(SiState *state)
{
	int			n = state->current.nitems;

	state->by_id = palloc(sizeof(SiItem *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		state->by_id[i] = &state->current.items[i];
	qsort(state->by_id, n, sizeof(SiItem *), compare_items_by_id);
}

/* si_state_item returns a live item the payload named, or NULL. */
SiItem *
si_state_item(const SiState *state, int64 item_id)
{
	int			lo = 0;
	int			hi = state->current.nitems - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int64		id = state->by_id[mid]->id;

		if (id == item_id)
			return state->by_id[mid];
		if (id < item_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * known_item reports unknown_service_item for a list whose key names no live
 * item of the clinic, and returns the item otherwise.
 */
static SiItem *
known_item(const SiState *state, SiErrors *errors, SiSection section,
		   const char *key, int64 item_id)
{
	SiItem	   *item = si_state_item(state, item_id);

	if (item == NULL)
	{
		SiPlace		place = {section, key, -1, NULL};

		si_error(errors, &place, "unknown_service_item",
				 "service item " INT64_FORMAT " does not exist", item_id);
	}
	return item;
}

/*
 * si_assigned_after tells whether a practitioner is assigned to an item once
 * the payload is saved: per the payload's list when it has one, else as now.
 * An empty billing list may name a pair that will not be assigned (it only
 * says the pair has no scenarios, which removing the practitioner ensures).
 */
bool
si_assigned_after(const SiPayload *payload, const SiState *state,
			   const SiItem *item, int64 practitioner_id)
{
	for (int i = 0; i < payload->nassignments; i++)
	{
		const SiAssignmentList *list = &payload->assignments[i];

		if (list->item_id != item->id)
			continue;
		for (int j = 0; j < list->count; j++)
			if (list->practitioner_ids[j] == practitioner_id)
				return true;
		return false;
	}
	return si_sorted_find(state->current.assignments + item->assignments.first,
							  item->assignments.count, practitioner_id) >= 0;
}

static void
validate_assignments(const SiPayload *payload, const SiState *state,
					 SiErrors *errors)
{
	for (int i = 0; i < payload->nassignments; i++)
	{
		const SiAssignmentList *list = &payload->assignments[i];

		CHECK_FOR_INTERRUPTS();
		known_item(state, errors, SI_SECTION_ASSIGNMENTS, list->key, list->item_id);
		for (int j = 0; j < list->count; j++)
		{
			int64		p = list->practitioner_ids[j];

			if (si_sorted_find(state->current.practitioners, state->current.npractitioners, p) < 0)
			{
				SiPlace		place = {SI_SECTION_ASSIGNMENTS, list->key, list->positions[j], NULL};

				si_error(errors, &place, "unknown_practitioner",
						 "user " INT64_FORMAT " is not an active practitioner of the clinic", p);
			}
		}
	}
}

/* billing_row_of tells whether a billing row id belongs to an item's pair. */
static bool
billing_row_of(const SiState *state, const SiItem *item, int64 practitioner_id,
			   int64 id)
{
	const SiBilling *rows = state->current.billing + item->billing.first;

	for (int i = 0; i < item->billing.count; i++)
		if (rows[i].id == id && rows[i].practitioner_id == practitioner_id)
			return true;
	return false;
}

static void
validate_billing(const SiPayload *payload, const SiState *state,
				 SiErrors *errors)
{
	for (int i = 0; i < payload->nbilling; i++)
	{
		const SiBillingList *list = &payload->billing[i];
		SiPlace		place = {SI_SECTION_BILLING, list->key, -1, NULL};
		SiItem	   *item;

		CHECK_FOR_INTERRUPTS();
		item = known_item(state, errors, SI_SECTION_BILLING, list->key, list->item_id);
		if (si_sorted_find(state->current.practitioners,
								state->current.npractitioners,
								list->practitioner_id) < 0)
			si_error(errors, &place, "unknown_practitioner",
					 "user " INT64_FORMAT " is not an active practitioner of the clinic",
					 list->practitioner_id);
		else if (item != NULL && list->count > 0 &&
				 !si_assigned_after(payload, state, item, list->practitioner_id))
		{
			if (list->item_id > 0)
				si_error(errors, &place, "not_assigned",
						 "practitioner " INT64_FORMAT " is not assigned to service item " INT64_FORMAT,
						 list->practitioner_id, list->item_id);
			else				/* a new item, named by its client key */
				si_error(errors, &place, "not_assigned",
						 "practitioner " INT64_FORMAT " is not assigned to the new service item of \"%s\"",
						 list->practitioner_id, list->key);
		}

		for (int j = 0; j < list->count; j++)
		{
			const SiBillingEntry *e = &list->entries[j];

			if (e->has_id &&
				(item == NULL || !billing_row_of(state, item, list->practitioner_id, e->id)))
			{
				SiPlace		entry = {SI_SECTION_BILLING, list->key, j, "id"};

				si_error(errors, &entry, "unknown_id",
						 "billing scenario " INT64_FORMAT " is not one of this pair", e->id);
			}
		}
	}
}

static void
validate_resources(const SiPayload *payload, const SiState *state,
				   SiErrors *errors)
{
	for (int i = 0; i < payload->nresources; i++)
	{
		const SiResourceList *list = &payload->resources[i];
		SiItem	   *item;

		CHECK_FOR_INTERRUPTS();
		item = known_item(state, errors, SI_SECTION_RESOURCES, list->key, list->item_id);
		for (int j = 0; j < list->count; j++)
		{
			const SiResourceEntry *e = &list->entries[j];

			if (e->resource_type_id != 0 &&
				si_sorted_find(state->current.resource_type_ids,
									state->current.nresource_types,
									e->resource_type_id) < 0)
			{
				SiPlace		place = {SI_SECTION_RESOURCES, list->key, j, "resource_type_id"};

				si_error(errors, &place, "unknown_resource_type",
						 "resource type " INT64_FORMAT " does not exist", e->resource_type_id);
			}
			if (e->has_id)
			{
				bool		found = false;

				for (int k = 0; item != NULL && k < item->resources.count && !found; k++)
					found = state->current.resources[item->resources.first + k].id == e->id;
				if (!found)
				{
					SiPlace		place = {SI_SECTION_RESOURCES, list->key, j, "id"};

					si_error(errors, &place, "unknown_id",
							 "resource requirement " INT64_FORMAT " is not one of this service item",
							 e->id);
				}
			}
		}
	}
}

static void
validate_follow_ups(const SiPayload *payload, const SiState *state,
					SiErrors *errors)
{
	for (int i = 0; i < payload->nfollow_ups; i++)
	{
		const SiFollowUpList *list = &payload->follow_ups[i];
		SiItem	   *item;

		CHECK_FOR_INTERRUPTS();
		item = known_item(state, errors, SI_SECTION_FOLLOW_UPS, list->key, list->item_id);
		for (int j = 0; j < list->count; j++)
		{
			const SiFollowUpEntry *e = &list->entries[j];
			bool		found = false;

			if (!e->has_id)
				continue;
			for (int k = 0; item != NULL && k < item->follow_ups.count && !found; k++)
				found = state->current.follow_ups[item->follow_ups.first + k].id == e->id;
			if (!found)
			{
				SiPlace		place = {SI_SECTION_FOLLOW_UPS, list->key, j, "id"};

				si_error(errors, &place, "unknown_id",
						 "follow-up message " INT64_FORMAT " is not one of this service item",
						 e->id);
			}
		}
	}
}

/*
 * si_validate reports every rule of the payload that the current state
 * breaks.  Version checks are separate (si_version_conflicts): a stale
 * payload is answered with PT409, not with a list of errors.
 */
void
si_validate(const SiPayload *payload, const SiState *state, SiErrors *errors)
{
	validate_assignments(payload, state, errors);
	validate_billing(payload, state, errors);
	validate_resources(payload, state, errors);
	validate_follow_ups(payload, state, errors);
	for (int i = 0; i < payload->nversions; i++)
	{
		const SiVersion *v = &payload->versions[i];

		if (v->item_id < 0)
		{
			/* a new item (a client key): it has no version to expect yet */
			SiPlace		place = {SI_SECTION_VERSIONS, v->key, -1, NULL};

			si_error(errors, &place, "unknown_service_item",
					 "\"%s\" is a new service item: expected_versions names existing ones",
					 v->key);
			continue;
		}
		known_item(state, errors, SI_SECTION_VERSIONS, v->key, v->item_id);
	}
}

/*
 * si_version_conflicts compares expected_versions with the current
 * versions.  Each conflict is appended to json (when given) as
 * {"service_item_id", "expected", "actual"} objects of one array, and to
 * errors (when given) as a version_conflict error.  Returns the number of
 * conflicts; items that do not exist are si_validate's business.
 */
int
si_version_conflicts(const SiPayload *payload, const SiState *state,
					 StringInfo json, SiErrors *errors)
{
	int			conflicts = 0;

	if (json != NULL)
		appendStringInfoChar(json, '[');
	for (int i = 0; i < payload->nversions; i++)
	{
		const SiVersion *v = &payload->versions[i];
		SiItem	   *item = si_state_item(state, v->item_id);

		if (v->item_id < 0 || item == NULL || item->version == v->expected)
			continue;			/* new or unknown items are si_validate's */
		if (json != NULL)
			appendStringInfo(json,
							 "%s{\"service_item_id\": " INT64_FORMAT
							 ", \"expected\": " INT64_FORMAT
							 ", \"actual\": " INT64_FORMAT "}",
							 conflicts > 0 ? ", " : "",
							 v->item_id, v->expected, item->version);
		if (errors != NULL)
		{
			SiPlace		place = {SI_SECTION_VERSIONS, v->key, -1, NULL};

			si_error(errors, &place, "version_conflict",
					 "service item " INT64_FORMAT " is at version " INT64_FORMAT
					 ", not " INT64_FORMAT,
					 v->item_id, item->version, v->expected);
		}
		conflicts++;
	}
	if (json != NULL)
		appendStringInfoChar(json, ']');
	return conflicts;
}

/* ---------------------------------------------------------------------
 * The settings page: groups and service items
 * ---------------------------------------------------------------------
 */

/* group_position returns where a group id is in the current groups, or -1. */
static int
group_position(const SiAssociations *current, int64 id)
{
	for (int i = 0; i < current->ngroups; i++)
		if (current->group_ids[i] == id)
			return i;
	return -1;
}

/* group_kept tells whether an existing group survives the save. */
static bool
group_kept(const SiSettingsPayload *payload, int64 id)
{
	if (!payload->has_groups)
		return true;
	for (int i = 0; i < payload->ngroups; i++)
		if (payload->groups[i].has_id && payload->groups[i].id == id)
			return true;
	return false;
}

/* listed_items returns the ids of the payload's items list, sorted. */
static int64 *
listed_items(const SiSettingsPayload *payload, int *count)
{
	int64	   *ids = palloc(sizeof(int64) * Max(payload->nitems, 1));
	int			n = 0;

	for (int i = 0; i < payload->nitems; i++)
		if (payload->items[i].has_id)
			ids[n++] = payload->items[i].id;
	qsort(ids, n, sizeof(int64), si_compare_int64);
	*count = n;
	return ids;
}

/*
 * si_settings_state turns the clinic's current state into the one the
 * associations of a settings payload are judged against: items the payload
 * soft-deletes are gone (listed in dropped_items), and each new item is
 * there, empty, under its placeholder id.  Then it indexes the state.
 */
void
si_settings_state(const SiSettingsPayload *payload, SiState *state)
{
	SiAssociations *current = &state->current;
	int			kept = 0;
	int			added = payload->item_keys.count;
	SiItem	   *items = palloc0(sizeof(SiItem) * Max(current->nitems + added, 1));
	int			nlisted;
	int64	   *listed = listed_items(payload, &nlisted);

	state->dropped_items = palloc(sizeof(int64) * Max(current->nitems, 1));
	for (int i = 0; i < current->nitems; i++)
	{
		if (!payload->has_items ||
			si_sorted_find(listed, nlisted, current->items[i].id) >= 0)
			items[kept++] = current->items[i];
		else
			state->dropped_items[state->ndropped++] = current->items[i].id;
	}
	for (int i = 0; i < added; i++)
	{
		items[kept].id = payload->item_keys.ids[i];
		items[kept].version = 1;
		kept++;
	}
	current->items = items;
	current->nitems = kept;
	si_state_index(state);
}

/*
 * si_validate_settings reports every rule of the groups and items lists that
 * the current state breaks: ids that are no group or live item of the
 * clinic, and items in a group that does not exist or is being deleted.
 * The state must be the clinic's whole current state, before
 * si_settings_state.
 */
void
si_validate_settings(const SiSettingsPayload *payload, const SiState *state,
					 SiErrors *errors)
{
	const SiAssociations *current = &state->current;

	for (int i = 0; i < payload->ngroups; i++)
	{
		const SiGroupEntry *g = &payload->groups[i];

		if (g->has_id && group_position(current, g->id) < 0)
		{
			SiPlace		place = {SI_SECTION_GROUPS, NULL, i, "id"};

			si_error(errors, &place, "unknown_id",
					 "service type group " INT64_FORMAT " does not exist", g->id);
		}
	}
	for (int i = 0; i < payload->nitems; i++)
	{
		const SiItemEntry *item = &payload->items[i];
		SiPlace		place = {SI_SECTION_ITEMS, NULL, i, "id"};

		CHECK_FOR_INTERRUPTS();
		if (item->has_id && si_state_item(state, item->id) == NULL)
			si_error(errors, &place, "unknown_id",
					 "service item " INT64_FORMAT " does not exist", item->id);

		place.field = "service_type_group_id";
		if (item->group_ref == SI_GROUP_ID &&
			(group_position(current, item->group_id) < 0 ||
			 !group_kept(payload, item->group_id)))
			si_error(errors, &place, "unknown_service_type_group",
					 "service type group " INT64_FORMAT " does not exist or is being deleted",
					 item->group_id);
		else if (item->group_ref == SI_GROUP_KEY)
		{
			bool		known = false;

			for (int g = 0; g < payload->ngroups && !known; g++)
				known = payload->groups[g].key != NULL &&
					strcmp(payload->groups[g].key, item->group_key) == 0;
			if (!known)
				si_error(errors, &place, "unknown_service_type_group",
						 "no new group has the key \"%s\"", item->group_key);
		}
	}
}
