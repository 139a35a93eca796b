# t/004_crash.pl: a save of a large clinic in flight when the server dies
# leaves the clinic exactly as before; a save committed before the crash is
# all there.  Two crashes: the saving backend killed with SIGKILL in the
# middle of its writes, and an immediate shutdown while the save is done but
# its transaction not committed (after a checkpoint wrote its dirty pages).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SiCommon;
use Test::More;
use Time::HiRes qw(time);

my $node = si_node('crash', conf => "restart_after_crash = on\n");

my $n_items = 2000;
my $big = $node->safe_psql('postgres', "SELECT service_items_demo.create_clinic($n_items)");
my $small = $node->safe_psql('postgres', 'SELECT service_items_demo.create_clinic(20)');

# crash_test.payload(c, tag): a payload that changes every billing
# scenario, resource requirement and follow-up message of every live item
# of clinic c (built from its load, so ids and versions are the current ones).
$node->safe_psql('postgres', q{
	CREATE SCHEMA crash_test;
	CREATE FUNCTION crash_test.payload(c bigint, tag text) RETURNS jsonb
	LANGUAGE sql AS $$
	    WITH a AS (
	        SELECT e FROM jsonb_array_elements(
	            service_items.bulk_load_associations(c)::jsonb -> 'associations') e)
	    SELECT jsonb_build_object(
	        'billing_scenarios', COALESCE((
	            SELECT jsonb_object_agg((a.e ->> 'service_item_id') || '-' || kv.k,
	                       (SELECT jsonb_agg(s || jsonb_build_object(
	                                   'amount', (s ->> 'amount')::numeric + 1,
	                                   'name', (s ->> 'name') || ' ' || tag))
	                          FROM jsonb_array_elements(kv.v) s))
	              FROM a, jsonb_each(a.e -> 'billing_scenarios') kv(k, v)), '{}'),
	        'resource_requirements', (
	            SELECT jsonb_object_agg(a.e ->> 'service_item_id',
	                       (SELECT COALESCE(jsonb_agg(r || jsonb_build_object(
	                                   'quantity', (r ->> 'quantity')::int % 900 + 1)), '[]')
	                          FROM jsonb_array_elements(a.e -> 'resource_requirements') r))
	              FROM a),
	        'follow_up_messages', (
	            SELECT jsonb_object_agg(a.e ->> 'service_item_id',
	                       (SELECT COALESCE(jsonb_agg(f || jsonb_build_object(
	                                   'message_template', (f ->> 'message_template') || ' ' || tag)), '[]')
	                          FROM jsonb_array_elements(a.e -> 'follow_up_messages') f))
	              FROM a),
	        'expected_versions', (
	            SELECT jsonb_object_agg(a.e ->> 'service_item_id', a.e -> 'version') FROM a))
	$$;
	CREATE TABLE crash_test.payloads (c bigint, tag text, p jsonb, PRIMARY KEY (c, tag));
	-- Holds a save in the middle of its writes: a statement trigger on one of
	-- the tables it updates sleeps when the session asks for it.
	CREATE FUNCTION crash_test.hold() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	    IF current_setting('crash_test.hold', true) = 'on' THEN
	        -- What this transaction has written so far (its own pending stats).
	        RAISE LOG 'crash_test: held after updating % billing, % resource, % follow-up rows',
	            pg_stat_get_xact_tuples_updated('service_items.billing_scenarios'::regclass),
	            pg_stat_get_xact_tuples_updated('service_items.appointment_resource_requirements'::regclass),
	            pg_stat_get_xact_tuples_updated('service_items.follow_up_messages'::regclass);
	        PERFORM pg_sleep(600);
	    END IF;
	    RETURN NULL;
	END $$;
	CREATE TRIGGER crash_test_hold AFTER UPDATE ON service_items.follow_up_messages
	    FOR EACH STATEMENT EXECUTE FUNCTION crash_test.hold();
});
$node->safe_psql('postgres', qq{
	INSERT INTO crash_test.payloads
	SELECT $big, 'v2', crash_test.payload($big, 'v2')
	UNION ALL SELECT $small, 'b1', crash_test.payload($small, 'b1')});

my $entries = $node->safe_psql('postgres', qq{
	SELECT (SELECT count(*) FROM jsonb_each(p -> 'billing_scenarios') kv, jsonb_array_elements(kv.value))
	     + (SELECT count(*) FROM jsonb_each(p -> 'resource_requirements') kv, jsonb_array_elements(kv.value))
	     + (SELECT count(*) FROM jsonb_each(p -> 'follow_up_messages') kv, jsonb_array_elements(kv.value))
	  FROM crash_test.payloads WHERE c = $big});
cmp_ok($entries, '>', 5 * $n_items, "the big save changes $entries rows");

sub checksum { $node->safe_psql('postgres', "SELECT service_items_demo.clinic_checksum($_[0])") }
sub load     { $node->safe_psql('postgres', "SELECT service_items.bulk_load_associations($_[0])") }
# save_sql(c, tag): the save of a stored payload; prints only the counts.
sub save_sql { "SELECT service_items.bulk_save_associations($_[0], (SELECT p FROM crash_test.payloads WHERE c = $_[0] AND tag = '$_[1]')) -> 'changes'" }

