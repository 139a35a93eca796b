/*
 * plans.c
 *		The per-backend cache of prepared SPI statements of service_items.
 *
 * All SQL the C code runs lives in the table below, so that a reviewer sees
 * every statement in one place.  Values are only ever passed as $n
 * parameters; every object and operator is schema-qualified, so a hostile
 * search_path cannot capture any of them.
 *
 * A statement is prepared on first use and kept with SPI_keepplan, as
 * ri_triggers.c does for foreign keys, and its plan is always the generic
 * one (CURSOR_OPT_GENERIC_PLAN).  The clinic id is the only value that
 * varies, and with the many clinics of a real database the generic plan is
 * an index scan on clinic_id, right for every clinic.  Left to itself, the
 * plan cache keeps re-planning custom plans whenever one very large clinic
 * makes the generic plan look costly; planning seven statements then costs
 * more than a small clinic's whole load (measured: 1.1 ms instead of 0.5 ms
 * for 50 items beside a 10,000-item clinic).  In a database of only a few
 * clinics, where a generic plan may read a whole table, that is cheap
 * anyway.  No statement needs a particular plan shape: load.c orders the
 * rows itself.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/params.h"
#include "nodes/parsenodes.h"

#include "plans.h"

typedef struct SiStatement
{
	const char *sql;
	int			nargs;
	Oid			argtypes[SI_MAX_PLAN_ARGS];
} SiStatement;

/*
 * The load's queries, one per table.  Only the items come ordered (display
 * order, the document's order); load.c groups the other sections' rows by
 * item and orders them itself, so these queries need no Sort and the
 * planner reads each table the cheapest way.  The small lookups (active
 * practitioners, resource type names) are separate queries joined in C,
 * which keeps joins out of the big ones.  Fixed-width columns come first
 * and text last, so deforming stays on its fast path.
 */
#define LIVE_PRACTITIONER \
	" AND m.is_active" \
	" AND m.roles OPERATOR(pg_catalog.@>) '{practitioner}'::pg_catalog.text[]"

