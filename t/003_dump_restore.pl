# t/003_dump_restore.pl: pg_dump of a database with the extension and
# several clinics, restored into fresh databases (custom format with a
# parallel pg_restore, and plain SQL through psql): every clinic loads the
# same, identity sequences are restored, and a later save gets fresh ids.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SiCommon;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', 'log_statement = none');
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
si_install($node, 'src');

my @clinics;
push @clinics, $node->safe_psql('src', "SELECT service_items_demo.create_clinic($_)") for (3, 20, 0, 45);

# Saves that insert, update and soft-delete, then a rolled-back save and a
# rolled-back clinic: sequences move past the largest id in every table, as
# in any real database (a restore that reset them would collide at once).
for my $c (@clinics[ 0, 1, 3 ])
{
	$node->safe_psql('src', qq{
		SELECT service_items.bulk_save_associations($c, (
		    SELECT jsonb_build_object(
		        'billing_scenarios', jsonb_build_object(i.id || '-' || pa.practitioner_id,
		            jsonb_build_array(jsonb_build_object('name', 'Dump rate', 'amount', 77, 'revenue_share', 7))),
		        'follow_up_messages', jsonb_build_object(i.id::text,
		            jsonb_build_array(jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 5,
		                'message_template', 'Before the dump', 'display_order', 1))))
		      FROM service_items.appointment_types i
		      JOIN service_items.practitioner_appointment_types pa
		        ON pa.clinic_id = i.clinic_id AND pa.appointment_type_id = i.id
		      JOIN service_items.clinic_members m
		        ON m.clinic_id = pa.clinic_id AND m.user_id = pa.practitioner_id AND m.is_active
		     WHERE i.clinic_id = $c AND NOT i.is_deleted
		     ORDER BY i.id, pa.practitioner_id LIMIT 1))});
}
$node->safe_psql('src', "BEGIN; SELECT service_items_demo.create_clinic(10); ROLLBACK;");
$node->safe_psql('src', qq{BEGIN;
	SELECT service_items.bulk_save_associations($clinics[1], (
	    SELECT jsonb_build_object('resource_requirements', jsonb_object_agg(i.id::text,
	               jsonb_build_array(jsonb_build_object('resource_type_id', rt.id, 'quantity', 4))))
	      FROM service_items.appointment_types i,
	           (SELECT min(id) AS id FROM service_items.resource_types WHERE clinic_id = $clinics[1]) rt
	     WHERE i.clinic_id = $clinics[1] AND NOT i.is_deleted));
	ROLLBACK;});

my @seqs = split /\n/, $node->safe_psql('src', q{
	SELECT s.schemaname || '.' || s.sequencename FROM pg_sequences s
	 WHERE s.schemaname = 'service_items' ORDER BY 1});
is(scalar @seqs, 8, 'eight identity sequences in the extension');

