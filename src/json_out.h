/*
 * json_out.h
 *		The JSON text writer of service_items.
 *
 * Writes the objects of SPEC §4 from loaded associations into one
 * StringInfo.  Knows nothing of SPI or of how the rows were read.
 */
#ifndef SERVICE_ITEMS_JSON_OUT_H
#define SERVICE_ITEMS_JSON_OUT_H

#include "lib/stringinfo.h"

#include "load.h"

/* where the writer writes */
typedef struct SiJsonWriter
{
	StringInfo	buf;
} SiJsonWriter;

extern void si_json_init(SiJsonWriter *writer, StringInfo buf);
extern void si_json_item(SiJsonWriter *writer, const SiAssociations *assoc,
						 const SiItem *item);
extern void si_json_associations(SiJsonWriter *writer,
								 const SiAssociations *assoc);
extern void si_json_document(SiJsonWriter *writer,
							 const SiAssociations *assoc);
extern void si_json_settings(SiJsonWriter *writer,
							 const SiAssociations *assoc);
extern size_t si_json_estimate(const SiAssociations *assoc);

#endif							/* SERVICE_ITEMS_JSON_OUT_H */
