/*
 * plans.h
 *		The per-backend cache of prepared SPI statements of service_items.
 *
 * Every statement the extension runs is listed once in plans.c, named by a
 * SiPlanId.  si_plan() prepares it on first use, keeps it for the life of the
 * backend and prepares it again when DDL made the kept plan stale.
 */
#ifndef SERVICE_ITEMS_PLANS_H
#define SERVICE_ITEMS_PLANS_H

#define SI_MAX_PLAN_ARGS 9

#include "executor/spi.h"
#include "tcop/dest.h"

typedef enum SiPlanId
{
	/* loading: "all" reads the whole clinic, "some" takes an id array in $2 */
	SI_PLAN_ITEMS_ALL,
	SI_PLAN_ITEMS_SOME,
	SI_PLAN_PRACTITIONERS,
	SI_PLAN_ASSIGNMENTS_ALL,
	SI_PLAN_ASSIGNMENTS_SOME,
	SI_PLAN_BILLING_ALL,
	SI_PLAN_BILLING_SOME,
	SI_PLAN_RESOURCE_TYPES,
	SI_PLAN_RESOURCES_ALL,
	SI_PLAN_RESOURCES_SOME,
	SI_PLAN_FOLLOW_UPS_ALL,
	SI_PLAN_FOLLOW_UPS_SOME,
	/* loading the whole settings page */
	SI_PLAN_CLINIC,
	SI_PLAN_GROUPS,
	SI_PLAN_ITEMS_DETAILED,
	SI_PLAN_PRACTITIONERS_NAMED,
	/* saving */
	SI_PLAN_LOCK_ITEMS,
	SI_PLAN_ASSIGNMENTS_DELETE,
	SI_PLAN_ASSIGNMENTS_INSERT,
	SI_PLAN_BILLING_SOFT_DELETE,
	SI_PLAN_BILLING_UPDATE,
	SI_PLAN_BILLING_INSERT,
	SI_PLAN_RESOURCES_DELETE,
	SI_PLAN_RESOURCES_UPDATE,
	SI_PLAN_RESOURCES_INSERT,
	SI_PLAN_FOLLOW_UPS_DELETE,
	SI_PLAN_FOLLOW_UPS_UPDATE,
	SI_PLAN_FOLLOW_UPS_INSERT,
	SI_PLAN_BUMP_VERSIONS,
	SI_PLAN_AUDIT,
	/* saving the whole settings page */
	SI_PLAN_LOCK_CLINIC_ITEMS,
	SI_PLAN_GROUPS_INSERT,
	SI_PLAN_GROUPS_UPDATE,
	SI_PLAN_GROUPS_DELETE,
	SI_PLAN_ITEMS_INSERT,
	SI_PLAN_ITEMS_UPDATE,
	SI_PLAN_ITEMS_SOFT_DELETE,
	SI_NUM_PLANS
} SiPlanId;

extern SPIPlanPtr si_plan(SiPlanId id);
extern void si_execute_to(SiPlanId id, Datum *values, bool read_only,
						  DestReceiver *dest);
extern uint64 si_execute(SiPlanId id, Datum *values, const char *nulls,
						 bool read_only, int expected);

#endif							/* SERVICE_ITEMS_PLANS_H */
