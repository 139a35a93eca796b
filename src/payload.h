/*
 * payload.h
 *		A save payload (jsonb) parsed into C structs, and the error list.
 *
 * si_parse_payload walks the payload once and checks everything that needs
 * no database state: keys, JSON types, required fields, ranges, formats,
 * duplicates within a list and sizes.  Rules that need the clinic's rows
 * live in validate.c.  Every error carries a SQL/JSON path into the payload.
 */
#ifndef SERVICE_ITEMS_PAYLOAD_H
#define SERVICE_ITEMS_PAYLOAD_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/date.h"
#include "utils/jsonb.h"

#define SI_MAX_LIST_ENTRIES 200
#define SI_MAX_PAYLOAD_ENTRIES 50000
#define SI_MAX_REPORTED_ERRORS 100

/* the sections of a payload, in the order they are reported and saved */
typedef enum SiSection
{
	SI_SECTION_ASSIGNMENTS,
	SI_SECTION_BILLING,
	SI_SECTION_RESOURCES,
	SI_SECTION_FOLLOW_UPS,
	SI_SECTION_VERSIONS,
	SI_NUM_SECTIONS,
	/* the settings page's lists, outside an associations payload */
	SI_SECTION_GROUPS = SI_NUM_SECTIONS,
	SI_SECTION_ITEMS,
	SI_NUM_PLACES
} SiSection;

extern const char *const si_section_names[SI_NUM_PLACES];

/* one error: path into the payload, code of SPEC §5, message */
typedef struct SiError
{
	char	   *path;
	const char *code;
	char	   *message;
} SiError;

/* every error found; only the first SI_MAX_REPORTED_ERRORS are kept */
typedef struct SiErrors
{
	int			count;
	int			kept;
	const char *prefix;			/* path of the payload's root; NULL: "$" */
	SiError		items[SI_MAX_REPORTED_ERRORS];
} SiErrors;

/*
 * Where a value is: a section's list (its key), an entry of it (index, or
 * -1 for the list itself), and a member of that entry (or NULL).
 */
typedef struct SiPlace
{
	SiSection	section;
	const char *key;			/* NULL: the section itself */
	int			index;			/* -1: no array index */
	const char *field;			/* NULL: no member */
} SiPlace;

extern void si_error(SiErrors *errors, const SiPlace *place, const char *code,
					 const char *fmt,...) pg_attribute_printf(4, 5);
extern void si_error_at_root(SiErrors *errors, const char *member,
							 const char *code, const char *fmt,...)
			pg_attribute_printf(4, 5);
extern void si_errors_to_json(StringInfo buf, const SiErrors *errors);

typedef struct SiAssignmentList
{
	const char *key;
	int64		item_id;
	int			count;
	int64	   *practitioner_ids;
	int		   *positions;		/* each id's index in the payload's array */
} SiAssignmentList;

typedef struct SiBillingEntry
{
	bool		has_id;
	int64		id;
	char	   *name;
	int64		amount_cents;
	int64		share_cents;
	bool		is_default;
} SiBillingEntry;

typedef struct SiBillingList
{
	const char *key;
	int64		item_id;
	int64		practitioner_id;
	int			count;
	SiBillingEntry *entries;
} SiBillingList;

typedef struct SiResourceEntry
{
	bool		has_id;
	int64		id;
	int64		resource_type_id;
	int32		quantity;
} SiResourceEntry;

typedef struct SiResourceList
{
	const char *key;
	int64		item_id;
	int			count;
	SiResourceEntry *entries;
} SiResourceList;

typedef struct SiFollowUpEntry
{
	bool		has_id;
	int64		id;
	bool		specific_time;
	int32		hours_after;
	int32		days_after;
	TimeADT		time_of_day;
	char	   *message_template;
	bool		is_enabled;
	bool		has_display_order;
	int32		display_order;
} SiFollowUpEntry;

typedef struct SiFollowUpList
{
	const char *key;
	int64		item_id;
	int			count;
	SiFollowUpEntry *entries;
} SiFollowUpList;

typedef struct SiVersion
{
	const char *key;
	int64		item_id;
	int64		expected;
} SiVersion;

/*
 * Client keys ("new:1") that a payload may use instead of a service item id,
 * each standing for a (placeholder) id; see si_parse_settings.
 */
typedef struct SiKeys
{
	int			count;
	const char **keys;
	int64	   *ids;
} SiKeys;

/*
 * A parsed payload.  A list or entry that had an error is still present
 * (with what could be read), so later rules can go on and report more; the
 * caller must not save when errors->count > 0.
 */
typedef struct SiPayload
{
	int			nassignments;
	SiAssignmentList *assignments;
	int			nbilling;
	SiBillingList *billing;
	int			nresources;
	SiResourceList *resources;
	int			nfollow_ups;
	SiFollowUpList *follow_ups;
	int			nversions;
	SiVersion  *versions;
	const SiKeys *keys;			/* client keys allowed for items, or NULL */
} SiPayload;

extern void si_parse_payload(JsonbContainer *payload, const SiKeys *keys,
							 SiPayload *result, SiErrors *errors);

/* The settings page's groups and service items, and a save of them. */
typedef struct SiGroupEntry
{
	bool		has_id;
	int64		id;
	const char *key;			/* client key of a new group */
	char	   *name;
	int32		display_order;
	int64		new_id;			/* once inserted */
} SiGroupEntry;

typedef enum SiGroupRef
{
	SI_GROUP_NONE,
	SI_GROUP_ID,
	SI_GROUP_KEY
} SiGroupRef;

typedef struct SiItemEntry
{
	bool		has_id;
	int64		id;
	const char *key;			/* client key of a new item */
	char	   *name;
	int32		duration_minutes;
	int32		display_order;
	SiGroupRef	group_ref;
	int64		group_id;
	const char *group_key;
	int64		new_id;			/* placeholder, then the inserted id */
} SiItemEntry;

typedef struct SiSettingsPayload
{
	bool		has_groups;		/* the list replaces the clinic's groups */
	int			ngroups;
	SiGroupEntry *groups;
	bool		has_items;		/* the list replaces the clinic's live items */
	int			nitems;
	SiItemEntry *items;
	SiKeys		item_keys;		/* new items' keys, with placeholder ids */
	SiPayload	associations;
} SiSettingsPayload;

extern void si_parse_settings(Jsonb *payload, SiSettingsPayload *result,
							  SiErrors *errors);

#endif							/* SERVICE_ITEMS_PAYLOAD_H */
