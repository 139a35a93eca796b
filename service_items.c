/*
 * service_items.c
 *		SQL-callable entry points of the service_items extension.
 *
 * Each entry point checks its arguments and the caller's authorization
 * (authz.c), then hands off: load.c reads rows and json_out.c writes them;
 * payload.c parses a save, validate.c judges it, save.c writes it.
 * Nothing else lives here.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "authz.h"
#include "json_out.h"
#include "load.h"
#include "payload.h"
#include "plans.h"
#include "save.h"
#include "stats.h"
#include "validate.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(bulk_load_associations);
PG_FUNCTION_INFO_V1(service_item_associations);
PG_FUNCTION_INFO_V1(bulk_save_associations);
PG_FUNCTION_INFO_V1(validate_associations);
PG_FUNCTION_INFO_V1(authorized_clinic);
PG_FUNCTION_INFO_V1(load_service_settings);
PG_FUNCTION_INFO_V1(save_service_settings);

/*
 * require_arg raises 22004 when a mandatory argument is NULL.  The functions
 * are not STRICT so that a NULL is an error, not a silent NULL result.
 */
static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/*
 * read_load_args fills a load request from the arguments shared by
 * bulk_load_associations and service_item_associations.
 */
static void
read_load_args(FunctionCallInfo fcinfo, SiLoadRequest *request)
{
	require_arg(fcinfo, 0, "clinic_id");
	require_arg(fcinfo, 2, "include_billing_scenarios");
	require_arg(fcinfo, 3, "include_resource_requirements");
	require_arg(fcinfo, 4, "include_follow_up_messages");

	memset(request, 0, sizeof(*request));
	request->clinic_id = PG_GETARG_INT64(0);
	request->item_ids = PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1);
	request->billing = PG_GETARG_BOOL(2);
	request->resources = PG_GETARG_BOOL(3);
	request->follow_ups = PG_GETARG_BOOL(4);
	request->show_revenue_share = si_authorize(request->clinic_id, SI_ACCESS_READ);
	request->read_only = true;
}

/*
 * call_connect opens SPI and a per-call memory context for the call's own
 * allocations, and switches into it.
 */
static MemoryContext
call_connect(void)
{
	MemoryContext work;

	work = AllocSetContextCreate(CurrentMemoryContext, "service_items call",
								 ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "service_items: SPI_connect failed");
	MemoryContextSwitchTo(work);
	return work;
}

/* call_finish closes SPI and drops the per-call context. */
static void
call_finish(MemoryContext caller, MemoryContext work)
{
	MemoryContextSwitchTo(caller);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "service_items: SPI_finish failed");
	MemoryContextDelete(work);
}

/*
 * result_open starts a json result in the caller's memory (the work context
 * stays current), behind room for a varlena header, so that the finished
 * text becomes the result without a copy.
 */
static void
result_open(StringInfo out, MemoryContext caller, MemoryContext work,
			size_t estimate)
{
	MemoryContextSwitchTo(caller);
	initStringInfo(out);
	enlargeStringInfo(out, estimate);
	appendStringInfoSpaces(out, VARHDRSZ);
	MemoryContextSwitchTo(work);
}

/*
 * result_close counts a call's items and bytes, closes SPI and the work
 * context, and returns the text result_open started as a json Datum.
 */
static Datum
result_close(StringInfo out, SiCall *call, int nitems, MemoryContext caller,
			 MemoryContext work)
{
	call->rows = nitems;
	call->bytes = out->len - VARHDRSZ;
	call_finish(caller, work);
	SET_VARSIZE(out->data, out->len);
	return PointerGetDatum(out->data);
}

/*
 * load_document: the body of bulk_load_associations.
 */
