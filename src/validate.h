/*
 * validate.h
 *		The rules of a save that need the clinic's current rows.
 *
 * SiState is what a save or a validation knows of the database: the current
 * associations of every item the payload names, with the clinic's active
 * practitioners and resource types, all read through load.c's queries.  si_validate adds an error for every rule broken; it reads
 * and writes nothing.
 */
#ifndef SERVICE_ITEMS_VALIDATE_H
#define SERVICE_ITEMS_VALIDATE_H

#include "load.h"
#include "payload.h"

typedef struct SiState
{
	SiLoadRequest request;		/* how current was read */
	SiAssociations current;		/* the named items that are live */
	SiItem	  **by_id;			/* current.items sorted by id */
	int64	   *dropped_items;	/* live items a settings save soft-deletes */
	int			ndropped;
} SiState;

extern void si_state_index(SiState *state);
extern SiItem *si_state_item(const SiState *state, int64 item_id);

extern bool si_assigned_after(const SiPayload *payload, const SiState *state,
							  const SiItem *item, int64 practitioner_id);
extern void si_validate(const SiPayload *payload, const SiState *state,
						SiErrors *errors);
extern int	si_version_conflicts(const SiPayload *payload,
								 const SiState *state, StringInfo json,
								 SiErrors *errors);

extern void si_validate_settings(const SiSettingsPayload *payload,
								 const SiState *state, SiErrors *errors);
extern void si_settings_state(const SiSettingsPayload *payload,
							  SiState *state);

#endif							/* SERVICE_ITEMS_VALIDATE_H */
