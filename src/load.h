/*
 * load.h
 *		Set-oriented reads of a clinic's service item associations.
 *
 * si_load_associations runs one query per table (never one per item) and
 * merges the rows by service item into the arrays below.  Each item points at
 * a contiguous run of every section's array, in the order SPEC §4 wants.
 * Rows are taken from the executor one at a time (no SPI tuple table);
 * text values are copied into one arena, NUL-terminated.
 */
#ifndef SERVICE_ITEMS_LOAD_H
#define SERVICE_ITEMS_LOAD_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/date.h"

/* what to load, and for whom */
typedef struct SiLoadRequest
{
	int64		clinic_id;
	ArrayType  *item_ids;		/* NULL: every live item of the clinic */
	bool		billing;
	bool		resources;
	bool		follow_ups;
	bool		show_revenue_share;
	bool		read_only;		/* false when the caller wrote before loading */
	bool		lookups;		/* read practitioners and resource types even
								 * when no item matched (a save's state) */
	bool		details;		/* the settings page: clinic, groups, item
								 * columns, practitioner names (needs item_ids
								 * NULL) */
} SiLoadRequest;

/* a run [first, first + count) of one section's array */
typedef struct SiRange
{
	int			first;
	int			count;
} SiRange;

/* a text value: its bytes at arena + offset, followed by a NUL */
typedef struct SiText
{
	int			offset;
	int			len;
} SiText;

typedef struct SiItem
{
	int64		id;
	int64		version;
	/* with details only */
	bool		has_group;
	int64		group_id;
	int32		duration_minutes;
	int32		display_order;
	SiText		name;
	SiRange		assignments;
	SiRange		billing;
	SiRange		resources;
	SiRange		follow_ups;
} SiItem;

typedef struct SiBilling
{
	int64		practitioner_id;
	int64		id;
	int64		amount_cents;
	int64		share_cents;
	bool		is_default;
	SiText		name;
} SiBilling;

typedef struct SiResource
{
	int64		id;
	int64		resource_type_id;
	int32		quantity;
	SiText		type_name;
} SiResource;

typedef struct SiFollowUp
{
	int64		id;
	int32		display_order;
	bool		is_enabled;
	bool		specific_time;	/* timing_mode: specific_time or hours_after */
	int32		hours_after;	/* hours_after mode only */
	int32		days_after;		/* specific_time mode only */
	TimeADT		time_of_day;	/* specific_time mode only */
	SiText		message_template;
} SiFollowUp;

typedef struct SiAssociations
{
	const SiLoadRequest *request;
	int			nitems;
	SiItem	   *items;			/* in (display_order, id) order */
	int64	   *assignments;	/* practitioner ids */
	SiBilling  *billing;
	SiResource *resources;
	SiFollowUp *follow_ups;
	int			nassignments;	/* lengths of the four arrays above */
	int			nbilling;
	int			nresources;
	int			nfollow_ups;
	int64	   *practitioners;	/* the clinic's active practitioners, ascending */
	int			npractitioners;
	int64	   *resource_type_ids;	/* the clinic's resource types, ascending */
	SiText	   *resource_type_names;	/* (read when resources are asked for) */
	int			nresource_types;
	/* with details only */
	SiText	   *practitioner_names; /* parallel to practitioners */
	bool		has_clinic;
	SiText		clinic_name;
	int			ngroups;
	int64	   *group_ids;		/* in (display_order, id) order */
	int32	   *group_orders;
	SiText	   *group_names;
	int64		total_rows;		/* rows of every section, to size output */
	StringInfoData text;		/* the arena of every SiText */
} SiAssociations;

/* si_text_data returns a loaded text value, NUL-terminated. */
static inline const char *
si_text_data(const SiAssociations *assoc, SiText text)
{
	return assoc->text.data + text.offset;
}

extern int	si_sorted_find(const int64 *values, int count, int64 value);
extern int	si_compare_int64(const void *a, const void *b);
extern void si_load_associations(const SiLoadRequest *request,
								 SiAssociations *result);

#endif							/* SERVICE_ITEMS_LOAD_H */
