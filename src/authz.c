/*
 * authz.c
 *		Who may load and save which clinic: request.jwt.claims and roles.
 *
 * Claims are read from the request.jwt.claims setting as PostgREST sets it
 * (an empty string, what it reads as after a transaction, counts as absent).
 * They are parsed without throwing, so that malformed claims are refused
 * like any other unauthorized call.  Claims authorize only callers who
 * cannot run their own SQL: anyone who can may set them.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "authz.h"

#define CLAIMS_SETTING "request.jwt.claims"

/* read_claims returns the caller's claims, or NULL when there are none. */
static Jsonb *
read_claims(bool *malformed)
{
	const char *raw = GetConfigOption(CLAIMS_SETTING, true, false);
	JsonLexContext *lex;

	*malformed = false;
	if (raw == NULL || raw[0] == '\0')
		return NULL;
	lex = makeJsonLexContextCstringLen(pstrdup(raw), strlen(raw),
									   GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
	{
		*malformed = true;
		return NULL;
	}
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(raw)));
}

/* claim returns a top-level member of the claims, or NULL. */
static JsonbValue *
claim(Jsonb *claims, const char *key)
{
	if (!JB_ROOT_IS_OBJECT(claims))
		return NULL;
	return getKeyJsonValueFromContainer(&claims->root, key, strlen(key), NULL);
}

/* claim_text returns a string or number claim as text, or NULL. */
static char *
claim_text(const JsonbValue *v)
{
	if (v == NULL)
		return NULL;
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v->val.numeric)));
	return NULL;
}

/* has_role tells whether the "roles" claim (an array of text) holds role. */
static bool
has_role(Jsonb *claims, const char *role)
{
	JsonbValue *roles = claim(claims, "roles");
	JsonbValue	wanted;

	if (roles == NULL || roles->type != jbvBinary ||
		!JsonContainerIsArray(roles->val.binary.data))
		return false;
	wanted.type = jbvString;
	wanted.val.string.val = (char *) role;
	wanted.val.string.len = strlen(role);
	return findJsonbValueFromContainer(roles->val.binary.data, JB_FARRAY,
									   &wanted) != NULL;
}

/*
 * bypasses_rls tells whether the current role is one that row-level
 * security does not apply to: superuser, BYPASSRLS, or owner of the tables.
 */
static bool
bypasses_rls(void)
{
	Oid			role = GetUserId();
	Oid			nsp = get_namespace_oid("service_items", false);
	Oid			table = get_relname_relid("appointment_types", nsp);

	return superuser_arg(role) || has_bypassrls_privilege(role) ||
		(OidIsValid(table) && pg_class_ownercheck(table, role));
}

/*
 * claims_clinic returns the claims' clinic_id as a bigint: an integral JSON
 * number or a canonical decimal string; false when there is none.
 */
static bool
claims_clinic(Jsonb *claims, int64 *clinic_id)
{
	char	   *text = claim_text(claim(claims, "clinic_id"));
	int64		value = 0;

	if (text == NULL || text[0] == '\0' || strlen(text) > 19)
		return false;
	for (const char *p = text; *p; p++)
	{
		if (*p < '0' || *p > '9' || value > (PG_INT64_MAX - (*p - '0')) / 10)
			return false;
		value = value * 10 + (*p - '0');
	}
	*clinic_id = value;
	return true;
}

static void
deny(int64 clinic_id, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for clinic " INT64_FORMAT, clinic_id),
			 detail ? errdetail("%s", detail) : 0));
}

/*
 * si_authorize raises 42501 unless the caller may read (or write) the
 * clinic, and returns whether the caller may see revenue shares.
 */
bool
si_authorize(int64 clinic_id, SiAccess access)
{
	bool		malformed;
	Jsonb	   *claims = read_claims(&malformed);
	int64		claimed_clinic;
	bool		admin;

	if (malformed)
		deny(clinic_id, "The request.jwt.claims setting is not valid JSON.");
	if (claims == NULL)
	{
		if (!bypasses_rls())
			deny(clinic_id, "Without request.jwt.claims, only roles that bypass row-level security may call this function.");
		return true;
	}

	if (!claims_clinic(claims, &claimed_clinic) || claimed_clinic != clinic_id)
		deny(clinic_id, NULL);
	admin = has_role(claims, "admin");
	if (access == SI_ACCESS_WRITE && !admin)
		deny(clinic_id, NULL);
	if (!admin && !has_role(claims, "practitioner") && !has_role(claims, "staff"))
		deny(clinic_id, NULL);
	return admin;
}

/* si_claims_sub returns the "sub" claim (the caller's user), or NULL. */
char *
si_claims_sub(void)
{
	bool		malformed;
	Jsonb	   *claims = read_claims(&malformed);

	return claims ? claim_text(claim(claims, "sub")) : NULL;
}

/*
 * si_authorized_clinic returns the clinic the claims authorize for the
 * access asked, or false: the rule of si_authorize, for row-level security
 * policies, which must filter rather than raise.
 */
bool
si_authorized_clinic(SiAccess access, int64 *clinic_id)
{
	bool		malformed;
	Jsonb	   *claims = read_claims(&malformed);
	bool		admin;

	if (claims == NULL || !claims_clinic(claims, clinic_id))
		return false;
	admin = has_role(claims, "admin");
	if (access == SI_ACCESS_WRITE)
		return admin;
	return admin || has_role(claims, "practitioner") || has_role(claims, "staff");
}
