/*
 * stats.h
 *		Per-function call statistics of service_items.
 *
 * Every entry point counts its calls, errors, time, service items and bytes
 * returned.  With the library in shared_preload_libraries the counters live
 * in shared memory, shared by all backends; otherwise each backend keeps its
 * own, and the stats view says which.
 */
#ifndef SERVICE_ITEMS_STATS_H
#define SERVICE_ITEMS_STATS_H

#include "postgres.h"

#include "portability/instr_time.h"

typedef enum SiFunction
{
	SI_FN_LOAD,
	SI_FN_STREAM,
	SI_FN_SAVE,
	SI_FN_VALIDATE,
	SI_FN_LOAD_SETTINGS,
	SI_FN_SAVE_SETTINGS,
	SI_NUM_FUNCTIONS
} SiFunction;

/* one call being measured */
typedef struct SiCall
{
	SiFunction	function;
	instr_time	start;
	int64		rows;			/* service items returned */
	int64		bytes;			/* size of the result */
} SiCall;

extern void si_stats_init(void);
extern void si_call_begin(SiCall *call, SiFunction function);
extern void si_call_end(SiCall *call, bool failed);

#endif							/* SERVICE_ITEMS_STATS_H */
