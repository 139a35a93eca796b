/*
 * numeric.c
 *		Exact conversion of numeric values to scaled 64-bit integers.
 *
 * Amounts (numeric(10,2)) are handled as whole cents and ids and counts as
 * int64.  Converting with numeric arithmetic (multiply, compare, cast) costs
 * several calls and allocations per value, which showed in the load (every
 * billing row) and in the save (every number of a payload).  So this reads
 * the digits of PostgreSQL's on-disk numeric format directly: a 16-bit
 * header (short form: sign, display scale and a 6-bit weight; long form:
 * sign and scale, then a 16-bit weight) followed by base-10000 digits, the
 * first of weight "weight".  That format is fixed by pg_upgrade's promise
 * that data files stay readable.  Whatever is not exact (NaN, infinities,
 * more decimals than asked, a value beyond int64) is left to the caller's
 * slow path, which also tells those cases apart.
 */
#include "postgres.h"

#include "common/int.h"

#include "numeric.h"

/*
 * si_numeric_scaled sets *out to num × 10^scale (scale 0 to 4) and returns
 * true when that is an exact int64; false otherwise.
 */
bool
si_numeric_scaled(Numeric num, int scale, int64 *out)
{
	const char *data = VARDATA_ANY(num);
	int			nbytes = VARSIZE_ANY_EXHDR(num);
	uint16		header;
	int16		weight;
	int			first;
	bool		negative;
	int64		result = 0;
	int64		unit = 1;		/* 10^scale */

	Assert(scale >= 0 && scale <= 4);
	for (int i = 0; i < scale; i++)
		unit *= 10;
	if (VARATT_IS_EXTENDED(num) && !VARATT_IS_SHORT(num))
		return false;			/* compressed or external: not expected */
	if (nbytes < (int) sizeof(uint16))
		return false;
	memcpy(&header, data, sizeof(uint16));
	if ((header & 0xC000) == 0xC000)
		return false;			/* NaN or an infinity */
	if (header & 0x8000)
	{
		/* short form: sign 0x2000, weight sign 0x0040, weight 0x003F */
		negative = (header & 0x2000) != 0;
		weight = (int16) (header & 0x003F);
		if (header & 0x0040)
			weight = (int16) (weight | ~0x003F);
		first = sizeof(uint16);
	}
	else
	{
		/* long form: sign 0x4000, then the weight as its own int16 */
		if (nbytes < (int) (2 * sizeof(uint16)))
			return false;
		negative = (header & 0x4000) != 0;
		memcpy(&weight, data + sizeof(uint16), sizeof(int16));
		first = 2 * sizeof(uint16);
	}

	for (int i = 0; first + i * (int) sizeof(int16) < nbytes; i++)
	{
		int16		digit;
		int			exponent = weight - i;
		int64		term;

		memcpy(&digit, data + first + i * sizeof(int16), sizeof(int16));
		if (digit < 0 || digit > 9999)
			return false;
		if (digit == 0)
			continue;
		if (exponent >= 0)
		{
			term = digit;
			for (int e = 0; e < exponent; e++)
				if (pg_mul_s64_overflow(term, 10000, &term))
					return false;
			if (pg_mul_s64_overflow(term, unit, &term))
				return false;
		}
		else if (exponent == -1 && (digit * unit) % 10000 == 0)
			term = digit * unit / 10000;
		else
			return false;		/* more decimals than scale */
		if (pg_add_s64_overflow(result, term, &result))
			return false;
	}
	*out = negative ? -result : result;
	return true;
}