# What to compare: every load (with revenue shares, as the DBA), every
# sequence position and every row count.
sub snapshot
{
	my ($db) = @_;
	my %s;
	$s{"load $_"} = $node->safe_psql($db, "SELECT service_items.bulk_load_associations($_)") for @clinics;
	# Every row of the clinic, in every table (clinic_checksum without xmin).
	$s{"rows $_"} = $node->safe_psql($db, qq{
		SELECT md5(string_agg(t, E'\\n' ORDER BY t)) FROM (
		    SELECT 'c' || x::text FROM service_items.clinics x WHERE x.id = $_
		    UNION ALL SELECT 'm' || x::text FROM service_items.clinic_members x WHERE x.clinic_id = $_
		    UNION ALL SELECT 'r' || x::text FROM service_items.resource_types x WHERE x.clinic_id = $_
		    UNION ALL SELECT 'g' || x::text FROM service_items.service_type_groups x WHERE x.clinic_id = $_
		    UNION ALL SELECT 'a' || x::text FROM service_items.appointment_types x WHERE x.clinic_id = $_
		    UNION ALL SELECT 'p' || x::text FROM service_items.practitioner_appointment_types x WHERE x.clinic_id = $_
		    UNION ALL SELECT 'b' || x::text FROM service_items.billing_scenarios x WHERE x.clinic_id = $_
		    UNION ALL SELECT 'q' || x::text FROM service_items.appointment_resource_requirements x WHERE x.clinic_id = $_
		    UNION ALL SELECT 'f' || x::text FROM service_items.follow_up_messages x WHERE x.clinic_id = $_
		    UNION ALL SELECT 'u' || x::text FROM service_items.association_audit x WHERE x.clinic_id = $_) rows(t)})
	  for @clinics;
	for my $seq (@seqs)
	{
		$s{"seq $seq"} = $node->safe_psql($db, "SELECT last_value || '/' || is_called FROM $seq");
	}
	$s{counts} = $node->safe_psql($db, q{
		SELECT string_agg(format('%s=%s', c.relname,
		           (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass), false, false, '')))[1]),
		       ' ' ORDER BY c.relname)
		  FROM pg_class c WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind = 'r'});
	return \%s;
}
my $before = snapshot('src');

# Sequences really are ahead of the data (otherwise the test proves little).
my $gap = $node->safe_psql('src', q{
	SELECT count(*) FROM (VALUES
	    ((SELECT last_value FROM service_items.billing_scenarios_id_seq), (SELECT max(id) FROM service_items.billing_scenarios)),
	    ((SELECT last_value FROM service_items.clinics_id_seq), (SELECT max(id) FROM service_items.clinics)),
	    ((SELECT last_value FROM service_items.appointment_resource_requirements_id_seq), (SELECT max(id) FROM service_items.appointment_resource_requirements))
	) v(seq, maxid) WHERE seq > maxid});
is($gap, 3, 'sequences are ahead of the largest ids before the dump');

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $connstr = $node->connstr('src');

# Custom format, restored by pg_restore (one job).
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tmp/src.dump", '-d', $connstr ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE dst_custom');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_custom'), "$tmp/src.dump" ],
	'pg_restore into a fresh database');

# Plain SQL through psql.
$node->command_ok([ 'pg_dump', '-Fp', '-f', "$tmp/src.sql", '-d', $connstr ], 'pg_dump -Fp');
$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst_plain'), '-f', "$tmp/src.sql" ],
	'plain dump restored with psql');

# A parallel pg_restore (-j) loads the extension's tables concurrently, but
# CREATE EXTENSION has already made their foreign keys, so a child table's
# COPY can run before its parent's and fail.  pg_dump orders these tables'
# data for a serial restore only; PostgreSQL limitation, not ours (the same
# happens to TimescaleDB's catalog).
$node->safe_psql('postgres', 'CREATE DATABASE dst_naive');
my ($ret, $out, $err);
IPC::Run::run([ 'pg_restore', '--exit-on-error', '-j', '4', '-d', $node->connstr('dst_naive'), "$tmp/src.dump" ],
	'>', \$out, '2>', \$err);
$ret = $?;
note("pg_restore -j 4: exit $ret; $err");
TODO:
{
	local $TODO = 'parallel pg_restore does not order the data of extension configuration tables by their foreign keys';
	is($ret, 0, 'plain pg_restore -j 4 succeeds');
}
$node->safe_psql('postgres', 'DROP DATABASE dst_naive');

# The way to restore in parallel: the schema first, then the extension's
# tables in the dump's order (one job), then everything else with -j.
my @toc = split /\n/, `pg_restore -l "$tmp/src.dump"`;
my @si_data = grep { /^\d+; \d+ \d+ TABLE DATA service_items / } @toc;
is(scalar @si_data, 10, 'the dump holds the data of the ten tables of the extension');
PostgreSQL::Test::Utils::append_to_file("$tmp/si_data.list", join("\n", @si_data) . "\n");
PostgreSQL::Test::Utils::append_to_file("$tmp/rest.list",
	join("\n", grep { !/ TABLE DATA service_items / } @toc) . "\n");
