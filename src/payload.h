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
	SI_NUM_SECTIONS
} SiSection;

extern const char *const si_section_names[SI_NUM_SECTIONS];

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
} SiPayload;

extern void si_parse_payload(Jsonb *payload, SiPayload *result,
							 SiErrors *errors);

#endif							/* SERVICE_ITEMS_PAYLOAD_H */