static const SiStatement statements[SI_NUM_PLANS] = {
	[SI_PLAN_ITEMS_ALL] = {
		"SELECT a.id, a.associations_version"
		"  FROM service_items.appointment_types a"
		" WHERE a.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT a.is_deleted"
		" ORDER BY a.display_order, a.id",
		1, {INT8OID}
	},
	[SI_PLAN_ITEMS_SOME] = {
		"SELECT a.id, a.associations_version"
		"  FROM service_items.appointment_types a"
		" WHERE a.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT a.is_deleted"
		"   AND a.id OPERATOR(pg_catalog.=) ANY ($2)"
		" ORDER BY a.display_order, a.id",
		2, {INT8OID, INT8ARRAYOID}
	},
	/* the clinic's active practitioners: assignments of others are hidden */
	[SI_PLAN_PRACTITIONERS] = {
		"SELECT m.user_id FROM service_items.clinic_members m"
		" WHERE m.clinic_id OPERATOR(pg_catalog.=) $1" LIVE_PRACTITIONER
		" ORDER BY m.user_id",
		1, {INT8OID}
	},
	[SI_PLAN_ASSIGNMENTS_ALL] = {
		"SELECT p.appointment_type_id, p.practitioner_id"
		"  FROM service_items.practitioner_appointment_types p"
		" WHERE p.clinic_id OPERATOR(pg_catalog.=) $1",
		1, {INT8OID}
	},
	[SI_PLAN_ASSIGNMENTS_SOME] = {
		"SELECT p.appointment_type_id, p.practitioner_id"
		"  FROM service_items.practitioner_appointment_types p"
		" WHERE p.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND p.appointment_type_id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	},
	[SI_PLAN_BILLING_ALL] = {
		"SELECT b.appointment_type_id, b.practitioner_id, b.id,"
		"       b.is_default, b.amount, b.revenue_share, b.name"
		"  FROM service_items.billing_scenarios b"
		" WHERE b.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT b.is_deleted",
		1, {INT8OID}
	},
	[SI_PLAN_BILLING_SOME] = {
		"SELECT b.appointment_type_id, b.practitioner_id, b.id,"
		"       b.is_default, b.amount, b.revenue_share, b.name"
		"  FROM service_items.billing_scenarios b"
		" WHERE b.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT b.is_deleted"
		"   AND b.appointment_type_id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	},
	/* resource type names are joined in C: the clinic has few types */
	[SI_PLAN_RESOURCE_TYPES] = {
		"SELECT t.id, t.name FROM service_items.resource_types t"
		" WHERE t.clinic_id OPERATOR(pg_catalog.=) $1"
		" ORDER BY t.id",
		1, {INT8OID}
	},
	[SI_PLAN_RESOURCES_ALL] = {
		"SELECT r.appointment_type_id, r.id, r.resource_type_id, r.quantity"
		"  FROM service_items.appointment_resource_requirements r"
		" WHERE r.clinic_id OPERATOR(pg_catalog.=) $1",
		1, {INT8OID}
	},
	[SI_PLAN_RESOURCES_SOME] = {
		"SELECT r.appointment_type_id, r.id, r.resource_type_id, r.quantity"
		"  FROM service_items.appointment_resource_requirements r"
		" WHERE r.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND r.appointment_type_id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	},
	[SI_PLAN_FOLLOW_UPS_ALL] = {
		"SELECT f.appointment_type_id, f.id, f.display_order, f.is_enabled,"
		"       f.timing_mode OPERATOR(pg_catalog.=) 'specific_time',"
		"       f.hours_after, f.days_after, f.time_of_day, f.message_template"
		"  FROM service_items.follow_up_messages f"
		" WHERE f.clinic_id OPERATOR(pg_catalog.=) $1",
		1, {INT8OID}
	},
	[SI_PLAN_FOLLOW_UPS_SOME] = {
		"SELECT f.appointment_type_id, f.id, f.display_order, f.is_enabled,"
		"       f.timing_mode OPERATOR(pg_catalog.=) 'specific_time',"
		"       f.hours_after, f.days_after, f.time_of_day, f.message_template"
		"  FROM service_items.follow_up_messages f"
		" WHERE f.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND f.appointment_type_id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	},

	/*
	 * The settings page's extra reads.  ITEMS_DETAILED and
	 * PRACTITIONERS_NAMED replace ITEMS_ALL and PRACTITIONERS (same rows,
	 * same order, more columns), so the page costs two queries more than the
	 * associations alone.
	 */
	[SI_PLAN_CLINIC] = {
		"SELECT c.name FROM service_items.clinics c"
		" WHERE c.id OPERATOR(pg_catalog.=) $1",
		1, {INT8OID}
	},
	[SI_PLAN_GROUPS] = {
		"SELECT g.id, g.display_order, g.name"
		"  FROM service_items.service_type_groups g"
		" WHERE g.clinic_id OPERATOR(pg_catalog.=) $1"
		" ORDER BY g.display_order, g.id",
		1, {INT8OID}
	},
	[SI_PLAN_ITEMS_DETAILED] = {
		"SELECT a.id, a.associations_version, a.service_type_group_id,"
		"       a.duration_minutes, a.display_order, a.name"
		"  FROM service_items.appointment_types a"
		" WHERE a.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT a.is_deleted"
		" ORDER BY a.display_order, a.id",
		1, {INT8OID}
	},
	[SI_PLAN_PRACTITIONERS_NAMED] = {
		"SELECT m.user_id, m.full_name FROM service_items.clinic_members m"
		" WHERE m.clinic_id OPERATOR(pg_catalog.=) $1" LIVE_PRACTITIONER
		" ORDER BY m.user_id",
		1, {INT8OID}
	},

	/*
	 * The save's statements.  Rows come as parallel arrays ($2...), so one
	 * statement writes every row of a kind, whatever their number.  Inserts
	 * keep the payload's order (WITH ORDINALITY) so new ids follow it.
	 */
	[SI_PLAN_LOCK_ITEMS] = {
		"SELECT a.id FROM service_items.appointment_types a"
		" WHERE a.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND a.id OPERATOR(pg_catalog.=) ANY ($2)"
		" ORDER BY a.id FOR NO KEY UPDATE OF a",
		2, {INT8OID, INT8ARRAYOID}
	},
	[SI_PLAN_ASSIGNMENTS_DELETE] = {
		"DELETE FROM service_items.practitioner_appointment_types p"
		" USING ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(item, practitioner)"
		" WHERE p.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND p.appointment_type_id OPERATOR(pg_catalog.=) u.item"
		"   AND p.practitioner_id OPERATOR(pg_catalog.=) u.practitioner",
		3, {INT8OID, INT8ARRAYOID, INT8ARRAYOID}
	},
	[SI_PLAN_ASSIGNMENTS_INSERT] = {
		"INSERT INTO service_items.practitioner_appointment_types"
		"       (clinic_id, appointment_type_id, practitioner_id)"
		" SELECT $1, u.item, u.practitioner"
		"   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(item, practitioner)"
		" ON CONFLICT DO NOTHING",
		3, {INT8OID, INT8ARRAYOID, INT8ARRAYOID}
	},
	[SI_PLAN_BILLING_SOFT_DELETE] = {
		"UPDATE service_items.billing_scenarios b"
		"   SET is_deleted = true, deleted_at = pg_catalog.now(),"
		"       updated_at = pg_catalog.now()"
		" WHERE b.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND b.id OPERATOR(pg_catalog.=) ANY ($2) AND NOT b.is_deleted",
		2, {INT8OID, INT8ARRAYOID}
	},
	[SI_PLAN_BILLING_UPDATE] = {
		"UPDATE service_items.billing_scenarios b"
		"   SET name = u.name, amount = u.amount, revenue_share = u.share,"
		"       is_default = u.is_default, updated_at = pg_catalog.now()"
		"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6))"
		"       AS u(id, name, amount, share, is_default)"
		" WHERE b.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND b.id OPERATOR(pg_catalog.=) u.id",
		6, {INT8OID, INT8ARRAYOID, TEXTARRAYOID, NUMERICARRAYOID,
			NUMERICARRAYOID, BOOLARRAYOID}
	},
	[SI_PLAN_BILLING_INSERT] = {
		"INSERT INTO service_items.billing_scenarios"
		"       (clinic_id, appointment_type_id, practitioner_id, name, amount,"
		"        revenue_share, is_default)"
		" SELECT $1, u.item, u.practitioner, u.name, u.amount, u.share, u.is_default"
		"   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7)) WITH ORDINALITY"
		"        AS u(item, practitioner, name, amount, share, is_default, n)"
		"  ORDER BY u.n",
		7, {INT8OID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, NUMERICARRAYOID,
			NUMERICARRAYOID, BOOLARRAYOID}
	},
	[SI_PLAN_RESOURCES_DELETE] = {
		"DELETE FROM service_items.appointment_resource_requirements r"
		" WHERE r.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND r.id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	},
	[SI_PLAN_RESOURCES_UPDATE] = {
		"UPDATE service_items.appointment_resource_requirements r"
		"   SET resource_type_id = u.resource_type_id, quantity = u.quantity,"
		"       updated_at = pg_catalog.now()"
		"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(id, resource_type_id, quantity)"
		" WHERE r.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND r.id OPERATOR(pg_catalog.=) u.id",
		4, {INT8OID, INT8ARRAYOID, INT8ARRAYOID, INT4ARRAYOID}
	},
	[SI_PLAN_RESOURCES_INSERT] = {
		"INSERT INTO service_items.appointment_resource_requirements"
		"       (clinic_id, appointment_type_id, resource_type_id, quantity)"
		" SELECT $1, u.item, u.resource_type_id, u.quantity"
		"   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) WITH ORDINALITY"
		"        AS u(item, resource_type_id, quantity, n)"
		"  ORDER BY u.n",
		4, {INT8OID, INT8ARRAYOID, INT8ARRAYOID, INT4ARRAYOID}
	},
	[SI_PLAN_FOLLOW_UPS_DELETE] = {
		"DELETE FROM service_items.follow_up_messages f"
		" WHERE f.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND f.id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	},
	[SI_PLAN_FOLLOW_UPS_UPDATE] = {
		"UPDATE service_items.follow_up_messages f"
		"   SET timing_mode = u.timing_mode, hours_after = u.hours_after,"
		"       days_after = u.days_after, time_of_day = u.time_of_day,"
		"       message_template = u.message_template, is_enabled = u.is_enabled,"
		"       display_order = u.display_order, updated_at = pg_catalog.now()"
		"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9))"
		"       AS u(id, timing_mode, hours_after, days_after, time_of_day,"
		"            message_template, is_enabled, display_order)"
		" WHERE f.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND f.id OPERATOR(pg_catalog.=) u.id",
		9, {INT8OID, INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
			TIMEARRAYOID, TEXTARRAYOID, BOOLARRAYOID, INT4ARRAYOID}
	},
	[SI_PLAN_FOLLOW_UPS_INSERT] = {
		"INSERT INTO service_items.follow_up_messages"
		"       (clinic_id, appointment_type_id, timing_mode, hours_after, days_after,"
		"        time_of_day, message_template, is_enabled, display_order)"
		" SELECT $1, u.item, u.timing_mode, u.hours_after, u.days_after,"
		"        u.time_of_day, u.message_template, u.is_enabled, u.display_order"
		"   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9)) WITH ORDINALITY"
		"        AS u(item, timing_mode, hours_after, days_after, time_of_day,"
		"             message_template, is_enabled, display_order, n)"
		"  ORDER BY u.n",
		9, {INT8OID, INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
			TIMEARRAYOID, TEXTARRAYOID, BOOLARRAYOID, INT4ARRAYOID}
	},
	[SI_PLAN_BUMP_VERSIONS] = {
		"UPDATE service_items.appointment_types a"
		"   SET associations_version = a.associations_version OPERATOR(pg_catalog.+) 1,"
		"       updated_at = pg_catalog.now()"
		" WHERE a.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND a.id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	},
	[SI_PLAN_AUDIT] = {
		"INSERT INTO service_items.association_audit"
		"       (clinic_id, claims_sub, service_item_ids, changes)"
		" VALUES ($1, $2, $3, $4)",
		4, {INT8OID, TEXTOID, INT8ARRAYOID, JSONBOID}
	},

	/*
	 * The settings page's save.  It locks every live item of the clinic (in
	 * id order, like a save of associations, so the two never deadlock).
	 * New rows take ids from their identity sequence in the order of the
	 * payload, so the ids RETURNING gives, sorted, map to the payload's
	 * entries in order.
	 */
	[SI_PLAN_LOCK_CLINIC_ITEMS] = {
		"SELECT a.id FROM service_items.appointment_types a"
		" WHERE a.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT a.is_deleted"
		" ORDER BY a.id FOR NO KEY UPDATE OF a",
		1, {INT8OID}
	},
	[SI_PLAN_GROUPS_INSERT] = {
		"INSERT INTO service_items.service_type_groups (clinic_id, name, display_order)"
		" SELECT $1, u.name, u.display_order"
		"   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3))"
		"        WITH ORDINALITY AS u(name, display_order, n)"
		"  ORDER BY u.n"
		" RETURNING id",
		3, {INT8OID, TEXTARRAYOID, INT4ARRAYOID}
	},
	[SI_PLAN_GROUPS_UPDATE] = {
		"UPDATE service_items.service_type_groups g"
		"   SET name = u.name, display_order = u.display_order,"
		"       updated_at = pg_catalog.now()"
		"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3),"
		"                  pg_catalog.unnest($4)) AS u(id, name, display_order)"
		" WHERE g.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND g.id OPERATOR(pg_catalog.=) u.id",
		4, {INT8OID, INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID}
	},
	[SI_PLAN_GROUPS_DELETE] = {
		"DELETE FROM service_items.service_type_groups g"
		" WHERE g.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND g.id OPERATOR(pg_catalog.=) ANY ($2)",
		2, {INT8OID, INT8ARRAYOID}
	},
	[SI_PLAN_ITEMS_INSERT] = {
		"INSERT INTO service_items.appointment_types"
		"       (clinic_id, service_type_group_id, name, duration_minutes, display_order)"
		" SELECT $1, u.group_id, u.name, u.duration_minutes, u.display_order"
		"   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3),"
		"                  pg_catalog.unnest($4), pg_catalog.unnest($5))"
		"        WITH ORDINALITY AS u(group_id, name, duration_minutes, display_order, n)"
		"  ORDER BY u.n"
		" RETURNING id",
		5, {INT8OID, INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INT4ARRAYOID}
	},
	[SI_PLAN_ITEMS_UPDATE] = {
		"UPDATE service_items.appointment_types a"
		"   SET service_type_group_id = u.group_id, name = u.name,"
		"       duration_minutes = u.duration_minutes,"
		"       display_order = u.display_order, updated_at = pg_catalog.now()"
		"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3),"
		"                  pg_catalog.unnest($4), pg_catalog.unnest($5),"
		"                  pg_catalog.unnest($6))"
		"       AS u(id, group_id, name, duration_minutes, display_order)"
		" WHERE a.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND a.id OPERATOR(pg_catalog.=) u.id",
		6, {INT8OID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID,
			INT4ARRAYOID}
	},
	[SI_PLAN_ITEMS_SOFT_DELETE] = {
		"UPDATE service_items.appointment_types a"
		"   SET is_deleted = true, updated_at = pg_catalog.now()"
		" WHERE a.clinic_id OPERATOR(pg_catalog.=) $1"
		"   AND a.id OPERATOR(pg_catalog.=) ANY ($2) AND NOT a.is_deleted",
		2, {INT8OID, INT8ARRAYOID}
	},
};

static SPIPlanPtr plans[SI_NUM_PLANS];

/*
 * si_plan returns the kept plan of a statement, preparing it when this
 * backend has none or DDL invalidated the one it had.  SPI must be connected.
 */
SPIPlanPtr
si_plan(SiPlanId id)
{
	const SiStatement *stmt;
	SPIPlanPtr	plan;

	if (id < 0 || id >= SI_NUM_PLANS)
		elog(ERROR, "service_items: unknown statement %d", (int) id);

	if (plans[id] != NULL)
	{
		if (SPI_plan_is_valid(plans[id]))
			return plans[id];
		SPI_freeplan(plans[id]);
		plans[id] = NULL;
	}

	stmt = &statements[id];
	plan = SPI_prepare_cursor(stmt->sql, stmt->nargs, (Oid *) stmt->argtypes,
							  CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "service_items: SPI_prepare failed for statement %d: %s",
			 (int) id, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "service_items: SPI_keepplan failed for statement %d",
			 (int) id);
	plans[id] = plan;
	return plan;
}

/*
 * si_execute runs a kept statement with its parameters and checks that SPI
 * answered with the expected result code; it returns SPI_processed.
 */
uint64
si_execute(SiPlanId id, Datum *values, const char *nulls, bool read_only,
		   int expected)
{
	int			rc;

	rc = SPI_execute_plan(si_plan(id), values, nulls, read_only, 0);
	if (rc != expected)
		elog(ERROR, "service_items: statement %d returned %s, expected %s",
			 (int) id, SPI_result_code_string(rc),
			 SPI_result_code_string(expected));
	return SPI_processed;
}

/*
 * si_execute_to runs a kept statement (no NULL parameters) and hands every
 * row to dest as the executor produces it, instead of copying all rows into
 * an SPI tuple table first.
 */
void
si_execute_to(SiPlanId id, Datum *values, bool read_only, DestReceiver *dest)
{
	const SiStatement *stmt = &statements[id];
	ParamListInfo params = makeParamList(stmt->nargs);
	SPIExecuteOptions options;
	int			rc;

	for (int i = 0; i < stmt->nargs; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = stmt->argtypes[i];
	}
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = read_only;
	options.dest = dest;
	rc = SPI_execute_plan_extended(si_plan(id), &options);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "service_items: statement %d returned %s, expected SPI_OK_SELECT",
			 (int) id, SPI_result_code_string(rc));
}
