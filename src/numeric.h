/*
 * numeric.h
 *		Exact conversion of numeric values to scaled 64-bit integers.
 */
#ifndef SERVICE_ITEMS_NUMERIC_H
#define SERVICE_ITEMS_NUMERIC_H

#include "postgres.h"

#include "utils/numeric.h"

extern bool si_numeric_scaled(Numeric num, int scale, int64 *out);

#endif							/* SERVICE_ITEMS_NUMERIC_H */
