/*
 * service_items.c
 *		SQL-callable entry points of the service_items extension.
 *
 * Each entry point checks its arguments, then hands off: load.c reads the
 * rows, json_out.c writes the JSON text.  Nothing else lives here.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "json_out.h"
#include "load.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bulk_load_associations);
PG_FUNCTION_INFO_V1(service_item_associations);

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
	request->show_revenue_share = true;
	request->read_only = true;
}

/*
 * load_connect opens SPI and a per-call memory context for the load's own
 * allocations, and switches into it.
 */
static MemoryContext
load_connect(void)
{
	MemoryContext work;

	work = AllocSetContextCreate(CurrentMemoryContext, "service_items load",
								 ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "service_items: SPI_connect failed");
	MemoryContextSwitchTo(work);
	return work;
}

/* load_finish closes SPI and drops the per-call context. */
static void
load_finish(MemoryContext caller, MemoryContext work)
{
	MemoryContextSwitchTo(caller);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "service_items: SPI_finish failed");
	MemoryContextDelete(work);
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
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	SiLoadRequest request;
	SiAssociations assoc;
	SiJsonWriter writer;
	StringInfoData out;

	read_load_args(fcinfo, &request);
	work = load_connect();
	si_load_associations(&request, &assoc);

	/*
	 * The document is written into the caller's memory behind room for a
	 * varlena header, so that it becomes the json result without a copy.
	 */
	MemoryContextSwitchTo(caller);
	initStringInfo(&out);
	enlargeStringInfo(&out, si_json_estimate(&assoc));
	appendStringInfoSpaces(&out, VARHDRSZ);
	MemoryContextSwitchTo(work);

	si_json_init(&writer, &out);
	si_json_document(&writer, &assoc);

	load_finish(caller, work);
	SET_VARSIZE(out.data, out.len);
	PG_RETURN_POINTER(out.data);
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

	work = load_connect();
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
	}

	load_finish(caller, work);
	return (Datum) 0;
}