static Datum
load_document(FunctionCallInfo fcinfo, SiCall *call)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	SiLoadRequest request;
	SiAssociations assoc;
	SiJsonWriter writer;
	StringInfoData out;

	read_load_args(fcinfo, &request);
	work = call_connect();
	si_load_associations(&request, &assoc);

	result_open(&out, caller, work, si_json_estimate(&assoc));
	si_json_init(&writer, &out);
	si_json_document(&writer, &assoc);
	return result_close(&out, call, assoc.nitems, caller, work);
}

/*
 * load_rows: the body of service_item_associations.
 */
static Datum
load_rows(FunctionCallInfo fcinfo, SiCall *call)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext row_context;
	SiLoadRequest request;
	SiAssociations assoc;
	SiJsonWriter writer;
	StringInfoData out;

	read_load_args(fcinfo, &request);
	InitMaterializedSRF(fcinfo, 0);

	work = call_connect();
	si_load_associations(&request, &assoc);

	row_context = AllocSetContextCreate(work, "service_items row",
										ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&out);
	si_json_init(&writer, &out);
	for (int i = 0; i < assoc.nitems; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		resetStringInfo(&out);
		si_json_item(&writer, &assoc, &assoc.items[i]);

		old = MemoryContextSwitchTo(row_context);
		values[0] = Int64GetDatum(assoc.items[i].id);
		values[1] = PointerGetDatum(cstring_to_text_with_len(out.data, out.len));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_context);
		call->bytes += out.len;
	}

	call->rows = assoc.nitems;
	call_finish(caller, work);
	return (Datum) 0;
}

/*
 * read_payload returns the payload argument, which must be a JSON object.
 */
static Jsonb *
read_payload(FunctionCallInfo fcinfo)
{
	Jsonb	   *payload;

	require_arg(fcinfo, 0, "clinic_id");
	require_arg(fcinfo, 1, "payload");
	payload = PG_GETARG_JSONB_P(1);
	if (JB_ROOT_IS_SCALAR(payload) || !JB_ROOT_IS_OBJECT(payload))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("payload must be a JSON object")));
	return payload;
}

/*
 * raise_invalid raises 22023 with every kept error in DETAIL.
 */
static void
raise_invalid(const char *what, const SiErrors *errors)
{
	StringInfoData detail;

	initStringInfo(&detail);
	si_errors_to_json(&detail, errors);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_plural("invalid %s payload: %d error",
						   "invalid %s payload: %d errors",
						   errors->count, what, errors->count),
			 errdetail_internal("%s", detail.data)));
}

/*
 * raise_conflicts raises PT409 when expected_versions are stale.
 */
static void
raise_conflicts(const SiPayload *payload, const SiState *state)
{
	StringInfoData detail;
	int			conflicts;

	initStringInfo(&detail);
	conflicts = si_version_conflicts(payload, state, &detail, NULL);
	if (conflicts > 0)
		ereport(ERROR,
				(errcode(MAKE_SQLSTATE('P', 'T', '4', '0', '9')),
				 errmsg_plural("associations of %d service item changed since they were loaded",
							   "associations of %d service items changed since they were loaded",
							   conflicts, conflicts),
				 errdetail_internal("%s", detail.data),
				 errhint("Load the service items again and reapply the changes.")));
}

/* refused_whole tells whether the payload was too big to be read. */
static bool
refused_whole(const SiErrors *errors)
{
	return errors->kept > 0 && strcmp(errors->items[0].code, "too_many") == 0 &&
		strcmp(errors->items[0].path, "$") == 0;
}

/*
 * check_payload parses a payload and judges it against the clinic's current
 * state: the common part of a save and a validation.  A save (lock = true)
 * locks the named items first.
 */
static void
check_payload(int64 clinic_id, Jsonb *json, bool lock, SiPayload *payload,
			  SiState *state, SiErrors *errors)
{
	memset(errors, 0, sizeof(*errors));
	memset(state, 0, sizeof(*state));
	si_parse_payload(&json->root, NULL, payload, errors);
	if (refused_whole(errors))
		return;
	si_read_state(clinic_id, si_named_items(payload), lock, state);
	si_validate(payload, state, errors);
}

