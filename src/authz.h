/*
 * authz.h
 *		Who may load and save which clinic: request.jwt.claims and roles.
 *
 * PostgREST puts the caller's JWT claims in the request.jwt.claims setting.
 * With claims, the caller is whoever they say: "clinic_id" must be the
 * clinic asked for and "roles" decide.  Without claims (absent or empty),
 * only roles that bypass row-level security may call.  Every refusal is the
 * same 42501, whether or not the clinic exists.
 */
#ifndef SERVICE_ITEMS_AUTHZ_H
#define SERVICE_ITEMS_AUTHZ_H

#include "postgres.h"

typedef enum SiAccess
{
	SI_ACCESS_READ,				/* any role of the clinic */
	SI_ACCESS_WRITE				/* admin */
} SiAccess;

extern bool si_authorize(int64 clinic_id, SiAccess access);
extern char *si_claims_sub(void);
extern bool si_authorized_clinic(SiAccess access, int64 *clinic_id);

#endif							/* SERVICE_ITEMS_AUTHZ_H */
