/*
 * stats.c
 *		Per-function call statistics of service_items.
 *
 * One fixed area of counters, one entry per SQL-callable function, guarded
 * by a spinlock: a call takes it once, for a few additions.  When the
 * library is preloaded the area is in shared memory (allocated through
 * shmem_request_hook and shmem_startup_hook), so every backend adds to the
 * same counters; otherwise the area is this backend's own.  The stats view
 * reads it through service_items_stats(), and stats_reset() zeroes it.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "stats.h"

typedef struct SiCounters
{
	int64		calls;
	int64		errors;
	double		total_ms;
	double		max_ms;
	int64		rows;
	int64		bytes;
	TimestampTz last_call;		/* 0: never called */
} SiCounters;

typedef struct SiStatsArea
{
	slock_t		mutex;
	TimestampTz reset_at;
	SiCounters	functions[SI_NUM_FUNCTIONS];
} SiStatsArea;

static const char *const function_names[SI_NUM_FUNCTIONS] = {
	"bulk_load_associations",
	"service_item_associations",
	"bulk_save_associations",
	"validate_associations",
	"load_service_settings",
	"save_service_settings"
};

static SiStatsArea local_area;
static SiStatsArea *area = NULL;
static bool area_shared = false;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif

static void
reset_area(SiStatsArea *stats, TimestampTz now)
{
	memset(stats->functions, 0, sizeof(stats->functions));
	stats->reset_at = now;
}

#if PG_VERSION_NUM >= 150000
static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SiStatsArea)));
}
#endif

static void
stats_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	area = ShmemInitStruct("service_items stats", sizeof(SiStatsArea), &found);
	if (!found)
	{
		SpinLockInit(&area->mutex);
		reset_area(area, GetCurrentTimestamp());
	}
	area_shared = true;
	LWLockRelease(AddinShmemInitLock);
}

/*
 * si_stats_init sets the counters up from _PG_init: in shared memory when
 * the library is being preloaded, else in this backend.
 */
void
si_stats_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
	{
		SpinLockInit(&local_area.mutex);
		reset_area(&local_area, GetCurrentTimestamp());
		area = &local_area;
		return;
	}
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
#else
	RequestAddinShmemSpace(MAXALIGN(sizeof(SiStatsArea)));
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
}

/* si_call_begin starts measuring a call. */
void
si_call_begin(SiCall *call, SiFunction function)
{
	call->function = function;
	call->rows = 0;
	call->bytes = 0;
	INSTR_TIME_SET_CURRENT(call->start);
}

/* si_call_end adds a finished (or failed) call to the counters. */
void
si_call_end(SiCall *call, bool failed)
{
	instr_time	elapsed;
	double		ms;
	TimestampTz now = GetCurrentTimestamp();
	SiCounters *c;

	if (area == NULL)
		return;					/* preloaded, but shared memory not set up */
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, call->start);
	ms = INSTR_TIME_GET_MILLISEC(elapsed);

	SpinLockAcquire(&area->mutex);
	c = &area->functions[call->function];
	c->calls++;
	if (failed)
		c->errors++;
	else
	{
		c->rows += call->rows;
		c->bytes += call->bytes;
	}
	c->total_ms += ms;
	if (ms > c->max_ms)
		c->max_ms = ms;
	c->last_call = now;
	SpinLockRelease(&area->mutex);
}

PG_FUNCTION_INFO_V1(service_items_stats);
PG_FUNCTION_INFO_V1(stats_reset);

/*
 * service_items_stats() returns the counters, one row per function: the
 * rows of the service_items.stats view.
 */
Datum
service_items_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SiStatsArea copy;

	InitMaterializedSRF(fcinfo, 0);
	if (area == NULL)
		PG_RETURN_VOID();
	SpinLockAcquire(&area->mutex);
	memcpy(&copy, area, sizeof(copy));
	SpinLockRelease(&area->mutex);

	for (int i = 0; i < SI_NUM_FUNCTIONS; i++)
	{
		SiCounters *c = &copy.functions[i];
		Datum		values[11];
		bool		nulls[11] = {false};

		values[0] = CStringGetTextDatum(function_names[i]);
		values[1] = Int64GetDatum(c->calls);
		values[2] = Int64GetDatum(c->errors);
		values[3] = Float8GetDatum(c->total_ms);
		values[4] = Float8GetDatum(c->max_ms);
		values[5] = Float8GetDatum(c->calls > 0 ? c->total_ms / c->calls : 0.0);
		values[6] = Int64GetDatum(c->rows);
		values[7] = Int64GetDatum(c->bytes);
		values[8] = TimestampTzGetDatum(c->last_call);
		nulls[8] = c->last_call == 0;
		values[9] = CStringGetTextDatum(area_shared ? "cluster" : "backend");
		values[10] = TimestampTzGetDatum(copy.reset_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/* stats_reset() zeroes every counter (of the cluster, or of this backend). */
Datum
stats_reset(PG_FUNCTION_ARGS)
{
	TimestampTz now = GetCurrentTimestamp();

	if (area != NULL)
	{
		SpinLockAcquire(&area->mutex);
		reset_area(area, now);
		SpinLockRelease(&area->mutex);
	}
	PG_RETURN_VOID();
}