/*
 * save: the body of bulk_save_associations.
 */
static Datum
save(FunctionCallInfo fcinfo, SiCall *call)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	Jsonb	   *json = read_payload(fcinfo);
	int64		clinic_id = PG_GETARG_INT64(0);
	SiPayload	payload;
	SiState		state;
	SiErrors   *errors;
	SiChanges	changes;
	SiLoadRequest request;
	SiAssociations saved;
	SiJsonWriter writer;
	StringInfoData out;

	si_authorize(clinic_id, SI_ACCESS_WRITE);
	work = call_connect();
	errors = palloc(sizeof(SiErrors));
	check_payload(clinic_id, json, true, &payload, &state, errors);

	if (!refused_whole(errors))
		raise_conflicts(&payload, &state);
	if (errors->count > 0)
		raise_invalid("associations", errors);

	memset(&changes, 0, sizeof(changes));
	si_apply(clinic_id, &payload, &state, &changes);

	/*
	 * The response: the named items as they are now, and the counts.  When
	 * nothing changed, the state read under the lock is what they are now.
	 */
	if (changes.nchanged_items == 0)
		saved = state.current;
	else
	{
		request = state.request;
		request.read_only = false;
		si_load_associations(&request, &saved);
	}

	result_open(&out, caller, work, si_json_estimate(&saved) + 512);
	si_json_init(&writer, &out);
	appendStringInfoChar(&out, '{');
	si_json_associations(&writer, &saved);
	appendStringInfoString(&out, ",\"changes\":");
	si_changes_to_json(&out, &changes);
	appendStringInfoChar(&out, '}');
	return result_close(&out, call, saved.nitems, caller, work);
}

/*
 * validate: the body of validate_associations.
 */
static Datum
validate(FunctionCallInfo fcinfo, SiCall *call)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	Jsonb	   *json = read_payload(fcinfo);
	int64		clinic_id = PG_GETARG_INT64(0);
	SiPayload	payload;
	SiState		state;
	SiErrors   *errors;
	StringInfoData out;
	Datum		result;

	si_authorize(clinic_id, SI_ACCESS_WRITE);
	work = call_connect();
	errors = palloc(sizeof(SiErrors));
	check_payload(clinic_id, json, false, &payload, &state, errors);
	if (!refused_whole(errors))
		si_version_conflicts(&payload, &state, NULL, errors);

	initStringInfo(&out);
	appendStringInfo(&out, "{\"valid\": %s, \"error_count\": %d, \"errors\": ",
					 errors->count == 0 ? "true" : "false", errors->count);
	si_errors_to_json(&out, errors);
	appendStringInfoChar(&out, '}');

	MemoryContextSwitchTo(caller);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data));
	MemoryContextSwitchTo(work);
	call->rows = state.current.nitems;
	call->bytes = out.len;
	call_finish(caller, work);
	PG_RETURN_DATUM(result);
}

/*
 * load_settings: the body of load_service_settings.
 */
static Datum
load_settings(FunctionCallInfo fcinfo, SiCall *call)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	SiLoadRequest request;
	SiAssociations assoc;
	SiJsonWriter writer;
	StringInfoData out;

	require_arg(fcinfo, 0, "clinic_id");
	memset(&request, 0, sizeof(request));
	request.clinic_id = PG_GETARG_INT64(0);
	request.billing = request.resources = request.follow_ups = true;
	request.details = true;
	request.read_only = true;
	request.show_revenue_share = si_authorize(request.clinic_id, SI_ACCESS_READ);

	work = call_connect();
	si_load_associations(&request, &assoc);

	result_open(&out, caller, work, si_json_estimate(&assoc));
	si_json_init(&writer, &out);
	si_json_settings(&writer, &assoc);
	return result_close(&out, call, assoc.nitems, caller, work);
}

