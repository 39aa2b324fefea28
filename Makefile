# vscope: the PostgreSQL extension (built with PGXS) and the vscoped daemon
# (src/daemon, its own plain Makefile).  See README.md for the two commands.

EXTENSION  = vscope
EXTVERSION = 0.1.0

MODULE_big = vscope
OBJS = \
	src/vscope.o \
	src/tenancy.o \
	src/series.o \
	src/partition.o \
	src/putparse.o \
	src/ingest.o \
	src/reader.o \
	src/tsdb_time.o \
	src/tsdb_agg.o \
	src/tsdb_filter.o \
	src/tsdb_series.o \
	src/tsdb_merge.o \
	src/tsdb_get.o \
	src/tsdb_query.o \
	src/tsdb_sql.o \
	src/stats.o \
	src/cquery.o \
	src/ceilometer.o

DATA = sql/vscope--$(EXTVERSION).sql

# pg_regress tests, in order (test/sql/*.sql against test/expected/*.out)
REGRESS = install tenancy tokens ingest_point ingest_put partitions reader rls tsdb_query tsdb_features tsdb_sql tsdb_api coopr ceilometer_blocks ceilometer
REGRESS_OPTS = --inputdir=test --outputdir=$(VSCOPE_DATA)/regress \
	--dbname=vscope_regress

VSCOPE_DATA ?= $(CURDIR)/.vscope

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)

# Warnings are errors in the test build (make test sets VSCOPE_WERROR=1).
PG_CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(VSCOPE_WERROR),1)
PG_CFLAGS += -Werror
endif

all: daemon

.PHONY: deps daemon install-daemon run test bench clean-daemon

deps:
	@scripts/deps.sh

daemon:
	$(MAKE) -C src/daemon VSCOPE_WERROR=$(VSCOPE_WERROR)

install-daemon: daemon
	$(MAKE) -C src/daemon install

clean: clean-daemon
clean-daemon:
	$(MAKE) -C src/daemon clean

# The two commands.  Both install what is missing, build, install, and start a
# private cluster under $(VSCOPE_DATA); see scripts/.
run:
	@scripts/run.sh

test:
	@scripts/test.sh

bench:
	@scripts/bench.sh

# PGXS is there only once the Debian packages are; deps/run/test work without it.
ifneq ($(wildcard $(shell command -v $(PG_CONFIG) 2>/dev/null)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
install: install-daemon
# PGXS tracks no header dependencies: rebuild every object when a header changes
$(OBJS): $(wildcard src/*.h)
else
all install installcheck:
	@echo "vscope: PostgreSQL 15 server headers are missing; run 'make deps' first" >&2
	@exit 1
endif
