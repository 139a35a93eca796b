# Makefile for service_items, built with PGXS.

MODULE_big = service_items
OBJS = \
	service_items.o \
	src/plans.o \
	src/load.o \
	src/json_out.o \
	src/payload.o \
	src/validate.o \
	src/save.o \
	src/authz.o \
	src/stats.o \
	src/numeric.o

EXTENSION = service_items
DATA = service_items--1.0.sql
PGFILEDESC = "service_items - one-call loading and saving of service item associations"

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror

REGRESS = $(filter-out stats_backend%,$(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql))))
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object depends on every header: small project, no stale structs.
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# The pgTAP suite: every file in test/ runs in its own transaction that
# rolls back.  Needs the extension installed and pgTAP available.
# PROVE_ARGS passes options to pg_prove (e.g. make prove PROVE_ARGS=-v).
PROVE_DB ?= contrib_regression_tap
.PHONY: prove
prove:
	psql -X -q -d postgres -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS $(PROVE_DB)' -c 'CREATE DATABASE $(PROVE_DB)'
	psql -X -q -v ON_ERROR_STOP=1 -d $(PROVE_DB) -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION service_items' -f tools/demo_data.sql
	pg_prove $(PROVE_ARGS) -d $(PROVE_DB) --ext .sql test/
	psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS $(PROVE_DB)'

# The multi-node tests (t/: replica, PL/Proxy shards, dump/restore, crash),
# run as the postgres user on a copy of the tree; see tools/tap.sh.
.PHONY: tap
tap:
	bash tools/tap.sh