/* write_keys writes {"<client key>": id, ...} for the new rows of a list. */
static void
write_keys(StringInfo out, const char *const *keys, const int64 *ids, int n)
{
	bool		first = true;

	appendStringInfoChar(out, '{');
	for (int i = 0; i < n; i++)
	{
		if (keys[i] == NULL)
			continue;
		if (!first)
			appendStringInfoChar(out, ',');
		escape_json(out, keys[i]);
		appendStringInfo(out, ":" INT64_FORMAT, ids[i]);
		first = false;
	}
	appendStringInfoChar(out, '}');
}

/*
 * save_settings: the body of save_service_settings.
 */
static Datum
save_settings(FunctionCallInfo fcinfo, SiCall *call)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	Jsonb	   *json = read_payload(fcinfo);
	int64		clinic_id = PG_GETARG_INT64(0);
	SiSettingsPayload payload;
	SiState		state;
	SiErrors   *errors;
	SiChanges	changes;
	SiLoadRequest request;
	SiAssociations saved;
	SiJsonWriter writer;
	StringInfoData out;
	Datum		values[1];
	const char **keys;
	int64	   *ids;

	si_authorize(clinic_id, SI_ACCESS_WRITE);
	work = call_connect();
	errors = palloc0(sizeof(SiErrors));
	si_parse_settings(json, &payload, errors);
	if (refused_whole(errors))
		raise_invalid("settings", errors);

	/* every live item of the clinic, locked in id order, then the state */
	values[0] = Int64GetDatum(clinic_id);
	si_execute(SI_PLAN_LOCK_CLINIC_ITEMS, values, NULL, false, SPI_OK_SELECT);
	SPI_freetuptable(SPI_tuptable);
	memset(&state, 0, sizeof(state));
	state.request.clinic_id = clinic_id;
	state.request.billing = state.request.resources = state.request.follow_ups = true;
	state.request.show_revenue_share = true;
	state.request.lookups = true;
	state.request.details = true;
	si_load_associations(&state.request, &state.current);
	si_state_index(&state);

	si_validate_settings(&payload, &state, errors);
	si_settings_state(&payload, &state);
	errors->prefix = "$.associations";
	si_validate(&payload.associations, &state, errors);
	errors->prefix = NULL;
	raise_conflicts(&payload.associations, &state);
	if (errors->count > 0)
		raise_invalid("settings", errors);

	si_apply_settings(clinic_id, &payload, &state, &changes);
	si_apply(clinic_id, &payload.associations, &state, &changes);

	/* the response: new keys' ids, the counts, and the page as it is now */
	request = state.request;
	si_load_associations(&request, &saved);
	result_open(&out, caller, work, si_json_estimate(&saved) + 1024);

	appendStringInfoString(&out, "{\"keys\":{\"service_type_groups\":");
	keys = palloc(sizeof(char *) * Max(payload.ngroups, payload.nitems) + 1);
	ids = palloc(sizeof(int64) * Max(payload.ngroups, payload.nitems) + 1);
	for (int i = 0; i < payload.ngroups; i++)
	{
		keys[i] = payload.groups[i].key;
		ids[i] = payload.groups[i].new_id;
	}
	write_keys(&out, keys, ids, payload.ngroups);
	appendStringInfoString(&out, ",\"service_items\":");
	for (int i = 0; i < payload.nitems; i++)
	{
		keys[i] = payload.items[i].key;
		ids[i] = payload.items[i].new_id;
	}
	write_keys(&out, keys, ids, payload.nitems);
	appendStringInfoString(&out, "},\"changes\":");
	si_changes_to_json(&out, &changes);
	appendStringInfoString(&out, ",\"settings\":");
	si_json_init(&writer, &out);
	si_json_settings(&writer, &saved);
	appendStringInfoChar(&out, '}');
	return result_close(&out, call, saved.nitems, caller, work);
}

/*
 * measured runs an entry point's body and adds the call to the statistics,
 * as an error when the body raised one.
 */