# A save that commits before the crash.
$node->safe_psql('postgres', save_sql($small, 'b1'));
my $small_saved = checksum($small);
my $small_load = load($small);
like($small_load, qr/Standard Rate b1/, 'the small clinic is saved');

my $big_before = checksum($big);
my $big_load_before = load($big);

# restart_wait: after a crash, wait until the server accepts queries again.
sub restart_wait
{
	my $ok = 0;
	for (1 .. 300)
	{
		my ($ret) = $node->psql('postgres', 'SELECT 1', on_error_stop => 0);
		if ($ret == 0) { $ok = 1; last; }
		select(undef, undef, undef, 0.2);
	}
	return $ok;
}

# 1. SIGKILL of the saving backend in the middle of its writes.
{
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, "SET crash_test.hold = on;\n\\echo started\n" . save_sql($big, 'v2') . ";\n");
	my $t0 = time;
	ok($node->poll_query_until('postgres',
			"SELECT wait_event = 'PgSleep' AND backend_xid IS NOT NULL FROM pg_stat_activity WHERE pid = $pid"),
		'the save is in flight: it has written (it holds a transaction id) and sits in its writes');
	note(sprintf('save reached the hold after %.1f s', time - $t0));
	my ($b, $r, $f) = slurp_file($node->logfile) =~ /crash_test: held after updating (\d+) billing, (\d+) resource, (\d+) follow-up rows/;
	cmp_ok(($b // 0) + ($r // 0) + ($f // 0), '>', 1000,
		"the killed save had written rows: billing $b, resources $r, follow-ups $f before it was killed");
	$node->safe_psql('postgres', 'CHECKPOINT');    # its dirty pages reach the disk
	my $log_offset = -s $node->logfile;
	kill 'KILL', $pid;
	eval { $bg->quit };
	# Wait for the postmaster's crash cycle to finish before connecting, so
	# that no check runs in a session the reinitialization then terminates.
	my $recovered = 0;
	for (1 .. 600)
	{
		if ($node->log_contains(qr/all server processes terminated; reinitializing.*database system is ready to accept connections/s,
				$log_offset))
		{
			$recovered = 1;
			last;
		}
		select(undef, undef, undef, 0.1);
	}
	ok($recovered, 'the postmaster reinitialized and recovered after the backend was killed');
	ok(restart_wait(), 'the server accepts queries again');
	ok($node->log_contains(qr/terminated by signal 9: Killed/, $log_offset), 'the backend died of SIGKILL');

	is(checksum($big), $big_before, 'SIGKILL: every row of the big clinic as before the save (and no row rewritten)');
	is(load($big), $big_load_before, 'SIGKILL: the big clinic loads as before');
	is(checksum($small), $small_saved, 'SIGKILL: the committed save of the small clinic is all there');
	is(load($small), $small_load, 'SIGKILL: the small clinic loads as saved');
	is($node->safe_psql('postgres', "SELECT count(*) FROM service_items.association_audit WHERE clinic_id = $big"),
		0, 'SIGKILL: no audit row for the lost save');
}

# 2. Immediate shutdown while the save is done but not committed.
{
	$node->safe_psql('postgres', qq{
		INSERT INTO crash_test.payloads SELECT $small, 'b2', crash_test.payload($small, 'b2')});
	$node->safe_psql('postgres', save_sql($small, 'b2'));
	$small_saved = checksum($small);
	$small_load = load($small);
	like($small_load, qr/Standard Rate b1 b2/, 'the small clinic is saved again');

	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	my $t0 = time;
	my $result = $bg->query_safe('BEGIN; ' . save_sql($big, 'v2'));
	my $secs = time - $t0;
	like($result, qr/"billing_scenarios":\{"inserted":0,"updated":\d{4,}/,
		sprintf('the big save ran (%.2f s) in an open transaction', $secs));
	note("changes: $result");
	is($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $pid AND backend_xid IS NOT NULL"),
		'idle in transaction', 'its transaction is open, not committed');
	$node->safe_psql('postgres', 'CHECKPOINT');
	$node->stop('immediate');
	eval { $bg->quit };
	$node->start;

	is(checksum($big), $big_before, 'immediate stop: every row of the big clinic as before the save');
	is(load($big), $big_load_before, 'immediate stop: the big clinic loads as before');
	is(checksum($small), $small_saved, 'immediate stop: the committed saves of the small clinic are all there');
	is(load($small), $small_load, 'immediate stop: the small clinic loads as saved');
}

# The lost save was a real change: run it now, it commits and changes the clinic.
{
	my $out = $node->safe_psql('postgres', save_sql($big, 'v2'));
	like($out, qr/"follow_up_messages":\{"inserted":0,"updated":\d{4,}/,
		'the big save succeeds after the crashes (expected_versions still match)');
	isnt(checksum($big), $big_before, 'and changes the big clinic');
	my $load = load($big);
	like($load, qr/Standard Rate v2/, 'its billing scenarios are renamed');
	unlike($load, qr/"message_template":"Thanks!"/, 'every follow-up message is changed');
	is($node->safe_psql('postgres', "SELECT count(*) FROM service_items.association_audit WHERE clinic_id = $big"),
		1, 'one audit row');
}

$node->stop;
done_testing();