$node->safe_psql('postgres', 'CREATE DATABASE dst_parallel');
my $dst = $node->connstr('dst_parallel');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--section=pre-data', '-d', $dst, "$tmp/src.dump" ],
	'parallel restore, step 1: pre-data');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-L', "$tmp/si_data.list", '-d', $dst, "$tmp/src.dump" ],
	'parallel restore, step 2: the extension\'s tables, one job, in the dump\'s order');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-j', '4', '--section=data', '--section=post-data',
		'-L', "$tmp/rest.list", '-d', $dst, "$tmp/src.dump" ],
	'parallel restore, step 3: everything else with -j 4');

my $dump_text = slurp_file("$tmp/src.sql");
for my $seq (@seqs)
{
	like($dump_text, qr/SELECT pg_catalog\.setval\('\Q$seq\E', \d+, (true|false)\);/,
		"the dump sets $seq");
}

for my $db ('dst_custom', 'dst_plain', 'dst_parallel')
{
	my $after = snapshot($db);
	for my $k (sort keys %$before)
	{
		is($after->{$k}, $before->{$k}, "$db: $k as before the dump");
	}

	# A save after the restore inserts rows with ids nobody has used.
	my $c = $clinics[1];
	my %max = map { $_ => $node->safe_psql('src', "SELECT max(id) FROM service_items.$_") }
	  qw(billing_scenarios appointment_resource_requirements follow_up_messages association_audit);
	my $item = $node->safe_psql($db, qq{
		SELECT pa.appointment_type_id || ' ' || pa.practitioner_id
		  FROM service_items.practitioner_appointment_types pa
		  JOIN service_items.clinic_members m ON m.clinic_id = pa.clinic_id AND m.user_id = pa.practitioner_id AND m.is_active
		  JOIN service_items.appointment_types i ON i.clinic_id = pa.clinic_id AND i.id = pa.appointment_type_id AND NOT i.is_deleted
		 WHERE pa.clinic_id = $c ORDER BY 1 DESC LIMIT 1});
	my ($i, $p) = split / /, $item;
	my $rt = $node->safe_psql($db, qq{
		SELECT max(t.id) FROM service_items.resource_types t
		 WHERE t.clinic_id = $c AND NOT EXISTS (
		       SELECT FROM service_items.appointment_resource_requirements r
		        WHERE r.clinic_id = $c AND r.appointment_type_id = $i AND r.resource_type_id = t.id)});
	my $payload = qq({"billing_scenarios": {"$i-$p": [{"name": "After restore", "amount": 10, "revenue_share": 1}]},
		"resource_requirements": {"$i": [{"resource_type_id": $rt, "quantity": 2}]},
		"follow_up_messages": {"$i": [{"timing_mode": "hours_after", "hours_after": 1, "message_template": "After restore", "display_order": 3}]}});
	my ($ret, $out, $err) = $node->psql($db,
		"SELECT service_items.bulk_save_associations($c, '$payload'::jsonb)");
	is($ret, 0, "$db: a save after the restore succeeds (no duplicate key)") or diag($err);
	for my $t (sort keys %max)
	{
		my $new = $node->safe_psql($db,
			"SELECT count(*) FROM service_items.$t WHERE clinic_id = $c AND id > $max{$t}");
		is($new, 1, "$db: the save inserted one $t row, with an id past the source's largest ($max{$t})");
	}
	my $fresh = $node->safe_psql($db, 'SELECT service_items_demo.create_clinic(2)');
	cmp_ok($fresh, '>', (sort { $a <=> $b } @clinics)[-1] + 1,
		"$db: a new clinic gets a fresh id past the rolled-back one ($fresh)");
}

$node->stop;
done_testing();