static Datum
measured(FunctionCallInfo fcinfo, SiFunction function,
		 Datum (*body) (FunctionCallInfo, SiCall *))
{
	SiCall		call;
	Datum		result;

	si_call_begin(&call, function);
	PG_TRY();
	{
		result = body(fcinfo, &call);
	}
	PG_CATCH();
	{
		si_call_end(&call, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	si_call_end(&call, false);
	return result;
}

/*
 * bulk_load_associations(clinic_id, service_item_ids, include_billing_scenarios,
 *		include_resource_requirements, include_follow_up_messages) returns json
 *
 * Every association of the clinic's service items as one JSON document.
 */
Datum
bulk_load_associations(PG_FUNCTION_ARGS)
{
	return measured(fcinfo, SI_FN_LOAD, load_document);
}

/*
 * service_item_associations(same arguments) returns table (service_item_id,
 * associations)
 *
 * The streaming twin of bulk_load_associations: one row per service item,
 * each with the same object the document would hold, in the same order.
 */
Datum
service_item_associations(PG_FUNCTION_ARGS)
{
	return measured(fcinfo, SI_FN_STREAM, load_rows);
}

/*
 * bulk_save_associations(clinic_id, payload) returns json
 *
 * Validates the whole payload, then writes it in the caller's transaction:
 * every listed set replaces the current one.  Raises PT409 when
 * expected_versions are stale and 22023 with every error in DETAIL when the
 * payload is invalid; either way nothing is written.  Returns the saved
 * items' associations and per-section counts.
 */
Datum
bulk_save_associations(PG_FUNCTION_ARGS)
{
	return measured(fcinfo, SI_FN_SAVE, save);
}

/*
 * validate_associations(clinic_id, payload) returns jsonb
 *
 * Judges a payload exactly as bulk_save_associations would, without locking
 * or writing anything: {"valid": bool, "error_count": n, "errors": [...]},
 * where a stale expected version is a "version_conflict" error.  At most 100
 * errors are listed; "error_count" counts them all.
 */
Datum
validate_associations(PG_FUNCTION_ARGS)
{
	return measured(fcinfo, SI_FN_VALIDATE, validate);
}

/*
 * load_service_settings(clinic_id) returns json
 *
 * The whole settings page in one document: the clinic, its service type
 * groups, service items, active practitioners, resource types and every
 * association, in a fixed number of queries.
 */
Datum
load_service_settings(PG_FUNCTION_ARGS)
{
	return measured(fcinfo, SI_FN_LOAD_SETTINGS, load_settings);
}

/*
 * save_service_settings(clinic_id, payload) returns json
 *
 * The settings page's "Save changes" in one call, in the caller's
 * transaction: groups and service items (created under client keys,
 * updated, reordered, deleted) and the associations of SPEC §5, which may
 * name new items by their keys.  All of it is validated first; on any error
 * nothing is written.
 */
Datum
save_service_settings(PG_FUNCTION_ARGS)
{
	return measured(fcinfo, SI_FN_SAVE_SETTINGS, save_settings);
}

/*
 * authorized_clinic(for_write boolean) returns bigint
 *
 * The clinic the caller's request.jwt.claims authorize it to read (or, with
 * for_write, to change); NULL without valid claims.  The row-level security
 * policies compare clinic_id with it.
 */
Datum
authorized_clinic(PG_FUNCTION_ARGS)
{
	int64		clinic_id;

	require_arg(fcinfo, 0, "for_write");
	if (!si_authorized_clinic(PG_GETARG_BOOL(0) ? SI_ACCESS_WRITE : SI_ACCESS_READ,
							  &clinic_id))
		PG_RETURN_NULL();
	PG_RETURN_INT64(clinic_id);
}

/* _PG_init sets up the call statistics (in shared memory when preloaded). */
void
_PG_init(void)
{
	si_stats_init();
}
