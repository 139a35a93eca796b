/*
 * save.h
 *		Saving a clinic's associations: locks, current state, diff, writes.
 *
 * si_read_state locks (when saving) and reads what validate.c needs;
 * si_apply writes the difference between the payload and that state with a
 * few array-parameter statements per section, bumps the versions of the
 * items that changed and writes the audit row.
 */
#ifndef SERVICE_ITEMS_SAVE_H
#define SERVICE_ITEMS_SAVE_H

#include "lib/stringinfo.h"

#include "payload.h"
#include "validate.h"

typedef struct SiCounts
{
	int64		inserted;
	int64		updated;
	int64		deleted;
	int64		unchanged;
} SiCounts;

/* what a save changed: counts per section (assignments .. follow-ups) */
typedef struct SiChanges
{
	SiCounts	sections[SI_SECTION_VERSIONS];
	int			nchanged_items;
	/* a settings save also changes groups and items */
	bool		settings;
	SiCounts	groups;
	SiCounts	items;
	int64	   *settings_items; /* items it created, changed or deleted */
	int			nsettings_items;
} SiChanges;

extern ArrayType *si_named_items(const SiPayload *payload);
extern void si_read_state(int64 clinic_id, ArrayType *item_ids, bool lock,
						  SiState *state);
extern void si_apply(int64 clinic_id, const SiPayload *payload,
					 const SiState *state, SiChanges *changes);
extern void si_changes_to_json(StringInfo buf, const SiChanges *changes);
extern void si_apply_settings(int64 clinic_id, SiSettingsPayload *payload,
							  SiState *state, SiChanges *changes);

#endif							/* SERVICE_ITEMS_SAVE_H */
